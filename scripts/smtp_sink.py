#!/usr/bin/env python3
"""A tiny SMTP sink for tests, on top of aiosmtpd (pip install aiosmtpd).

    python3 scripts/smtp_sink.py --host 127.0.0.1 --port 2525 --dir DIR [--exit-with-parent]

Accepts every message and writes its raw bytes to DIR/<unix-nanos>-<uuid>.eml (first to a
hidden temp name, then renamed, so readers never see half a file). Runs until killed, or, with
--exit-with-parent, until the process that started it is gone. With --port 0 it picks a free
port; the first line it prints names the address.
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
    parser.add_argument("--exit-with-parent", action="store_true")
    args = parser.parse_args()
    parent = os.getppid()
    os.makedirs(args.dir, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Sink(args.dir)
    server = await loop.create_server(lambda: SMTP(handler, hostname="smtp-sink"), args.host, args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"smtp sink listening on {args.host}:{port}, writing to {args.dir}", flush=True)

    async def watch_parent():
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop.set()

    if args.exit_with_parent:
        asyncio.ensure_future(watch_parent())
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
