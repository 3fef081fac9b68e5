"""Test doubles: local stand-ins for the remote services Simian talks to.

Nothing here is the real service. Each double is a small threaded HTTP server on 127.0.0.1 that speaks
just enough of a service's protocol for the real client code to run against it, so tests exercise real
HTTP (timeouts, retries, caching) without the network.

This module holds the shared plumbing: a routing table, a request log, fault injection (`fail_next`,
`stall_next`) and one-off answers (`serve_next`, e.g. the hostile ones of `tests.doubles.hostile`); a response
may stream its body (`Response.chunks`). Concrete doubles live in `tests.doubles.hub` and
`tests.doubles.polyhaven`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)


@dataclass
class Request:
    """One request as the double saw it; `params` holds the named groups of the matched route."""

    method: str
    path: str  # percent-decoded, for logs and assertions
    raw_path: str  # as sent; routes match on this so an encoded "/" (e.g. in a revision) stays one segment
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """What a route handler returns; the server adds Content-Length and drops the body for HEAD.

    With `chunks`, the body is streamed as the iterable yields (and `body` is ignored): with a declared
    Content-Length header as is, otherwise chunked. The stream stops when the client hangs up or the double stops.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Iterable[bytes] | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(payload).encode(),
        )


Handler = Callable[[Request], Response]


@dataclass
class Route:
    """One row of a double's routing table: methods, a path regex with named groups, a handler."""

    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    name: str


@dataclass
class _Fault:
    kind: str  # "fail", "stall" or "serve"
    remaining: int
    path_contains: str
    method: str | None
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    handler: Handler | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.path_contains in path and (self.method is None or self.method == method)


class HttpTestDouble:
    """Base class of the HTTP test doubles (not a real service).

    Subclasses call `self.route(...)` in `__init__` to build their routing table. Routes are tried in
    order; the first whose method and regex match handles the request. Unmatched requests get 404.
    """

    __test__ = False  # not a pytest test class
    server_name = "test-double"

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._faults: list[_Fault] = []
        self._log: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing ---------------------------------------------------------------------------------

    def route(self, methods: str | tuple[str, ...], pattern: str, handler: Handler, name: str = "") -> None:
        """Add a row to the routing table; `pattern` must match the whole raw (still quoted) path.

        Named groups become `request.params`, percent-decoded.
        """
        if isinstance(methods, str):
            methods = (methods,)
        self._routes.append(Route(methods, re.compile(pattern), handler, name or handler.__name__))

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        """Listen on 127.0.0.1 (on `port`, or a free one), serving from a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler_class(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.server_name}-server",
            daemon=True,
        )
        self._thread.start()
        logger.debug("%s listening on %s", type(self).__name__, self.url)
        return self

    def stop(self) -> None:
        """Stop serving; wakes any stalled handlers so they exit promptly."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- observation -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request seen, in arrival order (faulted ones included)."""
        with self._lock:
            return [(r.method, r.path) for r in self._log]

    @property
    def request_log(self) -> list[Request]:
        """Full records (headers included) of every request seen."""
        with self._lock:
            return list(self._log)

    def count(self, method: str, path_contains: str = "") -> int:
        """How many `method` requests had `path_contains` in their path."""
        return sum(1 for m, p in self.requests if m == method and path_contains in p)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # -- fault injection -------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        path_contains: str = "",
        *,
        method: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` instead of handling them."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
        with self._lock:
            self._faults.append(_Fault("fail", count, path_contains, method, status=status, headers=extra))

    def stall_next(self, seconds: float, count: int = 1, path_contains: str = "", *, method: str | None = None) -> None:
        """Hold the next `count` matching requests for `seconds` before answering them normally."""
        with self._lock:
            self._faults.append(_Fault("stall", count, path_contains, method, seconds=seconds))

    def serve_next(
        self, handler: Handler, count: int = 1, path_contains: str = "", *, method: str | None = None
    ) -> None:
        """Answer the next `count` matching requests with `handler` instead of the routing table."""
        with self._lock:
            self._faults.append(_Fault("serve", count, path_contains, method, handler=handler))

    @property
    def stopping(self) -> threading.Event:
        """Set while the double shuts down; streaming handlers stop when it is."""
        return self._stopping

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- dispatch (called from server threads) ---------------------------------------------------

    def _take_faults(self, method: str, path: str) -> tuple[_Fault | None, float]:
        """Consume at most one matching fail and the stall time of matching stalls."""
        failure: _Fault | None = None
        stall = 0.0
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.kind == "stall":
                    fault.remaining -= 1
                    stall = max(stall, fault.seconds)
                elif failure is None:  # "fail" or "serve"
                    fault.remaining -= 1
                    failure = fault
            self._faults = [f for f in self._faults if f.remaining > 0]
        return failure, stall

    def _dispatch(self, request: Request) -> Response | None:
        """Route a request; None means the double is stopping and the connection should just drop."""
        with self._lock:
            self._log.append(request)
        failure, stall = self._take_faults(request.method, request.path)
        if stall and self._stopping.wait(stall):
            return None
        if failure is not None and failure.handler is not None:
            return failure.handler(request)
        if failure is not None:
            return self.fault_response(request, failure.status, failure.headers)
        for route in self._routes:
            if request.method not in route.methods:
                continue
            match = route.pattern.fullmatch(request.raw_path)
            if match is None:
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            try:
                return route.handler(request)
            except Exception:  # a bug in the double: answer 500 so the test shows it
                logger.exception("%s route %s crashed", type(self).__name__, route.name)
                return Response.json({"error": "test double crashed"}, status=500)
        return self.not_found(request)

    def fault_response(self, request: Request, status: int, headers: dict[str, str]) -> Response:
        """The response for an injected failure; subclasses may add protocol-specific headers."""
        return Response.json({"error": f"injected fault: HTTP {status}"}, status=status, headers=headers)

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": f"no route for {request.method} {request.path}"}, status=404)


def _make_handler_class(double: HttpTestDouble) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real clients expect; needs Content-Length always
        server_version = double.server_name
        timeout = 30  # idle keep-alive connections do not pin threads forever

        def _handle(self) -> None:
            split = urlsplit(self.path)
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = _read_chunked(self.rfile)  # streamed uploads (e.g. a file object of unknown length)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=unquote(split.path),
                raw_path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response = double._dispatch(request)
            if response is None:
                self.close_connection = True
                return
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                declared = response.headers.get("Content-Length")
                if response.chunks is not None:
                    self._send_stream(response, declared)
                    return
                self.send_header("Content-Length", declared or str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. its timeout fired)

        def _send_stream(self, response: Response, declared: str | None) -> None:
            assert response.chunks is not None
            if declared is not None:
                self.send_header("Content-Length", declared)
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.close_connection = True  # whatever the stream does, this connection is not reused
            if self.command == "HEAD":
                return
            for chunk in response.chunks:
                if double.stopping.is_set():
                    return
                if not chunk:
                    continue
                if declared is None:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                self.wfile.flush()
            if declared is None:
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            logger.debug("%s: " + format, double.server_name, *args)

    return _Handler


def _read_chunked(rfile: Any) -> bytes:
    """Decode an HTTP/1.1 `Transfer-Encoding: chunked` request body (trailers are read and dropped)."""
    parts: list[bytes] = []
    while True:
        size_line = rfile.readline(65537)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline(65537)  # the CRLF after each chunk
