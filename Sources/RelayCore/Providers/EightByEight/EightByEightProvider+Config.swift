import Yams

/// 8x8's `routes.yaml` key: `auth` on sources (exactly one of basic, bearer or `none: true`).
extension EightByEightProvider: ProviderConfigDecoding {
    var sourceKeys: [String] { ["auth"] }
    var credentialHint: String { "8x8 sources use auth" }
    var sourceExample: String { "eightxeight: { provider: 8x8, auth: { bearer: ... } }" }

    func decodeSourceSettings(_ source: MappingFields, decoder: inout ConfigDecoder) -> (any ProviderSourceSettings)? {
        guard let node = source.value("auth"),
              let auth = decodeAuth(node, path: source.path("auth"), line: source.keyLine("auth"), decoder: &decoder)
        else { return nil }
        return EightByEightSourceSettings(auth: auth)
    }

    func checkRequiredSourceKeys(_ source: MappingFields, decoder: inout ConfigDecoder) {
        if !source.has("auth") {
            decoder.error(source.path("auth"), source.line, "an 8x8 source needs auth with one of basic, bearer or none: true")
        }
    }

    private func decodeAuth(_ node: Node, path: String, line: Int?, decoder: inout ConfigDecoder) -> EightByEightAuth? {
        guard let auth = decoder.fields(node, path: path, line: line, allowed: ["basic", "bearer", "none"]) else { return nil }
        let given = ["basic", "bearer", "none"].filter { auth.has($0) }
        guard given.count == 1 else {
            let found = given.isEmpty ? "none given" : "found \(given.joined(separator: " and "))"
            decoder.error(path, auth.line, "set exactly one of auth.basic, auth.bearer or auth.none: true (\(found))")
            return nil
        }
        if let basic = auth.value("basic") {
            let basicPath = auth.path("basic")
            guard let fields = decoder.fields(basic, path: basicPath, line: auth.keyLine("basic"),
                                              allowed: ["username", "password"]) else { return nil }
            let username = decoder.requiredString(fields, "username", secret: false)
            let password = decoder.requiredString(fields, "password", secret: true)
            guard let username, let password else { return nil }
            if username.contains(":") {
                decoder.error(fields.path("username"), fields.keyLine("username"), "must not contain \":\" (HTTP Basic forbids it)")
                return nil
            }
            return .basic(username: username, password: password)
        }
        if let bearer = auth.value("bearer") {
            return decoder.nonEmptyString(bearer, path: auth.path("bearer"), secret: true).map { .bearer($0) }
        }
        let nonePath = auth.path("none")
        guard let noneNode = auth.value("none"), let text = decoder.string(noneNode, path: nonePath) else { return nil }
        switch text.lowercased() {
        case "true":
            decoder.warn(nonePath, noneNode.mark?.line, "8x8 requests will not be authenticated")
            return EightByEightAuth.none
        case "false":
            decoder.error(nonePath, noneNode.mark?.line, "false leaves no authentication method; use basic or bearer "
                + "(or none: true to accept unauthenticated requests)")
        default:
            decoder.error(nonePath, noneNode.mark?.line, "must be true or false, found \(ConfigDecoder.quoted(text))")
        }
        return nil
    }
}
