"""Load test of the local stack, loopback only: N signed webhooks from S concurrent senders covering
M sessions, each session's lifecycle (started, joins, leaves, recording states, ended).

Reports the accepted rate while sending, p50/p99 acknowledgement latency (POST to 202), and whether
every distinct body was archived exactly once under ``events/`` (one object and one S3 version per
body: no loss, no duplicate write), with the time the consumers took to drain.

Local mode gives each function one execution environment (``local.lambda_runtime``): the ingest
function verifies one webhook at a time, in one process that shares the cores and the GIL with
moto and the consumers, so the figures bound this machine's local mode, not a deployment where
each concurrent invocation has its own Lambda environment.

Usage: python -m bench.load [--webhooks 2000] [--senders 50] [--sessions 100] [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local.signing import WebhookSigner
from local.stack import LocalNames, LocalSettings, LocalStack
from shared.ingest.envelope import build_detail
from shared.session.intake import raw_event_key

ORGANIZER = {"id": "c94c437b-592a-4a39-b9e2-47ef1451e43b", "name": "Load test"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_webhooks(index: int, count: int) -> list[dict[str, Any]]:
    """``count`` distinct webhook bodies of one session, in lifecycle order."""
    meeting_id, session_id = f"load-meeting-{index:04d}", f"load-session-{index:04d}"
    start = datetime(2026, 6, 3, 9, 0, tzinfo=UTC) + timedelta(minutes=index)
    meeting = {
        "id": meeting_id,
        "sessionId": session_id,
        "title": f"Load {index}",
        "status": "LIVE",
        "startedAt": _iso(start),
        "createdAt": _iso(start),
        "organizedBy": ORGANIZER,
    }
    bodies: list[dict[str, Any]] = [{"event": "meeting.started", "meeting": meeting}]
    recording = {
        "id": f"rec-{index:04d}",
        "recordingId": f"rec-{index:04d}",
        "meetingId": meeting_id,
        "roomUUID": session_id,
        "startedTime": _iso(start),
    }
    bodies.append(
        {
            "event": "recording.statusUpdate",
            "meeting": meeting,
            "recording": {**recording, "status": "RECORDING"},
        }
    )
    people = max(1, (count - 4) // 2)
    for p in range(people):
        participant = {
            "peerId": f"peer-{index}-{p}",
            "userDisplayName": f"Person {p}",
            "customParticipantId": f"user-{p}",
            "joinedAt": _iso(start + timedelta(seconds=p)),
        }
        bodies.append({"event": "meeting.participantJoined", "meeting": meeting, "participant": participant})
        left = {**participant, "leftAt": _iso(start + timedelta(minutes=30, seconds=p))}
        bodies.append({"event": "meeting.participantLeft", "meeting": meeting, "participant": left})
    end = start + timedelta(minutes=31)
    bodies.append(
        {
            "event": "recording.statusUpdate",
            "meeting": meeting,
            "recording": {**recording, "status": "UPLOADING", "stoppedTime": _iso(end), "fileSize": 1000},
        }
    )
    bodies.append(
        {
            "event": "meeting.ended",
            "meeting": {**meeting, "endedAt": _iso(end)},
            "reason": "ALL_PARTICIPANTS_LEFT",
        }
    )
    return bodies[:count]


def workload(webhooks: int, sessions: int) -> list[bytes]:
    per_session = -(-webhooks // sessions)
    bodies = [
        json.dumps(body, separators=(",", ":")).encode()
        for i in range(sessions)
        for body in session_webhooks(i, per_session)
    ][:webhooks]
    # Interleave sessions, as concurrent meetings would.
    order = sorted(range(len(bodies)), key=lambda i: (i % per_session, i))
    return [bodies[i] for i in order]


@dataclass
class LoadReport:
    webhooks: int
    senders: int
    sessions: int
    accepted: int
    send_seconds: float
    latencies_ms: list[float]
    drain_seconds: float
    expected_keys: int
    archived_keys: int
    archived_versions: int
    missing: int
    dead_letters: dict[str, int]

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.send_seconds if self.send_seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0

    @property
    def exactly_once(self) -> bool:
        return (
            self.missing == 0
            and self.archived_keys == self.expected_keys
            and self.archived_versions == self.expected_keys
            and not self.dead_letters
        )

    def summary(self) -> str:
        return (
            f"{self.webhooks} webhooks, {self.senders} senders, {self.sessions} sessions: "
            f"{self.accepted} accepted ({self.accepted_per_second:.0f}/s), "
            f"ack p50 {self.percentile(0.5):.0f} ms p99 {self.percentile(0.99):.0f} ms, "
            f"archived {self.archived_keys}/{self.expected_keys} keys in {self.archived_versions} versions "
            f"({'exactly once' if self.exactly_once else 'NOT exactly once'}), drained in {self.drain_seconds:.1f} s"
        )


def _post(url: str, body: bytes, signer: WebhookSigner) -> tuple[int, float]:
    headers = {
        "content-type": "application/json",
        "rtk-signature": signer.sign(body),
        "rtk-uuid": str(uuid.uuid4()),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = int(response.status)
            response.read()
    except urllib.error.HTTPError as error:
        status = int(error.code)
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def run_load(*, webhooks: int, senders: int, sessions: int, timeout: float = 600.0) -> LoadReport:
    signer = WebhookSigner.generate()
    bodies = workload(webhooks, sessions)
    expected = {
        raw_event_key(
            build_detail(
                b, received_at=datetime.now(UTC), delivery_id=None, webhook_id=None, signature_header="x"
            )
        )
        for b in bodies
    }
    # Own resource names: moto's state is per process, and another local stack may have run in it.
    names = LocalNames(prefix=f"load-{uuid.uuid4().hex[:8]}")
    with LocalStack(LocalSettings(public_key_pem=signer.public_pem()), names) as stack:
        url = stack.webhook_url
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            results = list(pool.map(lambda body: _post(url, body, signer), bodies))
        send_seconds = time.perf_counter() - started
        depths = stack.wait_idle(timeout=timeout, settle=1.0)
        drain_seconds = time.perf_counter() - started
        archived = {key for key, _ in stack.list_archive("meetings/") if "/events/" in key}
        s3 = stack.client("s3")
        versions = 0
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=stack.names.bucket, Prefix="meetings/"
        ):
            versions += sum(1 for v in page.get("Versions", []) if "/events/" in v["Key"])
    return LoadReport(
        webhooks=len(bodies),
        senders=senders,
        sessions=sessions,
        accepted=sum(1 for status, _ in results if status == 202),
        send_seconds=send_seconds,
        latencies_ms=[latency for status, latency in results if status == 202],
        drain_seconds=drain_seconds,
        expected_keys=len(expected),
        archived_keys=len(archived & expected),
        archived_versions=versions,
        missing=len(expected - archived),
        dead_letters={name: d["dlq"] for name, d in depths.items() if d["dlq"]},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the consumers get to drain")
    args = parser.parse_args()
    report = run_load(
        webhooks=args.webhooks, senders=args.senders, sessions=args.sessions, timeout=args.timeout
    )
    print(f"load: {report.summary()}")
    if not report.exactly_once or report.accepted != report.webhooks:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
