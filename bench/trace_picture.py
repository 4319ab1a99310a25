#!/usr/bin/env python3
"""Draws one real trace of relay as a waterfall and screenshots it (README's tracing picture).

Everything runs on 127.0.0.1 and is stopped at the end: an OTLP/HTTP JSON collector (this script), a backend that
answers the first attempt 503 and the retry 200 and reports a span of its own under the `traceparent` relay sent
(as a backend with its own OpenTelemetry SDK would), and `relay serve` exporting to the collector. One signed LINE
webhook goes in with a provider's `traceparent`; once the collector holds the request's span, both attempts and the
backend's span, the trace is drawn as HTML and headless Chromium takes the picture.

usage: python3 bench/trace_picture.py [--relay .build/debug/relay] [--out docs/trace.png] [--html FILE]
"""
import argparse
import base64
import hashlib
import hmac
import html
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE_SECRET = "picture-line-channel-secret"
PROVIDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PROVIDER_SPAN = "00f067aa0ba902b7"
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}

spans: list[dict] = []
lock = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value(v: dict):
    for key in ("stringValue", "intValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    return None


def hex_id(text: str) -> str:
    if not text:
        return ""
    if len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    return base64.b64decode(text).hex()


def add_export(body: dict) -> None:
    for rs in body.get("resourceSpans", []):
        service = next((value(a["value"]) for a in rs.get("resource", {}).get("attributes", []) if a["key"] == "service.name"), "?")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                kind = s.get("kind", 0)
                if isinstance(kind, str):
                    kind = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3}.get(kind, 0)
                with lock:
                    spans.append({
                        "service": service, "trace": hex_id(s.get("traceId", "")), "id": hex_id(s.get("spanId", "")),
                        "parent": hex_id(s.get("parentSpanId", "")), "name": s.get("name", ""), "kind": KINDS.get(int(kind), "?"),
                        "start": int(s["startTimeUnixNano"]), "end": int(s["endTimeUnixNano"]),
                        "attributes": {a["key"]: value(a["value"]) for a in s.get("attributes", [])},
                        "error": s.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR"),
                    })


