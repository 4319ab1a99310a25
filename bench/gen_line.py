#!/usr/bin/env python3
"""Writes pre-signed LINE webhook requests for the benchmark, one per line: base64 signature TAB body.

Each body is a LINE `delivery` webhook whose events all carry a distinct webhookEventId, and the signature is
base64(HMAC-SHA256(channel secret, exact body bytes)), as LINE sends it in X-Line-Signature.
Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def crockford(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="file to write")
    parser.add_argument("--requests", type=int, required=True, help="number of requests (lines)")
    parser.add_argument("--events-per-request", type=int, default=1)
    parser.add_argument("--secret", required=True, help="the LINE channel secret of the source")
    parser.add_argument("--tag", default=None, help="6 Crockford characters making the ids of this file unique")
    parser.add_argument("--events-per-subject", type=int, default=1,
                        help="consecutive events sharing one delivery tag (their canonical subject): 1 makes every subject distinct")
    args = parser.parse_args()

    secret = args.secret.encode()
    # The id: "01" + a tag for this file + a counter, 26 characters like LINE's ULID-style ids.
    tag = args.tag or crockford(int.from_bytes(os.urandom(4), "big"), 6)
    destination = "U" + hashlib.md5(tag.encode()).hexdigest()
    now_ms = int(time.time() * 1000)
    counter = 0
    with open(args.out, "w", encoding="ascii", buffering=1 << 20) as out:
        for _ in range(args.requests):
            events = []
            for _ in range(args.events_per_request):
                counter += 1
                events.append({
                    "type": "delivery",
                    "delivery": {"data": hashlib.sha256(b"%s-%d" % (tag.encode(), (counter - 1) // args.events_per_subject)).hexdigest()},
                    "webhookEventId": "01" + tag + crockford(counter, 18),
                    "deliveryContext": {"isRedelivery": False},
                    "timestamp": now_ms - 1000 + counter % 1000,
                    "mode": "active",
                })
            body = json.dumps({"destination": destination, "events": events}, separators=(",", ":")).encode()
            signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
            out.write(signature + "\t" + body.decode() + "\n")


if __name__ == "__main__":
    main()
