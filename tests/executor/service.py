"""A tiny HTTP service run as a task's process in tests.

Usage: service.py PORT [HEALTH_BODY] [--ignore-quit]. Every request path it receives is
appended to ``requests.log`` in the working directory (the sandbox).
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = int(sys.argv[1])
BODY = sys.argv[2] if len(sys.argv) > 2 else "ok"
IGNORE_QUIT = "--ignore-quit" in sys.argv


class Handler(BaseHTTPRequestHandler):
    def _log_request(self) -> None:
        with open("requests.log", "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def do_GET(self) -> None:
        self._log_request()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(BODY.encode())

    def do_POST(self) -> None:
        self._log_request()
        self.send_response(200)
        self.end_headers()
        if self.path == "/quitquitquit" and not IGNORE_QUIT:
            threading.Thread(target=self.server.shutdown).start()

    def log_message(self, *args: object) -> None:
        pass


server = HTTPServer(("127.0.0.1", PORT), Handler)
server.serve_forever()