class Collector(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if "json" in self.headers.get("Content-Type", ""):
            add_export(json.loads(body or b"{}"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class Backend(BaseHTTPRequestHandler):
    """The CRM: refuses the first attempt (503), takes the retry, and reports its own work as a span."""
    protocol_version = "HTTP/1.1"
    attempts = 0

    def do_POST(self):
        started = time.time_ns()
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Backend.attempts += 1
        status = 503 if Backend.attempts == 1 else 200
        time.sleep(0.004 if status == 503 else 0.012)  # its own work
        parts = (self.headers.get("traceparent") or "").split("-")
        if len(parts) == 4:
            with lock:
                spans.append({
                    "service": "crm-backend", "trace": parts[1], "id": secrets.token_hex(8), "parent": parts[2],
                    "name": "crm: store receipt" if status == 200 else "crm: busy", "kind": "server",
                    "start": started, "end": time.time_ns(), "attributes": {"http.response.status_code": status},
                    "error": status >= 500,
                })
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def draw(trace: list[dict]) -> str:
    trace.sort(key=lambda s: s["start"])
    by_id = {s["id"]: s for s in trace}

    def depth(s):
        d, seen = 0, set()
        while s["parent"] in by_id and s["id"] not in seen:
            seen.add(s["id"])
            s, d = by_id[s["parent"]], d + 1
        return d

    t0, t1 = trace[0]["start"], max(s["end"] for s in trace)
    span_ms = max(1e-3, (t1 - t0) / 1e6)
    rows = []
    for s in trace:
        left = (s["start"] - t0) / 1e6 / span_ms * 100
        width = max(0.3, (s["end"] - s["start"]) / 1e6 / span_ms * 100)
        a = s["attributes"]
        facts = [f"{k}={a[k]}" for k in ("relay.source.id", "relay.event.accepted", "relay.destination.id", "relay.attempt",
                                         "http.response.status_code", "error.type") if k in a]
        colour = "#c0392b" if s["error"] else {"relay": "#2e86c1", "crm-backend": "#27ae60"}.get(s["service"], "#7f8c8d")
        rows.append(f"""<tr><td class="name" style="padding-left:{8 + 18 * depth(s)}px"><b>{html.escape(s['service'])}</b>
 {html.escape(s['name'])} <span class="kind">{s['kind']}</span><div class="facts">{html.escape(' '.join(facts))}</div></td>
<td class="bar"><div style="margin-left:{left:.2f}%;width:{width:.2f}%;background:{colour}"></div>
<span style="margin-left:{min(left, 90):.2f}%">{(s['end'] - s['start']) / 1e6:.1f} ms</span></td></tr>""")
    return f"""<!doctype html><meta charset="utf-8"><title>relay trace</title>
<style>body{{font:13px system-ui,sans-serif;margin:16px;color:#222}} table{{width:100%;border-collapse:collapse}}
td{{border-bottom:1px solid #eee;padding:5px 8px;vertical-align:top}} td.name{{width:42%}} .kind{{color:#888;font-size:11px}}
.facts{{color:#555;font:11px monospace;margin-top:2px}} td.bar div{{height:12px;border-radius:2px}} td.bar span{{display:block;font-size:11px;color:#555}}
h1{{font-size:15px;margin:0 0 4px}} p{{margin:0 0 10px;color:#555}}</style>
<h1>One LINE webhook, its two delivery attempts and the backend's work: trace {trace[0]['trace']}</h1>
<p>{len(trace)} spans over {span_ms:.0f} ms, exported by relay over OTLP (http/json); the first span is the provider's
request, whose parent is the provider's span {PROVIDER_SPAN} (from the traceparent it sent). Red: an error status (the backend's 503, retried 1 s later).</p>
<table>{''.join(rows)}</table>"""


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--relay", default=os.path.join(ROOT, ".build", "debug", "relay"))
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "trace.png"))
    p.add_argument("--html")
    args = p.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("trace_picture: chromium is missing (apt-get install chromium)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="relay-trace-")
    collector, collector_port = serve(Collector)
    backend, backend_port = serve(Backend)
    port, admin = free_port(), free_port()
    with open(f"{work}/routes.yaml", "w") as f:
        f.write(f"""listen: 127.0.0.1:{port}
admin:
  listen: 127.0.0.1:{admin}
store:
  sqlite: {work}/relay.db
retry: [1s]
sources:
  line:
    provider: line
    channel_secret: {LINE_SECRET}
destinations:
  crm:
    url: http://127.0.0.1:{backend_port}/events
    secret: whsec_{base64.b64encode(b'trace-picture-signing-key').decode()}
routes:
  - to: [crm]
""")
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector_port}", OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
               OTEL_SERVICE_NAME="relay", OTEL_TRACES_SAMPLER="always_on", OTEL_BSP_SCHEDULE_DELAY="100")
    log = open(f"{work}/relay.log", "w")
    relay = subprocess.Popen([args.relay, "serve", "--config", f"{work}/routes.yaml"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("relay did not become ready in 30 s")
        with open(os.path.join(ROOT, "Tests", "Fixtures", "line", "delivery.json"), "rb") as f:
            body = f.read()
        signature = base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/line", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Line-Signature": signature,
            "traceparent": f"00-{PROVIDER_TRACE}-{PROVIDER_SPAN}-01"})
        status = urllib.request.urlopen(request, timeout=10).status
        if status != 200:
            raise SystemExit(f"the webhook got {status}")
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                trace = [s for s in spans if s["trace"] == PROVIDER_TRACE]
            clients = [s for s in trace if s["kind"] == "client"]
            if len(clients) >= 2 and sum(1 for s in trace if s["service"] == "crm-backend") >= 2:
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"the collector holds {len(trace)} spans of the trace after 30 s")
        page = args.html or f"{work}/trace.html"
        with open(page, "w") as f:
            f.write(draw(trace))
        height = 120 + 48 * len(trace)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size=1200,{height}",
                        f"--screenshot={args.out}", f"file://{page}"], check=True, capture_output=True, timeout=60)
        print(f"trace_picture: {len(trace)} spans of trace {PROVIDER_TRACE} drawn to {args.out}")
        return 0
    finally:
        relay.terminate()
        relay.wait(timeout=15)
        collector.shutdown()
        backend.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
