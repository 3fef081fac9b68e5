"""The guarded HTTP transport: every request made inside a `fetch_scope` obeys that scope's policy.

Checks, in the order a request meets them:
- the URL (every redirect hop is a new request through here): http/https only, a configured host;
- credentials (Authorization, cookies) only to the configured endpoint's origin;
- at connect time, the resolved addresses: internal ranges refused unless the endpoint lives there; the
  socket connects to an address that was checked (no second lookup an attacker could answer differently);
- on the answer: the peer address again (kept-alive connections), identity encoding only (no decompression
  bombs), a body cap (the advertised length when smaller), and a total deadline on every read and write.

Requests made outside any scope (e.g. publishing with huggingface_hub, which shares this client) pass through
unchanged. The transport speaks httpx2 because huggingface_hub does, so one transport serves both.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2

from simian.net.errors import DeadlineExceeded, FetchRefused, ResponseTooLarge
from simian.net.policy import NetworkPolicy, resolve
from simian.net.redact import redact_url
from simian.retry import Deadline

MAX_REDIRECTS = 5
ERROR_BODY_MAX_BYTES = 1024 * 1024
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


@dataclass(frozen=True)
class FetchScope:
    """What governs the requests of one fetch: the source's policy, its deadline and a cap per answer."""

    policy: NetworkPolicy
    deadline: Deadline
    max_bytes: int
    cap_name: str  # what set `max_bytes`, for messages (e.g. "SIMIAN_JSON_MAX_BYTES")

    def remaining(self) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(
                f"the download deadline of {self.deadline.seconds:g} s (SIMIAN_DOWNLOAD_DEADLINE_S) passed"
            )
        return remaining


_scope: ContextVar[FetchScope | None] = ContextVar("simian_fetch_scope", default=None)


@contextlib.contextmanager
def fetch_scope(scope: FetchScope) -> Iterator[FetchScope]:
    """Requests made by this thread inside the block obey `scope`."""
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> FetchScope | None:
    return _scope.get()


def _bounded(timeout: float | None, scope: FetchScope | None) -> float | None:
    if scope is None:
        return timeout
    remaining = scope.remaining()
    return remaining if timeout is None else min(timeout, remaining)


class _GuardedStream(httpcore2.NetworkStream):
    """A connection whose reads and writes never wait past the scope's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        scope = _scope.get()
        try:
            return self._inner.read(max_bytes, _bounded(timeout, scope))
        except httpcore2.ReadTimeout:
            if scope is not None:
                scope.remaining()  # raises DeadlineExceeded when that is why the read gave up
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        scope = _scope.get()
        try:
            self._inner.write(buffer, _bounded(timeout, scope))
        except httpcore2.WriteTimeout:
            if scope is not None:
                scope.remaining()
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, _scope.get()))
        return _GuardedStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore2.NetworkBackend):
    """Resolves, checks the addresses against the scope's policy, then connects to a checked address."""

    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        scope = _scope.get()
        if scope is None:
            return _GuardedStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from exc
        last_error: Exception | None = None
        for address in scope.policy.check_addresses(host, addresses):
            try:
                stream = self._inner.connect_tcp(
                    str(address), port, _bounded(timeout, scope), local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _GuardedStream(stream)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore2.ConnectError("unix sockets are not used by Simian")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore2 -> httpx2 exception types, most specific first (as httpx2's own transport maps them).
_ERRORS: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.ProxyError, httpx2.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__) from exc
        raise


class _CappedBody(httpx2.SyncByteStream):
    """The raw body, counted against the scope's cap as it arrives."""

    def __init__(self, inner: Iterable[bytes], scope: FetchScope | None, url: str, limit: int | None) -> None:
        self._inner = inner
        self._scope = scope
        self._url = url
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        with _httpx_errors():
            for chunk in self._inner:
                received += len(chunk)
                if self._limit is not None and received > self._limit:
                    assert self._scope is not None
                    raise ResponseTooLarge(
                        f"{self._scope.policy.source}: the answer from {redact_url(self._url)} is larger than "
                        f"{self._limit} bytes ({self._scope.cap_name}); refused"
                    )
                yield chunk

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx2.BaseTransport):
    """An httpx2 transport that enforces the current `FetchScope` (see the module docstring)."""

    def __init__(self, *, verify: bool = True) -> None:
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(verify=verify),
            network_backend=_GuardedBackend(),
            max_connections=32,
            max_keepalive_connections=8,
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        scope = _scope.get()
        url = str(request.url)
        if scope is not None:
            scope.policy.check_url(url)
            scope.remaining()
            if not scope.policy.credentials_allowed(url):
                for name in _CREDENTIAL_HEADERS:
                    request.headers.pop(name, None)
            request.headers["Accept-Encoding"] = "identity"
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = self._pool.handle_request(core_request)
        try:
            limit = self._check_answer(scope, url, core_response) if scope is not None else None
        except BaseException:
            core_response.close()
            raise
        return httpx2.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_CappedBody(core_response.stream, scope, url, limit),  # type: ignore[arg-type]
            extensions=core_response.extensions,
        )

    @staticmethod
    def _check_answer(scope: FetchScope, url: str, response: httpcore2.Response) -> int:
        """Refuse an answer from an unchecked peer, a compressed one, or one announced above the cap."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
            host = httpx2.URL(url).host
            scope.policy.check_addresses(host, [address])
        headers = httpx2.Headers(response.headers)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchRefused(
                f"{scope.policy.source}: {redact_url(url)} answered with Content-Encoding {encoding!r} although "
                "identity was asked; compressed answers are refused"
            )
        if not 200 <= response.status < 300:
            return min(scope.max_bytes, ERROR_BODY_MAX_BYTES)  # an error page: read for its message only
        try:
            declared = int(headers["content-length"])
        except (KeyError, ValueError):
            return scope.max_bytes
        if declared > scope.max_bytes:
            raise ResponseTooLarge(
                f"{scope.policy.source}: {redact_url(url)} announces {declared} bytes, more than the {scope.max_bytes} "
                f"allowed ({scope.cap_name}); refused"
            )
        return declared

    def close(self) -> None:
        self._pool.close()


def _refuse_bad_redirect(response: httpx2.Response) -> None:
    """A response hook: a redirect's target is checked before it is followed (or reported to the caller)."""
    scope = _scope.get()
    if scope is None or not response.has_redirect_location:
        return
    location = response.headers["Location"]
    try:
        target = str(response.url.join(location))
    except httpx2.InvalidURL:
        raise FetchRefused(
            f"{scope.policy.source}: {redact_url(str(response.url))} redirected to an invalid URL; refused"
        ) from None
    scope.policy.check_url(target, reached_from=str(response.url))


def guarded_client(
    *,
    timeout: httpx2.Timeout | float | None = None,
    headers: dict[str, str] | None = None,
    request_hooks: Iterable[Any] = (),
    response_hooks: Iterable[Any] = (),
) -> httpx2.Client:
    """An httpx2 client on the guarded transport; redirects are followed (each hop re-checked)."""
    return httpx2.Client(
        transport=GuardedTransport(),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        headers=headers,
        trust_env=False,
        event_hooks={"request": list(request_hooks), "response": [_refuse_bad_redirect, *response_hooks]},
    )
