"""A small threaded WSGI server that keeps HTTP/1.1 connections open, for the fake platform.

The platform keeps a client's connection alive between calls, so a deployment pays for a TCP connection once, not
per message. werkzeug's development server answers every request with ``Connection: close`` (it cannot drain an
unread request body safely), so a fake served by it made each push open a connection, and start a server thread,
that production never pays for: tests and benches measured a cost that does not exist. This server reads each
request's body completely (by Content-Length, or chunked), answers with a Content-Length, and keeps the connection
for the next request until the client closes it, asks to, or leaves it idle for ``idle_timeout`` seconds.

Only what a JSON-and-media API needs: no streaming responses (a body is joined before it is sent), no
``Expect: 100-continue``, no upgrades. ``close_connections`` drops every open connection, so a stopped fake stops
answering at once instead of serving the clients that still hold a connection to it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote_to_bytes

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
MAX_BODY = 64 * 1024 * 1024  # far above the platform's largest upload (a 20 MB video)
_HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding"})


class BadRequest(Exception):
    """A request this server cannot read: answered 400, then the connection closes."""


class KeepAliveWSGIServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """One thread a connection; threads are daemons and ``server_close`` does not wait for them."""

    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog (socketserver's default of 5 drops bursts of new connections)
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, app: WSGIApp, *, idle_timeout: float = 30.0, log_requests: bool = False):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.idle_timeout = idle_timeout
        self.log_requests = log_requests
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on every client: their handler threads see the end of the stream and finish."""
        with self._open_lock:
            open_now, self._open = list(self._open), set()
        for sock in open_now:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # a client that hung up or timed out: nothing to report
        logger.exception("fake platform: error serving a request")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # an answer is one write; no reason to hold it back
    server: KeepAliveWSGIServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # an idle kept-alive connection ends after this

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client hung up, or sat idle past the timeout

    def _serve(self) -> None:
        """Every method goes to the WSGI app, which decides what it allows."""
        try:
            body = self._read_body()
        except BadRequest as exc:
            self.close_connection = True
            self._send("400 Bad Request", [("Content-Type", "text/plain")], str(exc).encode())
            return
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        chunks = self.server.app(self._environ(body), start_response)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = started
        self._send(status, headers, payload if self.command != "HEAD" else b"", length=len(payload))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise BadRequest("bad Content-Length")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionResetError("body cut short")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            size += chunk
            if chunk < 0 or size > MAX_BODY:
                raise BadRequest("body too large")
            if chunk == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(chunk))
            self.rfile.readline(1024)  # the CRLF after the chunk

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[f"HTTP_{name}"] = value
        return environ

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes, length: int | None = None) -> None:
        lines = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", "Server: whistle-fake-platform"]
        lines += [f"{key}: {value}" for key, value in headers if key.lower() not in _HOP_BY_HOP]
        lines.append(f"Content-Length: {len(payload) if length is None else length}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + payload)  # one write: headers and body leave together
        if self.server.log_requests:
            logger.info("%s %s -> %s", self.command, self.path.partition("?")[0], status.split(" ", 1)[0])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # What the base class answers on a request line or headers it cannot parse: plain text, then close.
        self.close_connection = True
        status = HTTPStatus(code)
        self._send(f"{code} {status.phrase}", [("Content-Type", "text/plain")], (message or status.phrase).encode())

    def log_message(self, format: str, *args: Any) -> None:
        # The base class would print to stderr, URLs (and their access tokens) included.
        logger.debug("fake platform: " + format, *args)
