"""The server's front door: a request must arrive whole, in time, before a thread is spent on it.

A thread per connection lets slow clients win: each one dribbling its headers (or its body) a
byte at a time holds a thread, and a few hundred of them starve everyone. Here one thread
watches every new connection (a selector) until its whole request is in: headers within
`HEADER_SECONDS` of connecting and `MAX_HEADER` bytes, then the body its Content-Length
announces, never silent for `HEADER_SECONDS` and complete within `REQUEST_SECONDS` of
connecting. Only then does one of `WORKERS` threads answer it, so slow clients hold no thread.
Clients too slow with their headers are dropped, too slow with their body get a 408, oversized
headers a 431. (Past `MAX_BUFFERED` bytes held for bodies, the next request is handed on as it
is, and its worker reads the rest under the same deadline.)
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import orjson

HEADER_SECONDS = 10.0
"""A client has this long from connecting to send its request line and headers."""
MAX_HEADER = 64 * 1024
"""Request line and headers larger than this are refused (431)."""
WORKERS = 16
"""Threads that answer complete requests (reading a picture is bounded apart: BUSY_READINGS)."""
REQUEST_SECONDS = 30.0
"""A whole request, body included, must arrive within this time of connecting."""
MAX_BUFFERED = 256 << 20
"""Bytes of request bodies the gate holds at once, across all connections."""
MAX_WAITING = 1024
"""Connections whose headers are still arriving; beyond this the oldest is dropped."""

Answer = Callable[[socket.socket, tuple[str, int], bytes, float], None]
"""What a worker does with a connection whose headers arrived: `(sock, address, head, since)`."""


@dataclass
class _Waiting:
    sock: socket.socket
    address: tuple[str, int]
    since: float
    head: bytearray = field(default_factory=bytearray)
    need: int = 0  # bytes of the whole request, once its headers are in (0: not yet)
    last: float = 0.0  # when the client last sent anything
    counted: int = 0  # bytes of body held, counted in the gate's total


class Gate:
    """Admits connections, waits for their headers in one thread, hands them to `WORKERS`."""

    def __init__(
        self,
        answer: Answer,
        refuse: Callable[[socket.socket, int, str], None],
        header_seconds: float = HEADER_SECONDS,
        max_body: int = 8 << 20,
    ) -> None:
        self._answer, self._refuse, self._seconds = answer, refuse, header_seconds
        self._max_body, self._buffered = max_body, 0
        self._selector = selectors.DefaultSelector()
        self._new: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._waiting: dict[socket.socket, _Waiting] = {}
        self._threads = [threading.Thread(target=self._watch, daemon=True, name="gate")]
        self._threads += [
            threading.Thread(target=self._work, daemon=True, name=f"worker-{i}")
            for i in range(WORKERS)
        ]
        for thread in self._threads:
            thread.start()

    def admit(self, sock: socket.socket, address: tuple[str, int]) -> None:
        """Take a new connection (from the accepting thread); its headers are awaited."""
        now = time.monotonic()
        self._new.put(_Waiting(sock, address, now, last=now))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def close(self) -> None:
        """Stop watching and working; drop connections still waiting."""
        self._new.put(None)
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        for _ in range(WORKERS):
            self._ready.put(None)

    # --- the watcher ------------------------------------------------------------------------

    def _watch(self) -> None:
        while True:
            if not self._take_new():
                break
            timeout = 0.25 if self._waiting else None  # deadlines are checked at least this often
            for key, _ in self._selector.select(timeout):
                if key.fileobj is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._read(self._waiting[key.fileobj])  # type: ignore[index]
            self._expire(time.monotonic())
        for waiting in list(self._waiting.values()):
            self._drop(waiting)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _take_new(self) -> bool:
        """Register the connections admitted since last time; False once closing."""
        while True:
            try:
                waiting = self._new.get_nowait()
            except queue.Empty:
                return True
            if waiting is None:
                return False
            if len(self._waiting) >= MAX_WAITING:
                self._drop(min(self._waiting.values(), key=lambda w: w.since))
            waiting.sock.setblocking(False)
            self._waiting[waiting.sock] = waiting
            self._selector.register(waiting.sock, selectors.EVENT_READ)

    def _read(self, waiting: _Waiting) -> None:
        have = len(waiting.head)
        want = waiting.need - have if waiting.need else MAX_HEADER + 1 - have
        try:
            chunk = waiting.sock.recv(min(want, 1 << 16))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client is done sending: a short body is the worker's to refuse
            if waiting.need:
                self._pass_on(waiting)
            else:
                self._drop(waiting)
            return
        waiting.head += chunk
        waiting.last = time.monotonic()
        if waiting.need:
            self._hold(waiting, len(chunk))
        else:
            end = _header_end(waiting.head)
            if end < 0:
                if len(waiting.head) > MAX_HEADER:
                    self._forget(waiting)
                    self._refuse(waiting.sock, 431, f"request headers over {MAX_HEADER:,} bytes")
                return
            waiting.need = end + _body_length(bytes(waiting.head[:end]), self._max_body)
            self._hold(waiting, len(waiting.head) - end)
        if len(waiting.head) >= waiting.need or self._buffered > MAX_BUFFERED:
            self._pass_on(waiting)

    def _pass_on(self, waiting: _Waiting) -> None:
        """To a worker: the request is in (or is all the client will send)."""
        self._forget(waiting)
        waiting.sock.setblocking(True)
        self._ready.put(waiting)

    def _expire(self, now: float) -> None:
        """Headers still incomplete at their deadline: closed, unanswered; a body too slow: 408."""
        for waiting in list(self._waiting.values()):
            if not waiting.need and now - waiting.since > self._seconds:
                self._drop(waiting)
            elif waiting.need and (
                now - waiting.last > self._seconds or now - waiting.since > REQUEST_SECONDS
            ):
                self._forget(waiting)
                self._refuse(waiting.sock, 408, "the body arrived too slowly")

    def _forget(self, waiting: _Waiting) -> None:
        self._selector.unregister(waiting.sock)
        del self._waiting[waiting.sock]
        self._buffered -= waiting.counted

    def _hold(self, waiting: _Waiting, size: int) -> None:
        waiting.counted += size
        self._buffered += size

    def _drop(self, waiting: _Waiting) -> None:
        self._forget(waiting)
        waiting.sock.close()

    # --- the workers ------------------------------------------------------------------------

    def _work(self) -> None:
        while (waiting := self._ready.get()) is not None:
            self._answer(waiting.sock, waiting.address, bytes(waiting.head), waiting.since)


def _header_end(head: bytearray) -> int:
    """Where the headers end (just past their blank line), or -1 while they have not."""
    for blank in (b"\r\n\r\n", b"\n\n"):
        at = head.find(blank)
        if at >= 0:
            return at + len(blank)
    return -1


_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]{1,15})[ \t]*\r?$", re.I | re.M)


def _body_length(headers: bytes, max_body: int) -> int:
    """The body to wait for: one well-formed Content-Length within `max_body`, else none (the
    worker then answers the request as it stands: 411, 400 or 413)."""
    found = _LENGTH.findall(headers)
    if len(found) != 1 or headers.lower().count(b"content-length") != 1:
        return 0
    length = int(found[0])
    return length if length <= max_body else 0


class Replay(io.RawIOBase):
    """A socket's byte stream with the bytes already read (`head`) put back in front."""

    def __init__(self, head: bytes, sock: socket.socket) -> None:
        super().__init__()
        self._head, self._sock = memoryview(head), sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._sock.recv_into(buffer)


def refuse(sock: socket.socket, status: int, message: str) -> None:
    """Answer a connection the gate will not pass on (a short JSON error), then close it.

    What the client still sends is read and dropped for a moment first: closing a socket
    with unread data resets it, and the client would lose the answer.
    """
    body = orjson.dumps({"error": message})
    head = (
        f"HTTP/1.0 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        sock.settimeout(0.5)
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and sock.recv(1 << 16):
            pass
    sock.close()
