import Foundation
import RelayCore
import RelayTestSupport
import Synchronization
import Testing

extension WebDriver {
    /// Runs `script` (a function body) in the page and returns what it returns.
    func execute(_ script: String) async throws -> JSONValue {
        try await Self.post(base + "/execute/sync", .object(["script": .string(script), "args": .array([])]))
    }
}

extension DeliveryEngine {
    /// The console's pictures (SPEC section 17) in a real browser: traffic with a failing period, then the overview's
    /// SVG charts, whose points' `<title>` figures add up to what was sent; an event's attempt list (a 503, then a
    /// 200); the overview at 375 px without horizontal scrolling; nothing fetched from another host. With
    /// `RELAY_SCREENSHOT_DIR` set, the overview's screenshot goes there as `console-overview.png` (the README's).
    @Suite(.enabled(if: OptionalTool.chromium.isAvailable, Comment(rawValue: OptionalTool.chromium.skipReason)))
    struct ConsolePicturesBrowserTests {
        static func yaml(_ receiver: Int) -> String {
            """
            retry: [1s, 1s, 1s]
            sources:
              line:
                provider: line
                channel_secret: \(ConsoleTests.secret)
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-console
            destinations:
              crm:
                url: http://127.0.0.1:\(receiver)/hook/crm
                breaker: off
            routes:
              - to: [crm]

            """
        }

