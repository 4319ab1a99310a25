#!/usr/bin/env python3
"""Writes 8x8 ChatApps status webhooks for the benchmark's ledger section, one request per line:
the Authorization value (`Bearer <token>`, for an 8x8 source with `auth: bearer`) TAB body.

Every message (umid, distinct in the file) gets 3 of the 4 statuses queued, sent, delivered (detail
delivered_to_recipient) and read: message k leaves out step k % 4, so all four combinations occur equally.
Statuses are made in blocks of BLOCK messages and each block's lines are shuffled (seeded: the same options give
the same order), so a message's statuses arrive out of order and far apart, and some of them are stale for the
ledger (a lower rank after a higher one). If --requests is not a multiple of 3, the last message has fewer.
Standard library only.
"""
import argparse
import datetime
import hashlib
import os
import random

STEPS = [("queued", None), ("sent", None), ("delivered", "delivered_to_recipient"), ("read", None)]
START = datetime.datetime(2026, 11, 24, 9, 0, 0, tzinfo=datetime.timezone.utc)


def timestamp(centiseconds: int) -> str:
    """ISO 8601 with two fraction digits, as 8x8 sends it: 2026-11-24T09:00:00.00Z."""
    moment = START + datetime.timedelta(milliseconds=centiseconds * 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 10000:02d}Z"


def make_umid(tag: str, k: int) -> str:
    """A version-4-shaped UUID, random-looking as 8x8's are (their index inserts land anywhere, not in order), made
    from the tag and the message number, which its last 8 digits carry so that no two in a file are equal."""
    h = hashlib.md5(f"{tag}-{k}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:24]}{k & 0xffffffff:08x}"


def body(umid: str, state: str, detail: str | None, ts: str) -> str:
    detail_member = f',"detail":"{detail}"' if detail else ""
    return ('{"namespace":"ChatApps","eventType":"outbound_message_status_changed",'
            '"description":"ChatApps outbound message delivery receipt",'
            f'"payload":{{"umid":"{umid}","subAccountId":"acme_whatsapp","channel":"whatsapp",'
            '"user":{"msisdn":"+6512345678","channelUserId":"6512345678"},'
            f'"status":{{"state":"{state}"{detail_member},"timestamp":"{ts}"}}}}}}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="file to write")
    parser.add_argument("--requests", type=int, required=True, help="number of requests (lines), 3 per message")
    parser.add_argument("--token", required=True, help="the bearer token of the 8x8 source (auth: bearer)")
    parser.add_argument("--tag", default=None, help="any text making the umids of this file differ from other files' (default: random)")
    parser.add_argument("--block", type=int, default=300, help="messages whose statuses are shuffled together")
    parser.add_argument("--seed", type=int, default=14, help="seed of the shuffle")
    args = parser.parse_args()
    if args.requests < 0 or args.block < 1:
        parser.error("--requests must be >= 0 and --block >= 1")

    tag = args.tag or os.urandom(4).hex()
    header = f"Bearer {args.token}"
    rng = random.Random(args.seed)
    messages = (args.requests + 2) // 3
    left = args.requests
    with open(args.out, "w", encoding="ascii", buffering=1 << 20) as out:
        for first in range(0, messages, args.block):
            lines = []
            for k in range(first, min(first + args.block, messages)):
                umid = make_umid(tag, k)
                # The message's clock: sent a second after queued, and so on (the ledger ranks by status, not time).
                for step, (state, detail) in enumerate(STEPS):
                    if step == k % 4 or left == 0:
                        continue
                    left -= 1
                    lines.append(header + "\t" + body(umid, state, detail, timestamp(k + step * 100)) + "\n")
            rng.shuffle(lines)
            out.writelines(lines)


if __name__ == "__main__":
    main()
