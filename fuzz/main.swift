import RelayCore

// libFuzzer target over relay's untrusted-input parsers (see fuzz/run.sh). The first byte picks the parser, the rest
// is the body:
//   0: JSONParser, then JSONWriter: what is written must parse again and write the same bytes;
//   1: LINE's and 2: 8x8's `events(from:)`: a body gives events or throws PayloadError, and every canonical body
//      parses as JSON.
// A crash, an ASan report or a fatalError here is a bug.
@_cdecl("LLVMFuzzerTestOneInput")  // libFuzzer's own main refers to it, though the driver below is what runs
func check(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 3 {
    case 0:
        guard let value = try? JSONParser.parse(body) else { return 0 }
        let written = JSONWriter.serialize(value)
        guard let again = try? JSONParser.parse(written) else { fatalError("written JSON does not parse: \(text(written))") }
        let rewritten = JSONWriter.serialize(again)
        if rewritten != written { fatalError("JSON not stable: \(text(written)) then \(text(rewritten))") }
    default:
        let provider: any WebhookProvider = data[0] % 3 == 1 ? LINEProvider() : EightByEightProvider()
        guard let events = try? provider.events(from: body, sourceID: "fuzz", receivedAtMilliseconds: 1_700_000_000_000) else { return 0 }
        for event in events {
            if (try? JSONParser.parse(event.canonical)) == nil { fatalError("canonical event is not JSON: \(text(event.canonical))") }
            _ = event.passthrough
        }
    }
    return 0
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

// SwiftPM names an executable's entry point after its target; libFuzzer's driver takes over from there.
@_cdecl("fuzzrelay_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { check($0, $1) }
}