        /// The figures of one series in a chart's markup: `(minute, value)` per point, from its `<title>`.
        static func points(_ html: String, chart: String, label: String) -> [(String, Int)] {
            guard let start = html.range(of: #"id="\#(chart)""#),
                  let end = html.range(of: "</figure>", range: start.upperBound..<html.endIndex) else { return [] }
            let figure = String(html[start.upperBound..<end.lowerBound])
            let pattern = try! NSRegularExpression(pattern: #"<title>(\d\d:\d\d) \#(label): (\d+)</title>"#)
            return pattern.matches(in: figure, range: NSRange(figure.startIndex..., in: figure)).compactMap { match in
                guard let minute = Range(match.range(at: 1), in: figure), let value = Range(match.range(at: 2), in: figure) else { return nil }
                return (String(figure[minute]), Int(figure[value]) ?? -1)
            }
        }

        static func sum(_ html: String, chart: String, label: String) -> Int {
            points(html, chart: chart, label: label).reduce(0) { $0 + $1.1 }
        }

        @Test func theOverviewDrawsWhatWasSentAndTheEventPageListsEveryAttempt() async throws {
            try FileManager.default.createDirectory(atPath: ConsoleBrowserTests.outputFolder, withIntermediateDirectories: true)
            let failing = Mutex(true)
            try await Receiver.with({ _ in failing.withLock { $0 } ? Reply(status: .serviceUnavailable, body: Array("maintenance".utf8)) : .ok }) { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver.port)) { relays in
                    _ = try await relays.start(environment: ["RELAY_ADMIN_TOKEN": ConsoleTests.token])
                    func send(_ id: String) async throws -> Int {
                        let event = LINE.body([LINE.deliveryEvent(id: id, data: "tag-\(id)")])
                        return try await post(relays.webhookURL("line"), body: event,
                                              headers: [("X-Line-Signature", LINE.signature(event, secret: ConsoleTests.secret))]).status
                    }
                    // A failing period: four events, each refused once (503), then delivered on its retry.
                    let failed = (0..<4).map { _ in LINE.eventID() }
                    for id in failed { #expect(try await send(id) == 200) }
                    #expect(await eventually(timeout: .seconds(10)) { receiver.hits.count >= 4 })
                    failing.withLock { $0 = false }
                    // Then six delivered at once, and two copies (duplicates).
                    let fine = (0..<6).map { _ in LINE.eventID() }
                    for id in fine { #expect(try await send(id) == 200) }
                    for id in fine.prefix(2) { #expect(try await send(id) == 200) }
                    #expect(await eventually(timeout: .seconds(20)) { receiver.hits.filter { $0.path == "/hook/crm" }.count >= 14 })
                    // A ledger: one message read, one only queued.
                    let (m1, m2) = (UUID().uuidString.lowercased(), UUID().uuidString.lowercased())
                    for (umid, state) in [(m1, "queued"), (m1, "read"), (m2, "queued")] {
                        #expect(try await post(relays.webhookURL("eightxeight"), body: Array(EightByEightBodies.status(umid: umid, state: state).utf8),
                                               headers: [("Authorization", "Bearer eight-console")]).status == 200)
                    }
                    try await withChromeDriver { driverPort in
                        let browser = try await WebDriver.start(port: driverPort)
                        let admin = "http://127.0.0.1:\(relays.adminPort)"
                        do {
                            try await browser.go(admin + "/login")
                            try await browser.type("#token", ConsoleTests.token)
                            try await browser.click("form[action='/login'] button")
                            #expect(await eventually(timeout: .seconds(10)) { (try? await browser.source())?.contains("<h1>Overview</h1>") == true })
                            // The 8x8 status events reach crm too: 14 deliveries of LINE events plus 3. Outcomes are
                            // written in batches, so the page is read again until every one is in.
                            var page = ""
                            let complete = await eventually(timeout: .seconds(20), poll: .milliseconds(500)) {
                                try? await browser.go(admin + "/")
                                page = (try? await browser.source()) ?? ""
                                return Self.sum(page, chart: "chart-destination-crm", label: "delivered") == 13
                            }
                            #expect(complete, "delivered points: \(Self.points(page, chart: "chart-destination-crm", label: "delivered").filter { $0.1 > 0 })")
                            #expect(Self.points(page, chart: "chart-destination-crm", label: "delivered").count == 60, "a point per minute of the hour")
                            #expect(Self.sum(page, chart: "chart-destination-crm", label: "failed attempts") == 4)
                            #expect(Self.sum(page, chart: "chart-source-line", label: "accepted") == 10)
                            #expect(Self.sum(page, chart: "chart-source-line", label: "duplicates") == 2)
                            #expect(Self.sum(page, chart: "chart-source-eightxeight", label: "accepted") == 3)
                            #expect(page.contains("<title>read: 1 (50.0 %)</title>") && page.contains("<title>queued: 1 (50.0 %)</title>"), "the ledger's share")
                            #expect(page.contains(#"<meta http-equiv="refresh" content="10">"#) && page.contains("Charts drawn at"))
                            // The browser drew them as SVG (not text): every point is an element with its title.
                            let drawn = try await browser.execute("return document.querySelectorAll('#chart-destination-crm svg circle > title').length")
                            #expect(drawn.int64Value == 180)
                            let tableRows = try await browser.execute("return document.querySelectorAll('#chart-destination-crm table tbody tr').length")
                            #expect(tableRows.int64Value == 60, "the figures in a table for screen readers")
                            try await browser.screenshot(ConsoleBrowserTests.outputFolder + "/7-overview-charts.png")
                            if let folder = ProcessInfo.processInfo.environment["RELAY_SCREENSHOT_DIR"], !folder.isEmpty {
                                try await browser.resize(width: 1200, height: 1700)
                                try await browser.go(admin + "/")
                                #expect(try await browser.screenshot(folder + "/console-overview.png") > 10_000)
                            }

                            // Nothing from another host: every resource the page loaded is the admin listener's.
                            let loaded = try await browser.execute("return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
                            let urls = loaded.arrayValue?.compactMap(\.stringValue) ?? []
                            #expect(!urls.isEmpty && urls.allSatisfy { $0.hasPrefix(admin + "/") }, "\(urls)")
                            #expect(!page.contains("https://") && !page.contains("<script"))

                            // 375 px wide: no horizontal scroll.
                            try await browser.resize(width: 375, height: 800)
                            try await browser.go(admin + "/")
                            let widths = try await browser.execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                            let (scroll, client) = (widths.arrayValue?.first?.int64Value ?? -1, widths.arrayValue?.last?.int64Value ?? 0)
                            #expect(client > 0 && client <= 375 && scroll <= client, "scrollWidth \(scroll), clientWidth \(client)")
                            try await browser.screenshot(ConsoleBrowserTests.outputFolder + "/8-overview-charts-375px.png")
                            try await browser.resize(width: 1280, height: 900)

                            // The event page lists both attempts of a refused event, oldest first.
                            try await browser.go(admin + "/lookup?source=line&event=\(failed[0])")
                            let statuses = try await browser.execute(
                                "return Array.from(document.querySelectorAll('section.attempts tr.attempt td.status')).map(td => td.textContent)")
                            #expect(statuses.arrayValue?.compactMap(\.stringValue) == ["503", "200"])
                            let event = try await browser.source()
                            #expect(event.contains("Attempts to crm") && event.contains("<code>maintenance</code>"))
                            try await browser.screenshot(ConsoleBrowserTests.outputFolder + "/9-event-attempts.png")
                            await browser.quit()
                        } catch {
                            await browser.quit()
                            throw error
                        }
                    }
                    // The admin API answers the same attempts.
                    let json = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/events/line/\(failed[0])",
                                                      headers: [("Authorization", "Bearer \(ConsoleTests.token)")]))
                    let history = try JSONParser.parse(Array(json.body.utf8))["deliveries"]?.arrayValue?.first?["history"]?.arrayValue ?? []
                    #expect(history.map { $0["status"]?.int64Value } == [503, 200])
                    #expect(history.first?["response"]?.stringValue == "maintenance" && history.first?["outcome"]?.stringValue == "pending")
                    #expect(history.last?["outcome"]?.stringValue == "delivered" && history.allSatisfy { ($0["duration_ms"]?.int64Value ?? -1) >= 0 })
                }
            }
        }
    }
}
