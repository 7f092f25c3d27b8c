#!/usr/bin/env python3
"""A tiny SMS gateway for trying resetd by hand (docker compose): standard library only.

    python3 scripts/sms_catcher.py [--host 0.0.0.0] [--port 8026]

POST /sms with resetd's webhook body ({"to", "text", "template", "language"}) answers 202 and
keeps the message; GET / shows the last 100 messages, newest first, as a plain page; GET
/messages returns them as JSON. Nothing is written to disk. It is a catcher for development,
not a gateway: it delivers nothing.
"""
import argparse
import html
import json
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MESSAGES = deque(maxlen=100)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/sms":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(min(length, 65536)))
        except ValueError:
            self.send_error(400, "not JSON")
            return
        MESSAGES.appendleft(body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if self.path == "/messages":
            data = json.dumps(list(MESSAGES)).encode()
            kind = "application/json"
        elif self.path == "/":
            rows = "".join(
                f"<li><b>{html.escape(str(m.get('to')))}</b>: {html.escape(str(m.get('text')))}</li>"
                for m in MESSAGES
            )
            data = f"<!doctype html><title>SMS catcher</title><h1>SMS received</h1><ul>{rows}</ul>".encode()
            kind = "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8026)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"SMS catcher on {args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
