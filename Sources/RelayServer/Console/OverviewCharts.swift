import Foundation
import RelayCore
import RelayStore

/// The overview's pictures (SPEC section 17), drawn from the store's minute figures as inline SVG: no script, nothing
/// from another host, scaled to the page's width (a `viewBox`, no fixed size), each point's figure in its `<title>`
/// (shown on hover) and every figure again in a table for screen readers.
struct OverviewCharts {
    /// One line of a chart: a measure and how it is drawn.
    struct Series {
        var measure: String
        var label: String
        var color: String
    }

    static let destinationSeries = [
        Series(measure: "delivered", label: "delivered", color: "#2e7d32"),
        Series(measure: "failed", label: "failed attempts", color: "#c62828"),
        Series(measure: MinuteCount.sampled, label: "pending", color: "#1565c0"),
    ]
    static let sourceSeries = [
        Series(measure: "accepted", label: "accepted", color: "#2e7d32"),
        Series(measure: "duplicates", label: "duplicates", color: "#8a5a00"),
    ]
    static let statusColors = ["queued": "#90a4ae", "sent": "#1565c0", "delivered": "#2e7d32", "read": "#00838f",
                               "undelivered": "#c62828", "overdue": "#8a5a00"]

    /// The minutes drawn: the last hour, this minute included.
    static let minutes = 60
    /// The ledger's share covers the last day.
    static let shareMinutes: Int64 = 1_440

    /// Figures by subject and measure, then by minute.
    let figures: [String: [String: [Int64: Int64]]]
    /// The first and last minute drawn.
    let first: Int64
    let last: Int64
    /// Each minute drawn as "14:05", and its x coordinate: the same for every chart, so written once.
    let clocks: [String]
    let xs: [String]

    /// Plot area inside the 400 x 160 box (a box this narrow keeps its 13-unit text about 11 px high at 375 px wide):
    /// room on the left for the scale, below for the times.
    static let left = 34.0, right = 394.0, topY = 10.0, bottom = 130.0

    /// `counts`: the hour's minute figures and the ledgers' day totals (``Store/ledgerTotals(sinceMinute:)``).
    init(_ counts: [MinuteCount], nowMilliseconds: Int64) {
        last = MinuteCount.minute(of: nowMilliseconds)
        first = last - Int64(Self.minutes) + 1
        var figures: [String: [String: [Int64: Int64]]] = [:]
        for count in counts { figures[count.subject, default: [:]][count.measure, default: [:]][count.minute, default: 0] += count.value }
        self.figures = figures
        clocks = (first...last).map(Self.clock)
        let span = Double(max(1, Self.minutes - 1))
        xs = (0..<Self.minutes).map { Self.number(Self.left + (Self.right - Self.left) * Double($0) / span) }
    }

    /// A destination's chart and table: delivered, failed attempts and pending backlog per minute.
    func destination(_ id: String) -> [String: Any] {
        chart(subject: "destination:" + id, name: id, series: Self.destinationSeries)
    }

    /// A source's chart and table: events accepted and duplicates per minute.
    func source(_ id: String) -> [String: Any] {
        chart(subject: "source:" + id, name: id, series: Self.sourceSeries)
    }

    /// Whether the source's ledger counted anything over the last day.
    func hasLedger(_ id: String) -> Bool {
        figures["source:" + id]?.keys.contains { $0.hasPrefix(MinuteCount.ledgerPrefix) } ?? false
    }

    /// A ledger source's share of messages by status over the last day: one bar split by status, and a table.
    ///
    /// The figures are net flows (a message reaching `delivered` adds one there and takes one from `sent`), so a
    /// status can come out below zero when its messages arrived before the day drawn: it is drawn as none.
    func share(_ id: String) -> [String: Any] {
        let measures = figures["source:" + id] ?? [:]
        let counts = MinuteCount.ledgerStatuses.map { status in
            (status: status, count: max(0, measures[MinuteCount.ledgerPrefix + status]?.values.reduce(0, +) ?? 0))
        }
        let total = counts.reduce(0) { $0 + $1.count }
        let width = 400.0
        var x = 0.0
        var svg = ##"<svg class="chart" viewBox="0 0 400 40" width="100%" role="img" aria-label="\##(Self.escape(id)): messages by status, last 24 hours">"##
        svg += ##"<rect x="0" y="4" width="400" height="32" fill="#eef0f4"></rect>"##
        var rows: [[String: Any]] = []
        for (status, count) in counts {
            let percent = total > 0 ? Double(count) * 100 / Double(total) : 0
            let text = "\(status): \(count) (\(Self.number(percent)) %)"
            rows.append(["status": status, "count": count, "percent": Self.number(percent) + " %"])
            guard count > 0 else { continue }
            let w = width * Double(count) / Double(total)
            svg += ##"<rect class="point" data-status="\##(status)" x="\##(Self.number(x))" y="4" width="\##(Self.number(w))" height="32" fill="\##(Self.statusColors[status] ?? "#666")"><title>\##(Self.escape(text))</title></rect>"##
            x += w
        }
        svg += "</svg>"
        let legend = counts.map { ["text": "\($0.status): \($0.count)", "color": Self.statusColors[$0.status] ?? "#666"] as [String: Any] }
        return ["name": id, "svg": svg, "rows": rows, "total": total, "legend": legend]
    }

