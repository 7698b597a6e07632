"""A model-file server on 127.0.0.1 for download tests: byte ranges, and the failures real servers show.

`serve({"/name": Route(payload, mode)})` yields the base URL. Modes: "file" (Range honoured), "norange"
(Range ignored: always the whole file), "drop" (the first response stops halfway and closes the
connection), "html" (a 200 web page), "truncated" (half the file, with a matching Content-Length),
"slow" (64 KiB every 50 ms, for cancelling midway).
Unknown paths answer 404. Each route records the Range headers it received.
"""
from __future__ import annotations

import contextlib
import http.server
import re
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Route:
    payload: bytes
    mode: str = "file"
    ranges: list = field(default_factory=list)  # the Range header of every request ("" when absent)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        header = self.headers.get("Range", "")
        route.ranges.append(header)
        if route.mode == "html":
            body = b"<!DOCTYPE html><html><body>Moved. Please log in.</body></html>"
            self._send(200, body, {"Content-Type": "text/html; charset=utf-8"})
            return
        payload = route.payload[: len(route.payload) // 2] if route.mode == "truncated" else route.payload
        start = 0
        match = re.match(r"bytes=(\d+)-$", header)
        if match and route.mode != "norange":
            start = int(match.group(1))
        body = payload[start:]
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(payload) - 1}/{len(payload)}"
        if route.mode == "drop" and len(route.ranges) == 1:
            self._send(200, body, headers, stop_after=len(body) // 2)
            return
        self._send(206 if start else 200, body, headers)

    def _send(self, status: int, body: bytes, headers: dict, stop_after: int | None = None) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        body = body if stop_after is None else body[:stop_after]
        piece = 64 << 10 if self.routes[self.path].mode == "slow" else len(body) or 1
        try:
            for start in range(0, len(body), piece):
                self.wfile.write(body[start:start + piece])
                if piece < len(body):
                    time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            return
        if stop_after is not None:
            self.close_connection = True


@contextlib.contextmanager
def serve(routes: dict[str, Route]):
    """Serve `routes` on a free port of 127.0.0.1 in a thread; yields the base URL (no trailing slash)."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
