# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""werkzeug request handler with real HTTP/1.1 keep-alive, and the open connections of one server."""

from __future__ import annotations

import socket
import threading
import traceback
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from .wire import DROP_KEY, RAW_HEADERS_KEY

IDLE_TIMEOUT = 120


class ServerExtras:
    """Logging switches and open connections of one server (closed on stop)."""

    def __init__(self, verbose: bool, quiet: bool) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def track(self, sock: socket.socket) -> None:
        """Remember an open connection."""
        with self._lock:
            self._connections.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        """Forget a closed connection."""
        with self._lock:
            self._connections.discard(sock)

    def close_all(self) -> None:
        """Shut down every open connection (idle keep-alive ones included)."""
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def server_extras(server: Any) -> ServerExtras:
    """The extras of a server (defaults if it has none)."""
    extras = getattr(server, "fleetota_extras", None)
    return extras if extras is not None else ServerExtras(verbose=False, quiet=False)


class EmulatorRequestHandler(WSGIRequestHandler):
    """werkzeug's handler with real HTTP/1.1 keep-alive.

    werkzeug's own run_wsgi always answers ``Connection: close``; this one buffers the
    (small) response, always sends Content-Length, drains the unread request body and
    keeps the connection open unless the client asks otherwise.
    """

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        server_extras(self.server).track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            server_extras(self.server).untrack(self.connection)

    def make_environ(self) -> dict[str, Any]:
        """werkzeug drops header names with underscores from the WSGI environ; some vendors
        (Tuya: client_id, sign_method, access_token) require them, so keep those under RAW_HEADERS_KEY."""
        environ = super().make_environ()
        environ[RAW_HEADERS_KEY] = [(key, value) for key, value in self.headers.items() if "_" in key]
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if server_extras(self.server).verbose:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        if server_extras(self.server).verbose:
            super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body_input = self._limit_input(environ)
        captured: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            del exc_info  # nothing is sent before the application returns
            captured[:] = [status, headers]
            chunks.clear()
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:  # pylint: disable=broad-exception-caught
            if not server_extras(self.server).quiet:
                traceback.print_exc()
            captured[:] = ["500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")]]
            chunks[:] = [b"internal server error\n"]
            self.close_connection = True
        if environ.get(DROP_KEY):
            self.close_connection = True
            return
        if not self._drain(body_input):
            self.close_connection = True
        self._send(captured, b"".join(chunks))

    def _limit_input(self, environ: dict[str, Any]) -> Any:
        """Bound the request body to Content-Length so that it can be drained afterwards."""
        if environ.get("wsgi.input_terminated"):
            return environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if not length:
            return None
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            return None
        if size < 0:
            self.close_connection = True
            return None
        stream = LimitedStream(self.rfile, size)
        environ["wsgi.input"] = stream
        return stream

    @staticmethod
    def _drain(stream: Any) -> bool:
        if stream is None:
            return True
        try:
            while stream.read(65536):
                pass
        except (OSError, ValueError, HTTPException):
            return False
        return True

    def _send(self, captured: list[Any], body: bytes) -> None:
        status, headers = captured if captured else ("500 Internal Server Error", [])
        code_text, _sep, reason = status.partition(" ")
        code = int(code_text)
        head = self.command == "HEAD"
        self.send_response(code, reason)
        declared = None
        for key, value in headers:
            lower = key.lower()
            if lower == "content-length":
                declared = value
            elif lower not in ("connection", "keep-alive", "transfer-encoding"):
                self.send_header(key, value)
        if not (100 <= code < 200 or code in (204, 304)):
            self.send_header("Content-Length", declared if head and declared is not None else str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version != "HTTP/1.1":
            self.send_header("Connection", "keep-alive")
        self._headers_buffer.append(b"\r\n")
        if body and not head and code not in (204, 304):
            self._headers_buffer.append(body)
        self.flush_headers()
