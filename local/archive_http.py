"""Serves the local archive bucket over HTTP, so a session page opens in a browser with its media
beside it: ``GET``/``HEAD`` of ``/{key}`` (a folder path serves its ``index.html``), ``Range``
requests answered with ``206`` (players seek by asking for byte ranges), ``/`` lists the session
pages. Read-only, loopback only."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import ClientError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PAGE = "index.html"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Players drop connections they no longer need (seeking): not worth a traceback."""


class ArchiveHttpServer:
    """``start()`` / ``stop()``; ``url_for(key)`` is the page or file's local URL."""

    def __init__(self, s3: Callable[[], Any], bucket: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._s3 = s3
        self.bucket = bucket
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_HEAD(self) -> None:
                server._serve(self, body=False)

            def do_GET(self) -> None:
                server._serve(self, body=True)

        self._httpd = _QuietServer((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url_for(self, key: str) -> str:
        return f"{self.base_url}/{quote(key)}"

    def start(self) -> ArchiveHttpServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="archive-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # -- requests ------------------------------------------------------------------------------
    def _serve(self, request: BaseHTTPRequestHandler, *, body: bool) -> None:
        path = unquote(urlsplit(request.path).path).lstrip("/")
        if not path:
            return self._listing(request, body=body)
        if path.endswith("/"):
            path += PAGE
        if ".." in path.split("/"):
            return self._plain(request, 400, "bad path", body=body)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": path}
        wanted = request.headers.get("Range")
        if wanted:
            match = _RANGE.match(wanted.strip())
            if not match or not any(match.groups()):
                return self._plain(request, 416, "unsupported range", body=body)
            kwargs["Range"] = wanted.strip()
        try:
            obj = self._s3().get_object(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                return self._plain(request, 404, f"no such object: {path}", body=body)
            if code == "InvalidRange":
                return self._plain(request, 416, "range not satisfiable", body=body)
            raise
        data: bytes = obj["Body"].read()
        status = 206 if wanted and obj.get("ContentRange") else 200
        request.send_response(status)
        request.send_header("Content-Type", obj.get("ContentType") or "application/octet-stream")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Accept-Ranges", "bytes")
        request.send_header("Cache-Control", "no-store")
        if status == 206:
            request.send_header("Content-Range", obj["ContentRange"])
        request.end_headers()
        if body:
            request.wfile.write(data)
        return None

    def _listing(self, request: BaseHTTPRequestHandler, *, body: bool) -> None:
        pages: list[str] = []
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            pages.extend(o["Key"] for o in page.get("Contents", []) if o["Key"].endswith("/" + PAGE))
        items = "".join(f'<li><a href="/{html.escape(quote(k))}">{html.escape(k)}</a></li>' for k in pages)
        text = (
            f"<!doctype html><meta charset=utf-8><title>Archive</title><h1>Session pages</h1><ul>{items}</ul>"
        )
        self._plain(request, 200, text, body=body, content_type="text/html; charset=utf-8")

    @staticmethod
    def _plain(
        request: BaseHTTPRequestHandler,
        status: int,
        text: str,
        *,
        body: bool,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        data = text.encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if body:
            request.wfile.write(data)
