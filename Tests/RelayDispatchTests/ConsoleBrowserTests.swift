import AsyncHTTPClient
import Foundation
import NIOCore
import RelayCore
import RelayTestSupport
import Synchronization
import Testing

/// A minimal W3C WebDriver client for chromedriver: sessions, navigation, elements, clicks, keys, screenshots.
struct WebDriver: Sendable {
    let base: String
    let session: String

    static func post(_ url: String, _ body: JSONValue) async throws -> JSONValue {
        let reply = try await RelayDispatchTests.post(url, body: JSONWriter.serialize(body), timeout: .seconds(60))
        let json = try JSONParser.parse(Array(reply.body.utf8))
        guard reply.status == 200 else { throw TestFailure("WebDriver \(url): \(reply.status) \(reply.body.prefix(300))") }
        return json["value"] ?? .null
    }

    /// A new browser session; `arguments` go to Chromium after the usual headless ones.
    static func start(port: Int, arguments: [String] = []) async throws -> WebDriver {
        let args: [JSONValue] = (["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"] + arguments).map { .string($0) }
        let capabilities: JSONValue = .object(["capabilities": .object(["alwaysMatch": .object(["goog:chromeOptions": .object(["args": .array(args)])])])])
        let value = try await post("http://127.0.0.1:\(port)/session", capabilities)
        guard let id = value["sessionId"]?.stringValue else { throw TestFailure("no WebDriver session: \(value)") }
        return WebDriver(base: "http://127.0.0.1:\(port)/session/\(id)", session: id)
    }

    func go(_ url: String) async throws { _ = try await Self.post(base + "/url", .object(["url": .string(url)])) }
    func element(_ css: String) async throws -> String {
        let value = try await Self.post(base + "/element", .object(["using": .string("css selector"), "value": .string(css)]))
        guard let id = value.objectValue?.members.first?.value.stringValue else { throw TestFailure("no element \(css)") }
        return id
    }
    /// How many elements of the current frame match `css`.
    func count(_ css: String) async throws -> Int {
        let value = try await Self.post(base + "/elements", .object(["using": .string("css selector"), "value": .string(css)]))
        return value.arrayValue?.count ?? 0
    }
    /// Switches into the frame element `css` of the current document.
    func enterFrame(_ css: String) async throws {
        let id = try await element(css)
        _ = try await Self.post(base + "/frame", .object(["id": .object(["element-6066-11e4-a52e-4f735466cecf": .string(id)])]))
    }
    /// Back to the top-level document.
    func leaveFrames() async throws { _ = try await Self.post(base + "/frame", .object(["id": .null])) }
    func title() async throws -> String {
        guard let reply = await RelayDispatchTests.get(base + "/title", timeout: .seconds(30)) else { throw TestFailure("no title") }
        return (try JSONParser.parse(Array(reply.body.utf8)))["value"]?.stringValue ?? ""
    }
    func click(_ css: String) async throws { _ = try await Self.post(base + "/element/\(try await element(css))/click", .object([:])) }
    func type(_ css: String, _ text: String) async throws {
        _ = try await Self.post(base + "/element/\(try await element(css))/value", .object(["text": .string(text)]))
    }
    func source() async throws -> String {
        guard let reply = await RelayDispatchTests.get(base + "/source", timeout: .seconds(30)) else { throw TestFailure("no page source") }
        return (try JSONParser.parse(Array(reply.body.utf8)))["value"]?.stringValue ?? ""
    }
    func url() async throws -> String {
        guard let reply = await RelayDispatchTests.get(base + "/url", timeout: .seconds(30)) else { throw TestFailure("no url") }
        return (try JSONParser.parse(Array(reply.body.utf8)))["value"]?.stringValue ?? ""
    }
    func resize(width: Int, height: Int) async throws {
        _ = try await Self.post(base + "/window/rect", .object(["width": .integer(width), "height": .integer(height)]))
    }
    /// Saves the page as a PNG at `path`; returns its size in bytes.
    @discardableResult
    func screenshot(_ path: String) async throws -> Int {
        guard let reply = await RelayDispatchTests.get(base + "/screenshot", timeout: .seconds(30)),
              let encoded = (try JSONParser.parse(Array(reply.body.utf8)))["value"]?.stringValue,
              let png = Data(base64Encoded: encoded) else { throw TestFailure("no screenshot") }
        try png.write(to: URL(fileURLWithPath: path))
        return png.count
    }
    func quit() async {
        var request = HTTPClientRequest(url: base)
        request.method = .DELETE
        _ = try? await testClient.execute(request, timeout: .seconds(10))
    }
}

