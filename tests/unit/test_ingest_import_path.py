"""The webhook ingest path stays light: no REST SDK, no download or archive code, no X-Ray SDK, and
for a plainly valid body neither pydantic nor Powertools (their import and model building were most
of the cold start beyond boto3; bench/ingest.py measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from local.signing import WebhookSigner

REPO = Path(__file__).resolve().parents[2]
HEAVY = [
    "cloudflare",
    "httpx",
    "aws_xray_sdk",
    "shared.archive.transfer",
    "shared.archive.small_download",
    "shared.archive.recordings",
    "shared.archive.session_artifacts",
    "shared.session.recorder",
    "shared.normalize",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools",
    "pydantic",
    "shared.ingest.events",
    "shared.ingest.envelope",
    "shared.core.config",
]

PROBE = """
import base64, json, os, sys
import functions.ingest.handler as ingest
from shared import wiring
publisher = wiring.ingestor()._publisher
publisher.client.put_events = lambda **_: {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 512, "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
result = ingest.handler(json.loads(os.environ["FIRST_EVENT"]), Context())
print(json.dumps({"status": result["statusCode"], "loaded": [m for m in json.loads(os.environ["HEAVY"]) if m in sys.modules]}))
"""


def test_serving_a_webhook_loads_none_of_the_heavy_modules(signer: WebhookSigner) -> None:
    body = (REPO / "tests" / "events" / "recording_uploaded.json").read_bytes()
    event = {
        "httpMethod": "POST",
        "resource": "/webhooks/realtimekit",
        "path": "/webhooks/realtimekit",
        "headers": {"content-type": "application/json", "rtk-signature": signer.sign(body)},
        "body": __import__("base64").b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EVENT_BUS_NAME": "bus",
        "REALTIMEKIT_APP_IDS": "c94c437b-592a-4a39-b9e2-47ef1451e43b",  # the fixture's app id
        "WEBHOOK_PUBLIC_KEY_PEM": signer.public_pem(),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "FIRST_EVENT": json.dumps(event),
        "HEAVY": json.dumps(HEAVY),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"status": 202, "loaded": []}
