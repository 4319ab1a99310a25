import Crypto
import Foundation
import RelayCore
import Testing

/// The pre-keyed HMAC gives exactly HMAC-SHA256, call after call, and configs keep it in step with their secrets.
@Suite("Keyed HMAC")
struct KeyedHMACTests {
    @Test(arguments: [1, 32, 64, 65, 200])
    func matchesHMACSHA256ForEveryKeyLength(length: Int) {
        let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let keyed = KeyedHMAC(key: key)
        for body in [Array("first body".utf8), [], Array(repeating: 0x61, count: 1000), Array("first body".utf8)] {
            let expected = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: key))
            #expect(Array(keyed.code(body)) == Array(expected), "key \(length) bytes, body \(body.count) bytes")
            #expect(keyed.isValid(Array(expected), for: body))
            #expect(Array(keyed.code(prefix: Array(body.prefix(3)), Array(body.dropFirst(3)))) == Array(expected))
        }
    }

    @Test func rejectsAnyOtherMAC() {
        let keyed = KeyedHMAC(key: Array("secret".utf8))
        let body = Array("payload".utf8)
        var mac = Array(keyed.code(body))
        mac[31] ^= 1
        #expect(!keyed.isValid(mac, for: body))
        #expect(!keyed.isValid(Array(mac.prefix(16)), for: body))
        #expect(!keyed.isValid([UInt8](), for: body))
        #expect(!KeyedHMAC(key: Array("other".utf8)).isValid(Array(keyed.code(body)), for: body))
    }

    @Test func configsRekeyWhenTheirSecretsChange() {
        var destination = DestinationConfig(id: "d", url: "http://127.0.0.1/", signingKey: [1, 2, 3])
        var lineSettings = LINEDestinationSettings(channelSecret: "a")
        let body = Array("x".utf8)
        destination.signingKey = [4, 5, 6]
        lineSettings.channelSecret = "b"
        #expect(destination.signer.map { Array($0.code(body)) } == Array(KeyedHMAC(key: [4, 5, 6] as [UInt8]).code(body)))
        #expect(Array(lineSettings.signer.code(body)) == Array(KeyedHMAC(key: Array("b".utf8)).code(body)))
        destination.signingKey = nil
        #expect(destination.signer == nil)

        var settings = LINESourceSettings(channelSecrets: ["one"])
        settings.channelSecrets = ["two", "three"]
        let source = SourceConfig(id: "s", provider: LINEProvider(), settings: settings)
        let signature = Data(base64Encoded: LINEProvider.signature(body: body, channelSecret: "three"))!
        #expect(LINEProvider().verify(credential: signature.base64EncodedString(), body: body, source: source))
        #expect(!LINEProvider().verify(credential: LINEProvider.signature(body: body, channelSecret: "one"), body: body, source: source))
    }
}

/// Ids derived from content (LINE events without `webhookEventId`, delivery batches) are stable across releases:
/// the first 128 bits of SHA-256, in lowercase hex (values from Python's hashlib).
@Suite("Content digest")
struct ContentDigestTests {
    @Test func isTheFirstHalfOfSHA256InLowercaseHex() {
        #expect(ContentDigest.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223")
        #expect(ContentDigest.hex(Array("evt-1\0evt-2\0".utf8)) == "3f1a1c25584e29e3a1ecad2fc5b5c7d5")
    }
}