extension DeliveryEngine {
    /// The console in a real browser (headless Chromium through chromedriver): sign in, see a failing destination's
    /// dead letters, replay them once the backend is back, watch the overview's counts change, look at it 375 px
    /// wide, sign out. A screenshot per page goes to `.build/test-output/console/`.
    @Suite(.enabled(if: OptionalTool.chromium.isAvailable, Comment(rawValue: OptionalTool.chromium.skipReason)))
    struct ConsoleBrowserTests {
        static var outputFolder: String {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return root.appendingPathComponent(".build/test-output/console").path
        }

        @Test func anOperatorSignsInReplaysDeadLettersAndSignsOut() async throws {
            try FileManager.default.createDirectory(atPath: Self.outputFolder, withIntermediateDirectories: true)
            let healed = Mutex(false)
            try await Receiver.with({ _ in healed.withLock { $0 } ? .ok : Reply(status: .serviceUnavailable, body: Array("maintenance".utf8)) }) { receiver in
                try await ReceiptLedgerTests.withRelays(ConsoleTests.yaml(receiver: receiver.port)) { relays in
                    _ = try await relays.start(environment: ["RELAY_ADMIN_TOKEN": ConsoleTests.token])
                    for _ in 0..<3 {
                        let event = LINE.body([LINE.deliveryEvent(id: LINE.eventID(), data: "tag-\(UUID().uuidString)")])
                        #expect(try await post(relays.webhookURL("line"), body: event, headers: [("X-Line-Signature", LINE.signature(event, secret: ConsoleTests.secret))]).status == 200)
                    }
                    #expect(await eventually(timeout: .seconds(10)) { await ConsoleTests.dead(relays, "crm") == 3 })
                    try await withChromeDriver { driverPort in
                        let browser = try await WebDriver.start(port: driverPort)
                        let admin = "http://127.0.0.1:\(relays.adminPort)"
                        do {
                            try await browser.go(admin + "/")
                            #expect(try await browser.url().hasSuffix("/login"))
                            try await browser.screenshot(Self.outputFolder + "/1-sign-in.png")
                            try await browser.type("#token", ConsoleTests.token)
                            try await browser.click("form[action='/login'] button")
                            #expect(await eventually(timeout: .seconds(10)) { (try? await browser.source())?.contains("<h1>Overview</h1>") == true })
                            // The overview's counts come from housekeeping (every few seconds): wait for the dead letters.
                            #expect(await eventually(timeout: .seconds(15), poll: .milliseconds(500)) {
                                try? await browser.go(admin + "/")
                                return (try? await browser.source())?.contains("/dead-letters?destination=crm\">3</a>") == true
                            })
                            try await browser.screenshot(Self.outputFolder + "/2-overview-failing.png")
                            try await browser.click("a[href='/dead-letters?destination=crm']")
                            let letters = try await browser.source()
                            #expect(letters.contains("3 shown") && letters.contains("maintenance") && letters.contains("HTTP 503"))
                            try await browser.screenshot(Self.outputFolder + "/3-dead-letters.png")
                            healed.withLock { $0 = true }
                            try await browser.click("form.inline[action='/dead-letters/replay'] button")
                            #expect(await eventually(timeout: .seconds(10)) { (try? await browser.source())?.contains("Replayed 3 dead letters.") == true })
                            try await browser.screenshot(Self.outputFolder + "/4-replayed.png")
                            #expect(await eventually(timeout: .seconds(20), poll: .milliseconds(500)) {
                                try? await browser.go(admin + "/")
                                let page = (try? await browser.source()) ?? ""
                                return page.contains("<th scope=\"row\">crm</th>") && !page.contains("/dead-letters?destination=crm\">")
                            })
                            try await browser.screenshot(Self.outputFolder + "/5-overview-recovered.png")
                            #expect(receiver.hits.filter { $0.path.hasSuffix("/crm") }.count >= 3)
                            try await browser.resize(width: 375, height: 800)
                            try await browser.go(admin + "/")
                            let narrow = try await browser.screenshot(Self.outputFolder + "/6-overview-375px.png")
                            #expect(narrow > 1_000)
                            try await browser.resize(width: 1280, height: 900)
                            try await browser.click("form[action='/logout'] button")
                            #expect(await eventually(timeout: .seconds(10)) { (try? await browser.url())?.hasSuffix("/login") == true })
                            try await browser.go(admin + "/dead-letters")
                            #expect(try await browser.url().hasSuffix("/login"), "signed out: the console asks to sign in again")
                            print("console screenshots in \(Self.outputFolder)")
                            await browser.quit()
                        } catch {
                            await browser.quit()
                            throw error
                        }
                    }
                }
            }
        }
    }
}
