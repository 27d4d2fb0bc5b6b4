"""A small HTTP proxy in front of the real CKAN that injects faults, for retry tests.

Listens on 127.0.0.1 only. For the n-th request (counted from 1) ``schedule(n, method, path)``
returns None (forward normally) or one fault:

- ``"502"``        answer 502 without forwarding (the portal never saw the request)
- ``"502-after"``  forward, let CKAN process it, then answer 502 (the reply is lost)
- ``"429"``        answer 429 with ``Retry-After: 1`` without forwarding
- ``"reset"``      close the connection with a TCP reset without forwarding
- ``"reset-after"`` forward, then reset instead of answering
- ``"hang"``       wait ``hang_seconds`` (past the client's timeout), then drop the request
- ``"slow-forward"`` hold the request ``hang_seconds`` BEFORE it reaches CKAN, then forward it
  (whether or not the client is still waiting): a portal slower than the client's timeout
- ``"500"``        answer 500 with CKAN's own error envelope without forwarding (what CKAN
  sends when an action raises, e.g. its DataStore's first-write race on a new portal)
- ``"500-after"``  forward, let CKAN process it, then answer that 500
- ``"corrupt"``    forward, then answer with one byte of the body changed (a damaged download)
- ``"truncate"``   forward, then send half of the body and reset (an interrupted download)

With ``tls`` (a server-side ``ssl.SSLContext``) it speaks HTTPS to its clients: a TLS front of
the real portal, for the certificate tests.

It also counts what passes: ``count`` requests, ``bytes_up`` (request line, headers and body of
every request it received) and ``bytes_down`` (status line, headers and body of every answer it
sent). With ``schedule=no_faults`` it is a plain counting proxy (benchmarks/peers.py).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Schedule = Callable[[int, str, str], str | None]


def no_faults(n: int, method: str, path: str) -> str | None:
    """The schedule of a plain counting proxy: forward everything."""
    return None


# The body CKAN's Action API answers when an action raises an exception it does not handle.
CKAN_SERVER_ERROR = (
    b'{"help": "http://127.0.0.1/api/3/action/help_show?name=datastore_create", '
    b'"error": {"__type": "Internal Server Error", "message": "Internal Server Error"}, "success": false}'
)

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultProxy:
    """Start with ``start()`` (returns the proxy URL), stop with ``stop()``; count faults in ``log``."""

    def __init__(
        self, upstream: str, schedule: Schedule, hang_seconds: float = 3.0, tls: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.schedule = schedule
        self.hang_seconds = hang_seconds
        self.count = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.log: list[tuple[int, str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        # stop() waits for serve_forever's next poll (0.5 s by default)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def faults(self) -> list[str]:
        return [fault for *_, fault in self.log if fault]

    def _next(self, method: str, path: str) -> str | None:
        with self._lock:
            self.count += 1
            fault = self.schedule(self.count, method, path)
            self.log.append((self.count, method, path, fault))
            return fault

    def _add_bytes(self, up: int = 0, down: int = 0) -> None:
        with self._lock:
            self.bytes_up += up
            self.bytes_down += down

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._relay()

            def do_POST(self) -> None:
                self._relay()

            def _relay(self) -> None:
                try:
                    self._relay_faulty()
                except OSError:  # the client gave up first (timeout): nobody to answer
                    self.close_connection = True

            def _relay_faulty(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                head = len(self.requestline) + 4 + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
                proxy._add_bytes(up=head + len(body))
                fault = proxy._next(self.command, self.path)
                if fault == "502":
                    return self._answer(502, b"<html>502 Bad Gateway (injected)</html>")
                if fault == "500":
                    return self._answer(500, CKAN_SERVER_ERROR, {"Content-Type": "application/json"})
                if fault == "429":
                    return self._answer(429, b"slow down (injected)", {"Retry-After": "1"})
                if fault == "reset":
                    return self._reset()
                if fault == "hang":
                    time.sleep(proxy.hang_seconds)
                    return self._reset()
                if fault == "slow-forward":
                    time.sleep(proxy.hang_seconds)
                status, headers, payload = self._forward(body)
                if fault == "corrupt" and payload:
                    middle = len(payload) // 2
                    payload = payload[:middle] + bytes([payload[middle] ^ 0x20]) + payload[middle + 1 :]
                if fault == "truncate" and len(payload) > 1:
                    return self._answer_cut(status, payload, headers)
                if fault == "502-after":
                    return self._answer(502, b"<html>502 Bad Gateway after processing (injected)</html>")
                if fault == "500-after":
                    return self._answer(500, CKAN_SERVER_ERROR, {"Content-Type": "application/json"})
                if fault == "reset-after":
                    return self._reset()
                return self._answer(status, payload, headers)

            def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
                conn.close()
                return response.status, kept, payload

            def _answer(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                head = sum(len(k) + len(v) + 4 for k, v in (headers or {}).items()) + 60  # + status, length, close
                proxy._add_bytes(down=head + len(payload))
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True

            def _answer_cut(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._reset()

            def _reset(self) -> None:
                # SO_LINGER with timeout 0 turns close() into a TCP reset.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

        return Handler
