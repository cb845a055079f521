"""A local stand-in for RealtimeKit: serves the webhook public key at the well-known path, the
meeting's files (with Range support, like the real storage), a few REST calls, and sends
signed webhooks. Dev tooling only; never imported by ``shared/`` or a Lambda."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from local.signing import WebhookSigner

WELL_KNOWN_PATH = "/.well-known/webhooks.json"
API_PREFIX = "/client/v4"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class HostedFile:
    data: bytes
    content_type: str
    available: bool = True  # False: answers 404, like a file RealtimeKit has deleted


@dataclass
class StandinRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


# A REST route answers (status, JSON document) or None when it does not handle the path.
RestRoute = Callable[[StandinRequest], tuple[int, Any] | None]


@dataclass
class StandinLog:
    requests: list[tuple[str, str]] = field(default_factory=list)
    # The query string of each request, same order as ``requests`` (what a list call filtered on).
    queries: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, query: str = "") -> None:
        with self.lock:
            self.requests.append((method, path))
            self.queries.append(query)


class RealtimeKitStandin:
    def __init__(self, signer: WebhookSigner, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.signer = signer
        self.files: dict[str, HostedFile] = {}
        self.rest_routes: list[RestRoute] = []
        self.log = StandinLog()
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _dispatch(self) -> None:
                path, _, query_string = self.path.partition("?")
                standin.log.add(self.command, path, query_string)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if path == WELL_KNOWN_PATH:
                    document = {
                        "success": True,
                        "data": {"publicKey": standin.signer.public_pem()},
                        "message": "",
                    }
                    self._json(200, document)
                elif path.startswith("/files/") and self.command in {"GET", "HEAD"}:
                    self._file(path.removeprefix("/files/"))
                elif path.startswith(API_PREFIX):
                    query = {k: v[-1] for k, v in parse_qs(query_string).items()}
                    request = StandinRequest(self.command, path, query, dict(self.headers.items()), body)
                    for route in standin.rest_routes:
                        answer = route(request)
                        if answer is not None:
                            self._json(*answer)
                            return
                    self._json(404, {"success": False, "error": {"code": 404, "message": "Not found"}})
                else:
                    self._json(404, {"success": False, "error": {"code": 404, "message": "Not found"}})

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

            def _json(self, status: int, document: Any) -> None:
                # None: an answer without a body (an API call documented as returning ``void``).
                data = b"" if document is None else json.dumps(document).encode()
                self.send_response(status)
                if document is not None:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _file(self, name: str) -> None:
                hosted = standin.files.get(name)
                if hosted is None or not hosted.available:
                    self._json(404, {"error": "NoSuchKey"})
                    return
                data, start, end, status = hosted.data, 0, len(hosted.data), 200
                match = _RANGE.match(self.headers.get("range", ""))
                if match and data:
                    first, last = match.groups()
                    start = int(first) if first else max(0, len(data) - int(last or 0))
                    end = min(len(data), int(last) + 1) if first and last else len(data)
                    status = 206
                self.send_response(status)
                self.send_header("content-type", hosted.content_type)
                self.send_header("accept-ranges", "bytes")
                self.send_header("content-length", str(end - start))
                if status == 206:
                    self.send_header("content-range", f"bytes {start}-{end - 1}/{len(data)}")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data[start:end])

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="realtimekit-standin", daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> RealtimeKitStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RealtimeKitStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what it serves -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def well_known_url(self) -> str:
        return f"{self.base_url}{WELL_KNOWN_PATH}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    def host_file(self, name: str, data: bytes, content_type: str) -> str:
        self.files[name] = HostedFile(data=data, content_type=content_type)
        return f"{self.base_url}/files/{name}"

    # -- webhooks ---------------------------------------------------------------------------
    def send_webhook(
        self, webhook_url: str, payload: dict[str, Any] | bytes, *, delivery_id: str | None = None
    ) -> tuple[int, bytes]:
        """POST a signed webhook like RealtimeKit does; returns (status, response body)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "rtk-signature": self.signer.sign(body),
            "rtk-uuid": delivery_id or str(uuid.uuid4()),
            "rtk-webhook-id": "local-webhook",
        }
        request = urllib.request.Request(webhook_url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local URL
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
