"""Hostile answers for the TEST DOUBLES, and a trap listener. Nothing here is a real service.

Each builder returns a handler for `HttpTestDouble.serve_next`, so any double (Poly Haven, the Hub, a plain
file server) can misbehave the way a hostile mirror would: redirect to an address it must not reach or to
`file://`, drip one byte at a time, send an endless body, announce or stream a huge JSON document.
`TrapListener` stands in for a disallowed address (another loopback address such as 127.0.0.2): it only
counts the connections it accepts, which the tests assert stay at zero.
"""

from __future__ import annotations

import functools
import socket
import threading
import zlib
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from tests.doubles import Handler, HttpTestDouble, Request, Response

MiB = 1024 * 1024


def redirect(location: str, status: int = 302) -> Handler:
    def handler(request: Request) -> Response:
        return Response(status, {"Location": location}, b"")

    return handler


def drip(double: HttpTestDouble, *, every_s: float = 2.0, total: int = 1000) -> Handler:
    """One byte every `every_s` seconds, under an honest Content-Length of `total` bytes."""

    def chunks() -> Iterator[bytes]:
        for _ in range(total):
            yield b"x"
            if double.stopping.wait(every_s):
                return

    def handler(request: Request) -> Response:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(total)}
        return Response(200, headers, chunks=chunks())

    return handler


def endless(double: HttpTestDouble, *, content_type: str = "application/octet-stream") -> Handler:
    """A chunked body that never ends (until the client hangs up or the double stops)."""

    def chunks() -> Iterator[bytes]:
        block = b"\0" * (64 * 1024)
        while not double.stopping.is_set():
            yield block

    def handler(request: Request) -> Response:
        return Response(200, {"Content-Type": content_type}, chunks=chunks())

    return handler


def huge_json(size: int, *, announce: bool) -> Handler:
    """A valid JSON object of `size` bytes, streamed; with `announce` its Content-Length says so up front."""
    head, tail = b'{"padding": "', b'"}'
    block = b"x" * MiB

    def chunks() -> Iterator[bytes]:
        yield head
        left = size - len(head) - len(tail)
        while left > 0:
            piece = block[: min(left, MiB)]
            left -= len(piece)
            yield piece
        yield tail

    def handler(request: Request) -> Response:
        headers = {"Content-Type": "application/json"}
        if announce:
            headers["Content-Length"] = str(size)
        return Response(200, headers, chunks=chunks())

    return handler


@functools.cache
def gzip_bomb(decompressed: int = 512 * MiB) -> bytes:
    """A gzip file of zeros that inflates to `decompressed` bytes (about 0.1% of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * MiB
    parts = [packer.compress(zeros) for _ in range(decompressed // MiB)]
    parts.append(packer.flush())
    return b"".join(parts)


class TrapListener:
    """A TCP listener on a disallowed address that accepts, counts and drops connections."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="trap-listener", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FileServerTestDouble(HttpTestDouble):
    """A TEST DOUBLE of a plain web server holding one combinations file at /combinations.json."""

    server_name = "file-server-test-double"

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body
        self.route("GET", r"/combinations\.json", self._file)

    def _file(self, request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, self.body)