    /// A line chart of `series` over the minutes drawn, with a point (and its `<title>`) per minute and series.
    private func chart(subject: String, name: String, series: [Series]) -> [String: Any] {
        let measures = figures[subject] ?? [:]
        let minutes = Array(first...last)
        let values = series.map { s in
            let byMinute = measures[s.measure] ?? [:]
            return minutes.map { byMinute[$0] ?? 0 }
        }
        let top = max(1, values.lazy.compactMap { $0.max() }.max() ?? 1)
        let (left, right, topY, bottom) = (Self.left, Self.right, Self.topY, Self.bottom)
        func y(_ value: Int64) -> String { Self.number(bottom - (bottom - topY) * Double(value) / Double(top)) }
        var svg = ##"<svg class="chart" viewBox="0 0 400 160" width="100%" role="img" aria-label="\##(Self.escape(name)): per minute, last hour">"##
        svg += ##"<line x1="\##(left)" y1="\##(bottom)" x2="\##(right)" y2="\##(bottom)" stroke="#999" stroke-width="1"></line>"##
        svg += ##"<line x1="\##(left)" y1="\##(topY)" x2="\##(right)" y2="\##(topY)" stroke="#ddd" stroke-width="1"></line>"##
        svg += ##"<text x="\##(left - 6)" y="\##(topY + 4)" text-anchor="end" font-size="13" fill="#555">\##(top)</text>"##
        svg += ##"<text x="\##(left - 6)" y="\##(bottom + 4)" text-anchor="end" font-size="13" fill="#555">0</text>"##
        for index in [0, minutes.count / 2, minutes.count - 1] {
            let anchor = index == 0 ? "start" : index == minutes.count - 1 ? "end" : "middle"
            svg += ##"<text x="\##(xs[index])" y="150" text-anchor="\##(anchor)" font-size="13" fill="#555">\##(clocks[index])</text>"##
        }
        for (s, line) in zip(series, values) {
            let ys = line.map(y)
            var points = ""
            for index in line.indices {
                if index > 0 { points += " " }
                points += xs[index] + "," + ys[index]
            }
            svg += ##"<polyline points="\##(points)" fill="none" stroke="\##(s.color)" stroke-width="2"></polyline>"##
            for (index, value) in line.enumerated() {
                svg += ##"<circle class="point" data-measure="\##(s.measure)" data-minute="\##(minutes[index])" cx="\##(xs[index])" cy="\##(ys[index])" r="3" fill="\##(s.color)"><title>\##(clocks[index]) \##(s.label): \##(value)</title></circle>"##
            }
        }
        svg += "</svg>"
        let rows: [[String: Any]] = minutes.indices.map { index in
            var row: [String: Any] = ["minute": clocks[index]]
            for (s, line) in zip(series, values) { row[s.measure] = line[index] }
            return row
        }
        let legend = zip(series, values).map { s, line in
            let text = s.measure == MinuteCount.sampled ? "\(s.label): \(line.last ?? 0) now" : "\(s.label): \(line.reduce(0, +)) in the hour"
            return ["text": text, "color": s.color] as [String: Any]
        }
        return ["name": name, "svg": svg, "rows": rows, "legend": legend]
    }

    /// "14:05" (UTC) for a minute since the epoch.
    static func clock(_ minute: Int64) -> String {
        let minuteOfDay = ((minute % 1_440) + 1_440) % 1_440
        let (hour, minute) = (minuteOfDay / 60, minuteOfDay % 60)
        return (hour < 10 ? "0" : "") + String(hour) + (minute < 10 ? ":0" : ":") + String(minute)
    }

    /// A coordinate (or a percentage) with one decimal, as `%.1f` writes it, but without `String(format:)`: some 12,000
    /// calls a page through Foundation's formatter were about a sixth of the overview's time in a profile.
    static func number(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded(.toNearestOrEven))
        let whole = String(abs(tenths) / 10) + "." + String(abs(tenths) % 10)
        return tenths < 0 ? "-" + whole : whole
    }

    /// Text for SVG markup: the page's `{{{svg}}}` inserts it as is, so names are escaped here.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
