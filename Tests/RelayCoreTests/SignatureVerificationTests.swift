import Foundation
import RelayCore
import Testing

/// LINE signatures and 8x8 `Authorization` checks, with sources from real parsed config.
@Suite("Signature verification")
struct SignatureVerificationTests {
    static let vectorSecret = "8c570fa6dd201bb328f1c1eac23a96d8"
    static let vectorBody = #"{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}"#
    static let vectorSignature = "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="

    static let yaml = """
        sources:
          line:
            provider: line
            channel_secret: 8c570fa6dd201bb328f1c1eac23a96d8
          rotating:
            provider: line
            channel_secrets: [old-secret-1111, new-secret-2222]
          basic:
            provider: 8x8
            auth:
              basic:
                username: relay
                password: "p@ss: w#rd"
          bearer:
            provider: 8x8
            auth:
              bearer: tok-123
          open:
            provider: 8x8
            auth:
              none: true
        """

    static func source(_ id: String) throws -> SourceConfig {
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        return try #require(config.source(id))
    }

    static let body = Array(vectorBody.utf8)

    @Test func lineDocumentedVector() throws {
        #expect(LINEProvider.signature(body: Self.body, channelSecret: Self.vectorSecret) == Self.vectorSignature)
        #expect(LINEProvider().verify(credential: Self.vectorSignature, body: Self.body, source: try Self.source("line")))
    }

    @Test func lineSignatureCoversTheExactBytes() throws {
        let source = try Self.source("line")
        // Same JSON, one more byte: a different body.
        #expect(!LINEProvider().verify(credential: Self.vectorSignature, body: Self.body + [0x0A], source: source))
        let spaced = Array(Self.vectorBody.replacingOccurrences(of: ",", with: ", ").utf8)
        #expect(!LINEProvider().verify(credential: Self.vectorSignature, body: spaced, source: source))
    }

    @Test func lineRotationAcceptsEitherSecret() throws {
        let source = try Self.source("rotating")
        #expect(source.channelSecrets == ["old-secret-1111", "new-secret-2222"])
        for secret in ["old-secret-1111", "new-secret-2222"] {
            let signature = LINEProvider.signature(body: Self.body, channelSecret: secret)
            #expect(LINEProvider().verify(credential: signature, body: Self.body, source: source), "\(secret)")
        }
        let third = LINEProvider.signature(body: Self.body, channelSecret: "other-secret-3333")
        #expect(!LINEProvider().verify(credential: third, body: Self.body, source: source))
        #expect(!LINEProvider().verify(credential: Self.vectorSignature, body: Self.body, source: source))
    }

    @Test(arguments: [
        nil, "", "not base64 !!!", "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs", "GhRKmvmHys4Pi9DxkF4+EayaH0OqtJtaZxgTD9fMDLs=",
        Data(repeating: 0, count: 32).base64EncodedString(), "AAAA", "sha256=" + "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=",
        "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs=",
    ] as [String?])
    func lineRejectsWrongMissingOrGarbageSignatures(credential: String?) throws {
        #expect(!LINEProvider().verify(credential: credential, body: Self.body, source: try Self.source("line")))
    }

    @Test func lineSourceWithoutSecretsRejectsEverything() {
        let source = SourceConfig(id: "empty", provider: LINEProvider(), settings: LINESourceSettings(channelSecrets: []))
        #expect(!LINEProvider().verify(credential: Self.vectorSignature, body: Self.body, source: source))
    }

    static let basicToken = Data("relay:p@ss: w#rd".utf8).base64EncodedString()

    @Test(arguments: ["Basic", "basic", "BASIC", "bAsIc"])
    func eightByEightBasicSchemeIsCaseInsensitive(scheme: String) throws {
        let source = try Self.source("basic")
        #expect(source.auth == .basic(username: "relay", password: "p@ss: w#rd"))
        #expect(EightByEightProvider().verify(credential: "\(scheme) \(Self.basicToken)", body: [], source: source))
    }

    @Test(arguments: [
        nil, "", "Basic", "Basic ", "Bearer \(basicToken)", "Token \(basicToken)", basicToken,
        "Basic \(Data("relay:wrong".utf8).base64EncodedString())", "Basic \(Data("admin:p@ss: w#rd".utf8).base64EncodedString())",
        "Basic \(basicToken)x", "Basic relay:p@ss: w#rd",
    ] as [String?])
    func eightByEightBasicRejects(credential: String?) throws {
        #expect(!EightByEightProvider().verify(credential: credential, body: [], source: try Self.source("basic")))
    }

    @Test func eightByEightBearer() throws {
        let source = try Self.source("bearer")
        let provider = EightByEightProvider()
        #expect(provider.verify(credential: "Bearer tok-123", body: [], source: source))
        #expect(provider.verify(credential: "bearer tok-123", body: [], source: source))
        #expect(provider.verify(credential: "BEARER tok-123", body: [], source: source))
        for wrong in [nil, "", "Bearer", "Bearer tok-124", "Bearer tok-12", "Basic tok-123", "tok-123", "Bearer tok-123x"] as [String?] {
            #expect(!provider.verify(credential: wrong, body: [], source: source), "\(String(describing: wrong))")
        }
    }

    @Test func eightByEightNoneAcceptsAnything() throws {
        let source = try Self.source("open")
        #expect(source.auth == EightByEightAuth.none)
        for credential in [nil, "", "Basic whatever"] as [String?] {
            #expect(EightByEightProvider().verify(credential: credential, body: [], source: source))
        }
    }

    @Test func providersNameTheirHeaders() {
        #expect(ProviderRegistry.provider(for: .line)!.credentialHeader == "x-line-signature")
        #expect(ProviderRegistry.provider(for: .eightByEight)!.credentialHeader == "authorization")
        #expect(ProviderRegistry.provider(for: .line)!.kind == .line)
        #expect(ProviderRegistry.provider(for: .eightByEight)!.kind == .eightByEight)
    }
}
