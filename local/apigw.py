"""A local HTTP endpoint that plays API Gateway (REST API, Lambda proxy integration with
binaryMediaTypes */*) in front of the ingest handler."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.lambda_runtime import Handler, invoke

# API Gateway REST APIs refuse payloads above 10 MB before the function sees them.
API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024


def proxy_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()} or None
    return {
        "resource": parts.path,  # the local endpoint routes every path to the function, like a {proxy+} resource
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": f"/local{parts.path}",
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {"sourceIp": source_ip},
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


class _Server(ThreadingHTTPServer):
    # API Gateway takes every connection a burst of senders opens; the socket module's default
    # backlog (5) reset some of 50 senders' connections once four webhooks were verified at once.
    request_queue_size = 128


class LocalApiGateway:
    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        routes: dict[str, tuple[str, Handler]] | None = None,
    ) -> None:
        self._handler = handler
        # Other resources of the same API: path -> (function name, handler), e.g. the bot endpoint.
        self._routes = dict(routes or {})
        gateway = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _dispatch(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > API_GATEWAY_MAX_PAYLOAD:
                    while length > 0:  # drain, so the client reads our answer instead of a reset
                        length -= len(self.rfile.read(min(length, 1 << 20)) or b"x" * length)
                    self._send(413, {"content-type": "application/json"}, b'{"message":"Request Too Long"}')
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
                status, out_headers, out_body = gateway.call(event)
                self._send(status, out_headers, out_body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "connection"}:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = do_PUT = do_DELETE = _dispatch

        self._server = _Server((host, port), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-apigw", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def call(self, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        function_name, handler = self._routes.get(str(event.get("path")), ("ingest", self._handler))
        try:
            result = invoke(handler, event, function_name=function_name, timeout_seconds=10)
        except Exception:  # noqa: BLE001 - API Gateway answers 502 when the integration fails
            return 502, {"content-type": "application/json"}, b'{"message":"Internal server error"}'
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name, ",".join(str(v) for v in values))
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        return int(result.get("statusCode", 502)), headers, body

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def json_body(data: bytes) -> Any:
    return json.loads(data) if data else None
