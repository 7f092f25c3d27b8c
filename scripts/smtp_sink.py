#!/usr/bin/env python3
"""A tiny SMTP sink for tests, on top of aiosmtpd (pip install aiosmtpd).

    python3 scripts/smtp_sink.py --host 127.0.0.1 --port 2525 --dir DIR

Accepts every message and writes its raw bytes to DIR/<unix-nanos>-<uuid>.eml (first to a
hidden temp name, then renamed, so readers never see half a file). Runs until killed.
"""
import argparse
import asyncio
import os
import signal
import time
import uuid

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4()}.eml"
        temp = os.path.join(self.directory, f".{name}.part")
        with open(temp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(temp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Sink(args.dir)
    server = await loop.create_server(lambda: SMTP(handler, hostname="smtp-sink"), args.host, args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"smtp sink listening on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
