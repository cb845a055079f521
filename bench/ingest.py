"""Ingest benchmark: cold import of the webhook function and CPU per verified event.

Both are printed next to a baseline measured in the same run:
- cold start: importing our ingest handler and serving its first webhook (settings, public key,
  EventBridge client, verify, parse; PutEvents answered in-process) vs. a handler that only imports
  boto3 and creates its client.
  Each sample is a fresh interpreter. Target: ratio <= 1.3.
- CPU per event: verify (RSA-2048) + parse + build the bus detail, publisher stubbed out.
  Target: < 0.5 ms. Printed next to the bare RSA verify, the floor of any correct receiver.

Usage: python -m bench.ingest [--runs 9] [--events 2000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

FLOOR = """
import time
t = time.perf_counter()
import boto3
boto3.client("events")
print(time.perf_counter() - t)
"""

# Import, build what the first request needs (settings, key, EventBridge client) and serve one
# signed webhook with PutEvents answered in-process: everything a cold start does but the network.
OURS = """
import json, os, time
t = time.perf_counter()
import functions.ingest.handler as ingest
from shared import wiring
publisher = wiring.ingestor()._publisher
publisher.client.put_events = lambda **_: {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 512, "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
event = json.loads(os.environ["BENCH_FIRST_EVENT"])
assert ingest.handler(event, Context())["statusCode"] == 202
print(time.perf_counter() - t)
"""


def cold_start_seconds(code: str, runs: int, env: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return samples


def cpu_per_event(events: int, pem: str, signer: object) -> tuple[float, float]:
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: F401 - loaded before timing

    from shared.ingest.ack import WebhookIngestor, WebhookRequest
    from shared.ingest.signature import (
        SignatureVerifier,
        StaticPublicKey,
        is_valid_signature,
        signature_from_headers,
    )
    from shared.ingest.tenancy import AppBinding

    class NullPublisher:
        def entry(self, detail: Any) -> dict[str, Any]:
            return {"Source": "realtimekit", "DetailType": detail.detail_type, "Detail": detail.to_json()}

        def put(self, entry: dict[str, Any]) -> str:
            return "event-id"

    class Quiet:
        def warning(self, message: str, **fields: Any) -> None:
            pass

        def count(self, name: str, value: float = 1) -> None:
            pass

    ingestor = WebhookIngestor(
        verifier=SignatureVerifier(StaticPublicKey(pem)),
        publisher=NullPublisher(),
        max_body_bytes=65536,
        binding=AppBinding(("c94c437b-592a-4a39-b9e2-47ef1451e43b",), None, Quiet()),
    )
    bodies = sorted((REPO / "tests" / "events").glob("*.json"))
    requests = []
    for path in bodies:
        body = path.read_bytes()
        headers = {"content-type": "application/json", "rtk-signature": signer.sign(body), "rtk-uuid": "d"}  # type: ignore[attr-defined]
        requests.append(WebhookRequest(body=body, headers=headers, received_at=datetime.now(UTC)))
    for request in requests:  # warm-up
        ingestor.accept(request)
    start = time.process_time()
    for i in range(events):
        ingestor.accept(requests[i % len(requests)])
    ours = (time.process_time() - start) / events

    key = StaticPublicKey(pem).get()
    signed = [(r.body, signature_from_headers(r.headers)[1]) for r in requests]
    start = time.process_time()
    for i in range(events):
        body, signature = signed[i % len(signed)]
        is_valid_signature(key, body, signature)
    floor = (time.process_time() - start) / events
    return ours, floor


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per cold-start sample set")
    parser.add_argument("--events", type=int, default=2000, help="events in the CPU loop")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from local.signing import WebhookSigner

    signer = WebhookSigner.generate()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "EVENT_BUS_NAME": "bench-bus",
        "REALTIMEKIT_APP_IDS": "c94c437b-592a-4a39-b9e2-47ef1451e43b",  # the first event's app id
        "WEBHOOK_PUBLIC_KEY_PEM": signer.public_pem(),
        "POWERTOOLS_SERVICE_NAME": "bench",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as the stack sets it for every function
    }
    first = (REPO / "tests" / "events" / "recording_uploaded.json").read_bytes()
    env["BENCH_FIRST_EVENT"] = json.dumps(
        {
            "httpMethod": "POST",
            "resource": "/webhooks/realtimekit",
            "path": "/webhooks/realtimekit",
            "headers": {"content-type": "application/json", "rtk-signature": signer.sign(first)},
            "body": base64.b64encode(first).decode(),
            "isBase64Encoded": True,
        }
    )
    # Interleave floor and ours so drifting machine load hits both alike.
    floor_samples: list[float] = []
    our_samples: list[float] = []
    cold_start_seconds(OURS, 1, env)  # compile .pyc once, as a deployed asset would have them
    for _ in range(args.runs):
        floor_samples += cold_start_seconds(FLOOR, 1, env)
        our_samples += cold_start_seconds(OURS, 1, env)
    floor, ours = statistics.median(floor_samples), statistics.median(our_samples)
    cpu_ours, cpu_floor = cpu_per_event(args.events, signer.public_pem(), signer)

    result = {
        "cold_start_floor_ms": round(floor * 1000, 1),
        "cold_start_ingest_ms": round(ours * 1000, 1),
        "cold_start_ratio": round(ours / floor, 2),
        "cold_start_target_ratio": 1.3,
        "cpu_per_event_ms": round(cpu_ours * 1000, 3),
        "cpu_rsa_verify_only_ms": round(cpu_floor * 1000, 3),
        "cpu_ratio_vs_verify_only": round(cpu_ours / cpu_floor, 2),
        "cpu_target_ms": 0.5,
    }
    print("ingest benchmark (medians of fresh interpreters; CPU time per event)")
    print(f"  cold start  floor (boto3 + client) {result['cold_start_floor_ms']:>8} ms")
    print(
        f"  cold start  ingest handler         {result['cold_start_ingest_ms']:>8} ms   ratio {result['cold_start_ratio']} (target <= 1.3)"
    )
    print(f"  per event   RSA verify only        {result['cpu_rsa_verify_only_ms']:>8} ms")
    print(
        f"  per event   verify + parse + detail {result['cpu_per_event_ms']:>7} ms   ratio {result['cpu_ratio_vs_verify_only']} (target < 0.5 ms)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
