import Foundation
import RelayCore
import RelayTestSupport
import Testing

/// chromedriver on a free port for the length of `body`, then stopped and reaped: it ignores SIGTERM (a plain
/// `terminate()` left one running per test run), so it is asked to shut down and killed if it has not within 5 s.
func withChromeDriver(_ body: (Int) async throws -> Void) async throws {
    let port = try freePort()
    let driver = Process()
    driver.executableURL = URL(fileURLWithPath: OptionalTool.onPath("chromedriver")!)
    driver.arguments = ["--port=\(port)"]
    driver.standardOutput = FileHandle.nullDevice
    driver.standardError = FileHandle.nullDevice
    try driver.run()
    do {
        guard await eventually(timeout: .seconds(10), { await get("http://127.0.0.1:\(port)/status")?.status == 200 }) else {
            throw TestFailure("chromedriver did not start")
        }
        try await body(port)
        await stop(driver, port: port)
    } catch {
        await stop(driver, port: port)
        throw error
    }
}

private func stop(_ driver: Process, port: Int) async {
    _ = await get("http://127.0.0.1:\(port)/shutdown", timeout: .seconds(5))
    if await !eventually(timeout: .seconds(5), poll: .milliseconds(50), { !driver.isRunning }) { kill(driver.processIdentifier, SIGKILL) }
    driver.waitUntilExit()
}

extension DeliveryEngine {
    /// The admin listener against a hostile page in a real browser (headless Chromium; `--host-resolver-rules` gives
    /// the hostile page names of its own that resolve to 127.0.0.1, as DNS would): a page of another origin writes
    /// nothing, a rebound name reads nothing, a framing page gets nothing to click, and hostile provider values render
    /// as text. One browser session for all of it.
    @Suite(.enabled(if: OptionalTool.chromium.isAvailable, Comment(rawValue: OptionalTool.chromium.skipReason)))
    struct AdminBrowserTests {
        @Test func aPageOfAnotherOriginCannotWriteToReadOrFrameTheAdminListener() async throws {
            let hostileID = "ev-" + ConsoleInputTests.hostile
            // As in the findings: no admin token, on loopback.
            try await AdminSurfaceTests.withRelay(token: "", eventIDs: [LINE.eventID(), hostileID]) { relays, admin in
                let adminPort = relays.adminPort
                let attack = """
                    <!doctype html><title>loading</title><script>
                    const send = (path, body) => fetch("http://127.0.0.1:\(adminPort)" + path, {method: "POST", mode: "no-cors", body}).catch(() => null);
                    Promise.all([
                      send("/admin/destinations/demo/pause"),
                      send("/admin/dead-letters/replay", JSON.stringify({all: true})),
                      send("/admin/expectations", JSON.stringify({source: "line", expectations: [{key: "from-another-origin"}]})),
                    ]).then(() => { document.title = "sent"; });
                    </script>
                    """
                let frame = """
                    <!doctype html><title>framing</title>
                    <iframe id="victim" src="http://127.0.0.1:\(adminPort)/dead-letters?destination=demo" style="opacity:0.01;width:1200px;height:800px"></iframe>
                    """
                try await Receiver.with({ hit in Self.html(hit.path.hasPrefix("/attack") ? attack : frame) }) { hostile in
                    try await withChromeDriver { driverPort in
                        let browser = try await WebDriver.start(port: driverPort, arguments: ["--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1"])
                        do {
                            try await Self.crossSiteWrites(browser, attackURL: "http://evil.test:\(hostile.port)/attack", admin: admin)
                            try await Self.rebinding(browser, adminPort: adminPort)
                            try await Self.hostileValues(browser, admin: admin, hostileID: hostileID)
                            try await Self.framing(browser, frameURL: "http://localhost:\(hostile.port)/frame")
                            await browser.quit()
                        } catch {
                            await browser.quit()
                            throw error
                        }
                    }
                }
            }
        }

        static func html(_ text: String) -> Reply { Reply(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: Array(text.utf8)) }

        /// `fetch(..., {mode: "no-cors"})` from evil.test: a pause, a replay of everything, an expectation. None lands.
        static func crossSiteWrites(_ browser: WebDriver, attackURL: String, admin: String) async throws {
            try await browser.go(attackURL)
            #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) { try await browser.title() == "sent" }, "the hostile page's requests did not finish")
            #expect(await AdminSurfaceTests.state(admin, token: "") == "closed", "a page of another origin paused the destination")
            #expect(await AdminSurfaceTests.dead(admin, token: "") == 2, "a page of another origin replayed the dead letters")
            #expect(await get(admin + "/admin/messages/line/from-another-origin")?.status == 404, "a page of another origin registered an expectation")
        }

        /// rebind.test resolves to the admin listener: same-origin for the browser, refused by the listener.
        static func rebinding(_ browser: WebDriver, adminPort: Int) async throws {
            for path in ["/", "/dead-letters", "/admin/dead-letters", "/metrics"] {
                try await browser.go("http://rebind.test:\(adminPort)\(path)")
                let page = try await browser.source()
                #expect(page.contains("does not answer that Host"), "\(path): \(page.prefix(200))")
                #expect(!page.contains("Dead letters") && !page.contains("relay_") && !page.contains("\"destination\""), "\(path) was read under a rebound name")
            }
        }

        /// The real console, at its own address: hostile provider values are text, no element or attribute.
        static func hostileValues(_ browser: WebDriver, admin: String, hostileID: String) async throws {
            let lookup = "/lookup?source=line&event=" + (hostileID.addingPercentEncoding(withAllowedCharacters: unreservedCharacters) ?? "")
            for path in ["/", "/dead-letters?destination=demo", lookup] {
                try await browser.go(admin + path)
                #expect(try await browser.count("relayx-injected, [data-relayx-injected]") == 0, "\(path): an element or attribute was injected")
                if path != "/" { #expect(try await browser.source().contains("&lt;relayx-injected"), "\(path) did not show the hostile id") }
            }
            try await browser.go(admin + "/dead-letters?destination=demo")
            #expect(try await browser.count("form[action='/dead-letters/replay'] button") == 3, "the console itself shows its replay buttons")
        }

        /// A page on another localhost port frames the dead letters nearly invisibly: the frame holds nothing to click.
        static func framing(_ browser: WebDriver, frameURL: String) async throws {
            try await browser.go(frameURL)
            #expect(try await browser.count("#victim") == 1)
            try await browser.enterFrame("#victim")
            let buttons = try await browser.count("button")
            let framed = try await browser.source()
            try await browser.leaveFrames()
            #expect(buttons == 0, "the framed console offers \(buttons) buttons")
            #expect(!framed.contains("Dead letters"), "the console rendered inside another site's frame")
        }
    }
}
