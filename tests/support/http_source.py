"""A local HTTP file server on 127.0.0.1 with fault injection, standing in for RealtimeKit's storage.

    with HttpSource() as source:
        url = source.serve("/rec.mp4", data)                      # plain 200, ranges on
        url = source.serve("/flaky.mp4", data, drop_after=1000)   # connection cut once after 1000 bytes
        url = source.serve("/busy.mp4", data, fail_first=2)       # 500 twice, then the file
        url = source.serve("/page", b"<!DOCTYPE html>...", content_type="text/html")
        url = source.redirect("/r", "http://10.0.0.1/x")          # 302 to anywhere
        source.hits("/flaky.mp4"), source.requests                # what the client asked for

Bodies are ``bytes`` or a ``Path`` (large files are sent with sendfile when no fault applies).
Faults per resource (see :class:`Resource`): ranges on/off, connection drop (close or TCP reset) after
N bytes for the first K responses, an error status for the first N requests, a fixed status (403,
404, 410: an expired URL), throttled bandwidth, chunked encoding instead of Content-Length.

Also runnable on its own (used by the benchmark, so the server is not in the measured process):
``python -m tests.support.http_source --root DIR [--port 0]`` prints ``PORT <n>`` and serves DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


@dataclass
class Resource:
    body: bytes | Path
    content_type: str | None = "video/mp4"
    ranges: bool = True  # advertise Accept-Ranges and answer Range with 206
    content_length: bool = True  # False: Transfer-Encoding: chunked
    drop_after: int | None = None  # cut the connection after this many body bytes ...
    drops: int = 1  # ... in this many responses (then serve normally)
    reset: bool = False  # cut with a TCP reset instead of a clean close
    fail_first: int = 0  # answer fail_status to the first N requests
    fail_status: int = 500
    status: int = 200  # a fixed status instead of the file (403/404/410: expired URL)
    bytes_per_second: float | None = None  # throttle the body
    etag: str | None = None  # default: derived from the content
    extra_headers: dict[str, str] = field(default_factory=dict)
    # counters (the server updates them)
    requests: int = 0
    dropped: int = 0

    @property
    def size(self) -> int:
        return self.body.stat().st_size if isinstance(self.body, Path) else len(self.body)


@dataclass(frozen=True)
class RequestLog:
    path: str
    range: str | None
    if_range: str | None
    host: str | None


class HttpSource:
    """Threaded HTTP/1.1 server on 127.0.0.1 serving registered resources and redirects."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._resources: dict[str, Resource] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.requests: list[RequestLog] = []
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> HttpSource:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-source", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # configuration
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve(self, path: str, body: bytes | Path, **options: object) -> str:
        """Register ``body`` at ``path`` with the given :class:`Resource` options; returns its URL."""
        with self._lock:
            self._resources[path] = Resource(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def resource(self, path: str) -> Resource:
        return self._resources[path]

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        with self._lock:
            self._redirects[path] = (location, status)
        return self.url(path)

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    # used by the handler
    def _lookup(self, path: str) -> tuple[Resource | None, tuple[str, int] | None]:
        with self._lock:
            return self._resources.get(path), self._redirects.get(path)


def _etag(resource: Resource) -> str:
    if resource.etag:
        return resource.etag
    if isinstance(resource.body, Path):
        stat = resource.body.stat()
        return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    return '"' + hashlib.sha256(resource.body).hexdigest()[:32] + '"'


def _make_handler(source: HttpSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with source._lock:
                source.requests.append(
                    RequestLog(
                        path,
                        self.headers.get("Range"),
                        self.headers.get("If-Range"),
                        self.headers.get("Host"),
                    )
                )
            resource, redirect = source._lookup(path)
            if redirect is not None:
                self._empty(redirect[1], {"Location": redirect[0]})
                return
            if resource is None:
                self._empty(404)
                return
            with source._lock:
                resource.requests += 1
                attempt = resource.requests
                drop = resource.drop_after is not None and resource.dropped < resource.drops
                if drop:
                    resource.dropped += 1
            if attempt <= resource.fail_first:
                self._empty(resource.fail_status, {"Content-Type": "text/plain"}, b"server error\n")
                return
            if resource.status != 200:
                self._empty(resource.status, {"Content-Type": "application/xml"}, b"<Error>expired</Error>")
                return
            self._send_file(resource, resource.drop_after if drop else None)

        def _empty(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_file(self, resource: Resource, drop_after: int | None) -> None:
            size = resource.size
            etag = _etag(resource)
            start, end, status = 0, size, 200
            wanted = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if resource.ranges and wanted and (if_range is None or if_range == etag):
                match = _RANGE.match(wanted.strip())
                if match and (match.group(1) or match.group(2)):
                    if match.group(1):
                        start = int(match.group(1))
                        end = min(size, int(match.group(2)) + 1) if match.group(2) else size
                    else:  # suffix range: the last N bytes
                        start = max(0, size - int(match.group(2)))
                    if start >= size or start >= end:
                        self._empty(416, {"Content-Range": f"bytes */{size}"})
                        return
                    status = 206
            self.send_response(status)
            if resource.content_type:
                self.send_header("Content-Type", resource.content_type)
            if resource.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            for name, value in resource.extra_headers.items():
                self.send_header(name, value)
            chunked = not resource.content_length
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(end - start))
            self.end_headers()
            self.wfile.flush()
            self._send_body(resource, start, end, drop_after, chunked)

        def _send_body(
            self, resource: Resource, start: int, end: int, drop_after: int | None, chunked: bool
        ) -> None:
            limit = end if drop_after is None else min(end, start + drop_after)
            fast = isinstance(resource.body, Path) and not chunked and resource.bytes_per_second is None
            try:
                if fast:
                    assert isinstance(resource.body, Path)
                    with resource.body.open("rb") as file:
                        self.connection.sendfile(file, start, limit - start)
                else:
                    self._write_chunks(resource, start, limit, chunked)
                if limit < end:
                    self._cut(resource.reset)
                elif chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _write_chunks(self, resource: Resource, start: int, limit: int, chunked: bool) -> None:
            file = resource.body.open("rb") if isinstance(resource.body, Path) else None
            view = memoryview(resource.body) if isinstance(resource.body, bytes) else None
            try:
                position = start
                if file is not None:
                    file.seek(start)
                while position < limit:
                    count = min(_CHUNK, limit - position)
                    data = file.read(count) if file is not None else view[position : position + count]  # type: ignore[index]
                    if chunked:
                        self.wfile.write(f"{len(data):x}\r\n".encode() + bytes(data) + b"\r\n")
                    else:
                        self.wfile.write(data)
                    position += len(data)
                    if resource.bytes_per_second:
                        time.sleep(len(data) / resource.bytes_per_second)
                self.wfile.flush()
            finally:
                if file is not None:
                    file.close()

        def _cut(self, reset: bool) -> None:
            self.wfile.flush()
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    return Handler


def _serve_directory(root: Path, port: int) -> None:
    source = HttpSource(port=port)
    for path in sorted(root.iterdir()):
        if path.is_file():
            source.serve("/" + path.name, path, content_type="video/mp4")
    print(f"PORT {source.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        source._server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, required=True, help="serve every file in this directory")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    _serve_directory(args.root, args.port)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main(sys.argv[1:])
