import Mustache

/// The console's pages (SPEC section 11): Mustache templates, server-rendered, plain forms, one stylesheet, nothing
/// from another host and no JavaScript. `{{x}}` escapes HTML; every form that changes something carries `{{csrf}}`;
/// links with values in them come encoded from the controller (`deadHref`, `eventHref`), never built here.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
            // The templates are this file's constants: one that does not parse is a bug caught by the first test.
            if let template = try? MustacheTemplate(string: text) { library.register(template, named: name) }
        }
        return library
    }()

    static let templates: [String: String] = [
        "head": #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · relay</title><link rel="stylesheet" href="/console.css">{{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}</head>
        <body><header><a class="brand" href="/">relay</a>
        {{#signedIn}}<nav aria-label="Sections"><a href="/">Overview</a> <a href="/dead-letters">Dead letters</a> <a href="/lookup">Lookup</a></nav>
        {{#canSignOut}}<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>{{/canSignOut}}{{/signedIn}}
        </header><main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        """#,
        "foot": #"""
        </main><footer>{{footer}}</footer></body></html>
        """#,
        "login": #"""
        {{> head}}
        <h1>Sign in</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/login">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token">Admin token</label> <input id="token" name="token" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        </form>
        {{> foot}}
        """#,
        "overview": #"""
        {{> head}}
        <h1>Overview</h1>
        <p>Store: {{store}} · instance {{instance}} · counts as of {{countsAt}} ({{countsAge}})</p>
        <section aria-labelledby="destinations"><h2 id="destinations">Destinations</h2>
        <table><thead><tr><th scope="col">Destination</th><th scope="col">State</th><th scope="col">Pending</th><th scope="col">In flight</th>
        <th scope="col">Dead</th><th scope="col">Delivered</th><th scope="col">Oldest pending</th><th scope="col">Attempts/s (1 min)</th><th scope="col">Last error</th></tr></thead>
        <tbody>{{#destinations}}<tr><th scope="row">{{name}}</th><td class="state-{{state}}">{{state}}<br><small>since {{since}}</small></td>
        <td>{{pending}}</td><td>{{inFlight}}</td><td>{{#hasDead}}<a href="{{deadHref}}">{{dead}}</a>{{/hasDead}}{{^hasDead}}0{{/hasDead}}</td>
        <td>{{delivered}}</td><td>{{oldest}}</td><td>{{rate}}</td><td>{{lastError}}{{#lastErrorAge}}<br><small>{{lastErrorAge}}</small>{{/lastErrorAge}}</td></tr>{{/destinations}}
        {{^destinations}}<tr><td colspan="9">No destinations are configured.</td></tr>{{/destinations}}</tbody></table></section>
        <p class="drawn">Charts drawn at <time datetime="{{drawnISO}}">{{drawnAt}}</time> UTC from the store's minute counts; this page reloads every 10 s.</p>
        <section aria-labelledby="destination-charts"><h2 id="destination-charts">Deliveries per minute, last hour</h2>
        <div class="charts">{{#destinationCharts}}<figure class="chart" id="chart-destination-{{name}}"><figcaption>{{name}}</figcaption>{{> legend}}{{{svg}}}
        <table class="sr-only"><caption>{{name}}: per minute, last hour (UTC)</caption><thead><tr><th scope="col">Minute</th><th scope="col">Delivered</th><th scope="col">Failed attempts</th><th scope="col">Pending</th></tr></thead>
        <tbody>{{#rows}}<tr><th scope="row">{{minute}}</th><td>{{delivered}}</td><td>{{failed}}</td><td>{{pending}}</td></tr>{{/rows}}</tbody></table></figure>{{/destinationCharts}}</div></section>
        <section aria-labelledby="source-charts"><h2 id="source-charts">Events per minute, last hour</h2>
        <div class="charts">{{#sourceCharts}}<figure class="chart" id="chart-source-{{name}}"><figcaption>{{name}}</figcaption>{{> legend}}{{{svg}}}
        <table class="sr-only"><caption>{{name}}: events per minute, last hour (UTC)</caption><thead><tr><th scope="col">Minute</th><th scope="col">Accepted</th><th scope="col">Duplicates</th></tr></thead>
        <tbody>{{#rows}}<tr><th scope="row">{{minute}}</th><td>{{accepted}}</td><td>{{duplicates}}</td></tr>{{/rows}}</tbody></table></figure>{{/sourceCharts}}</div>
        {{^sourceCharts}}<p>No sources are configured.</p>{{/sourceCharts}}</section>
        {{#hasLedgers}}<section aria-labelledby="ledger-charts"><h2 id="ledger-charts">Messages by status, last 24 hours</h2>
        <div class="charts">{{#ledgerCharts}}<figure class="chart" id="chart-ledger-{{name}}"><figcaption>{{name}}: {{total}} messages</figcaption>{{> legend}}{{{svg}}}
        <table class="sr-only"><caption>{{name}}: messages by status, last 24 hours</caption><thead><tr><th scope="col">Status</th><th scope="col">Messages</th><th scope="col">Share</th></tr></thead>
        <tbody>{{#rows}}<tr><th scope="row">{{status}}</th><td>{{count}}</td><td>{{percent}}</td></tr>{{/rows}}</tbody></table></figure>{{/ledgerCharts}}</div></section>{{/hasLedgers}}
        {{> foot}}
        """#,
        "legend": #"""
        <ul class="legend" aria-hidden="true">{{#legend}}<li><svg width="12" height="12" viewBox="0 0 12 12"><rect width="12" height="12" fill="{{color}}"></rect></svg> {{text}}</li>{{/legend}}</ul>
        """#,
        "deadLetters": #"""
        {{> head}}
        <h1>Dead letters</h1>
        <section aria-labelledby="filter"><h2 id="filter">Filter</h2>
        <form method="get" action="/dead-letters" class="filters">
        <label for="destination">Destination</label> <input id="destination" name="destination" value="{{destination}}">
        <label for="since">Failed since (UTC)</label> <input id="since" name="since" value="{{since}}" placeholder="2026-12-01T00:00:00Z">
        <label for="until">Failed before (UTC)</label> <input id="until" name="until" value="{{until}}" placeholder="2026-12-02T00:00:00Z">
        <label for="type">Type</label> <input id="type" name="type" value="{{type}}" placeholder="delivery.*">
        <button type="submit">Filter</button></form></section>
        <section aria-labelledby="letters"><h2 id="letters">{{count}} shown{{#more}} (the first {{count}}){{/more}}</h2>
        {{#hasLetters}}<form method="post" action="/dead-letters/replay" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="all" value="true">
        <input type="hidden" name="destination" value="{{destination}}"><input type="hidden" name="since" value="{{since}}">
        <input type="hidden" name="until" value="{{until}}"><input type="hidden" name="type" value="{{type}}">
        <button type="submit">Replay all that match the filter</button></form>{{/hasLetters}}
        <table><thead><tr><th scope="col">Id</th><th scope="col">Destination</th><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Attempts</th>
        <th scope="col">Last status</th><th scope="col">Error</th><th scope="col">Response</th><th scope="col">Failed</th><th scope="col">Replay</th></tr></thead>
        <tbody>{{#letters}}<tr><td>{{id}}</td><td>{{destination}}</td><td><a href="{{eventHref}}">{{event}}</a></td><td>{{type}}</td>
        <td>{{attempts}}</td><td>{{status}}</td><td>{{error}}</td><td><code>{{response}}</code></td><td>{{failedAt}}<br><small>{{failedAge}}</small></td>
        <td><form method="post" action="/dead-letters/replay"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}">
        <button type="submit" aria-label="Replay dead letter {{id}}">Replay</button></form></td></tr>{{/letters}}
        {{^letters}}<tr><td colspan="10">No dead letters match.</td></tr>{{/letters}}</tbody></table></section>
        {{> foot}}
        """#,
        "lookup": #"""
        {{> head}}
        <h1>Lookup</h1>
        <section aria-labelledby="find-event"><h2 id="find-event">An event</h2>
        <form method="get" action="/lookup"><label for="event-source">Source</label> <input id="event-source" name="source" value="{{source}}">
        <label for="event-id">Event id</label> <input id="event-id" name="event" value="{{eventID}}"> <button type="submit">Find event</button></form></section>
        <section aria-labelledby="find-message"><h2 id="find-message">A message</h2>
        <form method="get" action="/lookup"><label for="message-source">Source</label> <input id="message-source" name="source" value="{{source}}">
        <label for="message-id">Message id</label> <input id="message-id" name="message" value="{{messageID}}"> <button type="submit">Find message</button></form></section>
        {{#missing}}<p class="error" role="alert">{{missing}}</p>{{/missing}}
        {{#event}}<section aria-labelledby="event"><h2 id="event">Event {{id}} ({{type}}, received {{receivedAt}})</h2>
        <table><thead><tr><th scope="col">Destination</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Next attempt</th>
        <th scope="col">Last status</th><th scope="col">Error</th><th scope="col">Response</th></tr></thead>
        <tbody>{{#jobs}}<tr><th scope="row">{{destination}}</th><td>{{state}}</td><td>{{attempts}}</td><td>{{next}}</td><td>{{status}}</td><td>{{error}}</td><td><code>{{response}}</code></td></tr>{{/jobs}}
        {{^jobs}}<tr><td colspan="7">No route sent it anywhere.</td></tr>{{/jobs}}</tbody></table>
        {{#jobs}}<section class="attempts" aria-labelledby="attempts-{{index}}"><h3 id="attempts-{{index}}">Attempts to {{destination}}</h3>
        <table><thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Duration</th><th scope="col">Status</th><th scope="col">Outcome</th><th scope="col">Error</th><th scope="col">Response</th></tr></thead>
        <tbody>{{#history}}<tr class="attempt"><td>{{number}}</td><td>{{at}}</td><td>{{duration}}</td><td class="status">{{status}}</td><td>{{outcome}}</td><td>{{error}}</td><td><code>{{response}}</code></td></tr>{{/history}}
        {{^history}}<tr><td colspan="7">No attempt yet.</td></tr>{{/history}}</tbody></table></section>{{/jobs}}
        <h3>Canonical event</h3><pre>{{json}}</pre></section>{{/event}}
        {{#message}}<section aria-labelledby="message"><h2 id="message">Message {{id}}: {{status}}{{#overdue}} (overdue){{/overdue}}</h2>
        <p>Channels: {{channels}}</p>
        <table><thead><tr><th scope="col">Received</th><th scope="col">Status</th><th scope="col">Channel</th><th scope="col">Provider time</th><th scope="col">Advanced</th><th scope="col">Event</th></tr></thead>
        <tbody>{{#history}}<tr><td>{{receivedAt}}</td><td>{{status}}</td><td>{{channel}}</td><td>{{time}}</td><td>{{advanced}}</td><td>{{eventID}}</td></tr>{{/history}}</tbody></table></section>{{/message}}
        {{> foot}}
        """#,
        "problem": #"""
        {{> head}}
        <h1>{{heading}}</h1><p>{{text}}</p><p><a href="/">Back to the overview</a></p>
        {{> foot}}
        """#,
    ]

    static let stylesheet = """
        :root { font-family: system-ui, sans-serif; color: #1d2330; background: #fafafa; }
        body { margin: 0; } main { padding: 0 1rem 2rem; } footer { padding: 1rem; color: #666; font-size: .85rem; }
        header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; padding: .6rem 1rem; background: #1d2330; color: #fff; }
        header a { color: #fff; } .brand { font-weight: 700; text-decoration: none; } nav a { margin-right: .6rem; }
        table { border-collapse: collapse; display: block; overflow-x: auto; max-width: 100%; margin: .5rem 0 1rem; }
        th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid #ddd; vertical-align: top; font-size: .9rem; }
        thead th { background: #eef0f4; } code, pre { font-size: .8rem; white-space: pre-wrap; word-break: break-all; }
        pre { background: #fff; border: 1px solid #ddd; padding: .6rem; overflow-x: auto; }
        form.inline { display: inline; } .filters { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
        input { padding: .3rem; max-width: 100%; } button { padding: .3rem .7rem; }
        .error { color: #a40000; } .notice { background: #e8f4e8; padding: .5rem; }
        .state-open, .state-half_open { color: #a40000; font-weight: 600; } .state-paused { color: #8a5a00; font-weight: 600; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 24rem), 1fr)); gap: .5rem 1.5rem; }
        figure.chart { margin: .5rem 0 1rem; min-width: 0; } figcaption { font-weight: 600; }
        svg.chart { display: block; width: 100%; height: auto; } .drawn { color: #555; font-size: .85rem; }
        .legend { list-style: none; padding: 0; margin: .25rem 0; display: flex; flex-wrap: wrap; gap: .2rem .9rem; font-size: .85rem; }
        .sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
        @media (max-width: 480px) { th, td { font-size: .8rem; padding: .25rem .35rem; } }
        """
}
