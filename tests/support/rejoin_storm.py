"""Measures one rebuild of a session's derived files after a rejoin storm, in a process of its own
(so its peak RSS is the rebuild's, as in a fresh Lambda environment):

    python -m tests.support.rejoin_storm PAIRS   ->   one JSON line: sizes, peak RSS, CPU seconds

One person joins and leaves PAIRS times, each time with a new peer id (as RealtimeKit gives on every
rejoin); the facts are what the session store loads (every webhook body, parsed)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from tests.support.peak_rss import peak_rss_mib

MEETING = "bbb0f2a4-5c3e-4d7a-9a51-6d2e8f1c0a11"
SESSION = "5e55a0d1-7f42-4b6c-8e0a-3c9d2b7e4f10"


def storm_payloads(pairs: int) -> list[dict[str, object]]:
    start = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
    meeting = {"id": MEETING, "sessionId": SESSION, "title": "Storm", "startedAt": "2026-06-03T10:00:00.000Z"}
    payloads: list[dict[str, object]] = [{"event": "meeting.started", "meeting": meeting}]
    for n in range(pairs):
        joined = (start + timedelta(seconds=2 * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        left = (start + timedelta(seconds=2 * n + 1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        participant = {
            "peerId": f"peer-{n:06d}-8c1e-4d7a-9a51-6d2e8f1c0a11",
            "userId": "user-storm",
            "customParticipantId": "cust-storm",
            "userDisplayName": "Rejoining Person",
        }
        payloads.append(
            {
                "event": "meeting.participantJoined",
                "meeting": meeting,
                "participant": {**participant, "joinedAt": joined},
            }
        )
        payloads.append(
            {
                "event": "meeting.participantLeft",
                "meeting": meeting,
                "participant": {**participant, "joinedAt": joined, "leftAt": left},
            }
        )
    return payloads


def function_baseline() -> None:
    """What a sessions function holds before its first record: its handler and the AWS clients."""
    import boto3

    import functions.sessions.handler  # noqa: F401 - the imports a cold start makes

    for service in ("s3", "dynamodb"):
        boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


def main(pairs: int) -> dict[str, object]:
    import hashlib

    from shared.session.model import SeenEvent, SessionFacts, build_outputs

    function_baseline()
    baseline = peak_rss_mib()

    bodies = [json.dumps(p).encode() for p in storm_payloads(pairs)]
    facts = SessionFacts(meeting_id=MEETING, session_id=SESSION)
    for body in bodies:
        payload = json.loads(body)
        facts.events.append(SeenEvent(hashlib.sha256(body).hexdigest(), str(payload["event"]), payload))
    del bodies
    cpu = time.process_time()
    outputs = build_outputs(facts)
    cpu = time.process_time() - cpu
    return {
        "pairs": pairs,
        "sizes": {path: len(data) for path, (data, _) in outputs.files.items()},
        "cpu_seconds": round(cpu, 3),
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
