#!/usr/bin/env python3
"""A minimal OTLP/HTTP trace sink for the benchmark: accepts every POST (JSON or protobuf), answers 200 with an
empty ExportTraceServiceResponse, counts requests and bytes. Listens on 127.0.0.1 only.

usage: otlp_sink.py PORT STATS_FILE   (STATS_FILE gets "requests bytes" on every request)
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, stats = int(sys.argv[1]), sys.argv[2]
count = [0, 0]


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        count[0] += 1
        count[1] += length
        with open(stats, "w") as f:
            f.write(f"{count[0]} {count[1]}\n")
        json = "json" in self.headers.get("Content-Type", "")
        body = b"{}" if json else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if json else "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
