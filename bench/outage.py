#!/usr/bin/env python3
"""The reliability target of SPEC section 12, run for real: a backend down for OUTAGE seconds (default 600) under a
steady load of signed LINE receipts. Reports acked events lost, dead letters, and how long after the backend's return
everything was delivered. Standard library only; everything on 127.0.0.1.

    python3 bench/outage.py [--relay .build/release/relay] [--outage 600] [--rate 20] [--before 60] [--after 60]
"""
import argparse, base64, hashlib, hmac, http.server, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

SECRET = "outage-line-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """A receiver that records each event id; stop() closes its socket (connections are refused), start() reopens it."""

    def __init__(self, port):
        self.port, self.ids, self.first_at, self.lock, self.server = port, set(), {}, threading.Lock(), None
        self.down = False

    def start(self):
        backend = self
        self.down = False

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if backend.down:
                    # A kept-alive connection of the relay's, still open after the listener closed: cut it, no answer.
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                with backend.lock:
                    event_id = self.headers.get("webhook-id")
                    if event_id not in backend.ids:
                        backend.first_at[event_id] = time.time()
                    backend.ids.add(event_id)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.down = True
        self.server.shutdown()
        self.server.server_close()


def admin_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/stats", timeout=5) as r:
        return next(d for d in json.load(r)["destinations"] if d["destination"] == "crm")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--relay", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "relay"))
    p.add_argument("--outage", type=float, default=600)
    p.add_argument("--rate", type=float, default=20, help="receipts per second")
    p.add_argument("--before", type=float, default=60)
    p.add_argument("--after", type=float, default=60)
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="relay-outage.")
    ingest, admin, backend_port = free_port(), free_port(), free_port()
    with open(os.path.join(work, "routes.yaml"), "w") as f:
        f.write(f"""listen: 127.0.0.1:{ingest}
admin:
  listen: 127.0.0.1:{admin}
store:
  sqlite: {work}/relay.db
sources:
  line:
    provider: line
    channel_secret: {SECRET}
destinations:
  crm:
    url: http://127.0.0.1:{backend_port}/events
routes:
  - to: [crm]
""")
    backend = Backend(backend_port)
    backend.start()
    log = open(os.path.join(work, "relay.log"), "w")
    relay = subprocess.Popen([args.relay, "serve", "--config", os.path.join(work, "routes.yaml")], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ingest}/readyz", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        acked, acked_at, lock, stop = [], {}, threading.Lock(), threading.Event()

        def send():
            n, start = 0, time.time()
            while not stop.is_set():
                n += 1
                event_id = "01OUT" + hashlib.md5(f"{start}-{n}".encode()).hexdigest()[:21].upper()
                event = {"type": "delivery", "delivery": {"data": "tag-" + event_id}, "webhookEventId": event_id,
                         "deliveryContext": {"isRedelivery": False}, "timestamp": int(time.time() * 1000), "mode": "active"}
                body = json.dumps({"destination": "Uoutage", "events": [event]}).encode()
                sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
                req = urllib.request.Request(f"http://127.0.0.1:{ingest}/webhooks/line", data=body, method="POST",
                                             headers={"Content-Type": "application/json", "X-Line-Signature": sig})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        if r.status == 200:
                            with lock:
                                acked.append(event_id)
                                acked_at[event_id] = time.time()
                except Exception:
                    pass
                time.sleep(max(0, start + n / args.rate - time.time()))

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(args.before)
        backend.stop()
        down = time.time()
        print(f"backend down at +{args.before:.0f}s for {args.outage:.0f}s", flush=True)
        time.sleep(args.outage)
        backend.start()
        returned = time.time()
        stats_at_return = admin_stats(admin)
        print(f"backend back; relay then held pending {stats_at_return['pending']}, dead {stats_at_return['dead']}, state {stats_at_return.get('state')}", flush=True)
        time.sleep(args.after)
        stop.set()
        sender.join()
        deadline = time.time() + 300
        while time.time() < deadline:
            with backend.lock:
                missing = [i for i in acked if i not in backend.ids]
            if not missing:
                break
            time.sleep(0.5)
        stats = admin_stats(admin)
        with backend.lock:
            # The backlog: events acknowledged before the backend came back; when the last of them arrived.
            backlog = [backend.first_at[i] for i in acked if acked_at[i] < returned and i in backend.first_at]
        result = {
            "outage_s": args.outage, "rate_per_s": args.rate, "acked": len(acked), "lost": len(missing),
            "dead": stats["dead"], "backlog_at_return": stats_at_return["pending"] + stats_at_return["in_flight"],
            "backlog_delivered_s_after_return": round(max(backlog) - returned, 1) if backlog else None,
        }
        print("OUTAGE_JSON " + json.dumps(result), flush=True)
    finally:
        relay.terminate()
        relay.wait(timeout=30)
        backend.stop()
    ok = result["lost"] == 0 and result["dead"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
