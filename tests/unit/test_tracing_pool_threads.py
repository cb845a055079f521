"""The sessions consumer takes a batch's records in a pool of threads that outlive the invocation.
With tracing on, as in Lambda, each record's ``take_in`` subsegment must still reach X-Ray, under
the invocation that took it in: the X-Ray SDK keeps its Lambda context per thread and reads the
trace header from the environment, which the runtime sets for every invocation. Run in a child
interpreter (the tests run with tracing off, and the SDK's switch is global), with the SDK's emitter
replaced by a list, and the records' AWS work replaced by a no-op: only the tracing is under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRACES = [
    ("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"),
    ("1-6a01b2c3-0123456789abcdef01234567", "0123456789abcdef"),
]

PROBE = """
import json, os, sys, threading
from datetime import UTC, datetime
from aws_xray_sdk.core import xray_recorder
sent = []
xray_recorder.emitter.send_entity = lambda entity: sent.append(json.loads(entity.serialize()))
import functions.sessions.handler as sessions
from local.lambda_runtime import invoke
from shared.ingest.envelope import build_detail
from tests.support.webhooks import bus_record

threads = []
sessions.take_in_event = lambda detail, **_: threads.append(threading.current_thread().name)
class Recorder:
    def erased_check(self, named):
        return lambda meeting_id, session_id: False
sessions.wiring.session_recorder = Recorder
sessions.wiring.archive_store = lambda: None

def batch(n):
    records = []
    for i in range(n):
        body = {"event": "meeting.participantJoined", "meeting": {"id": "m", "sessionId": f"s{i}"},
                "participant": {"peerId": f"p{i}"}}
        detail = build_detail(json.dumps(body).encode(), received_at=datetime.now(UTC),
                              delivery_id=f"d{i}", webhook_id=None, signature_header="x")
        records.append(bus_record(detail, message_id=f"m-{i}"))
    return {"Records": records}

results = []
for root, parent in json.loads(sys.argv[1]):
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={parent};Sampled=1"  # as the runtime does
    results.append(invoke(sessions.handler, batch(4), function_name="sessions"))
print(json.dumps({"results": results, "threads": threads, "sent": [
    {"name": e.get("name"), "trace_id": e.get("trace_id"), "parent_id": e.get("parent_id"),
     "type": e.get("type"), "in_progress": e.get("in_progress", False)} for e in sent]}))
"""


def test_record_subsegments_from_pool_threads_reach_xray_under_their_invocation() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "_X_AMZN", "AWS_XRAY"))}
    env.update(
        LAMBDA_TASK_ROOT=str(REPO),  # the X-Ray SDK's "in Lambda" check
        AWS_LAMBDA_FUNCTION_NAME="sessions",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_NAMESPACE="MeetingVault",
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(TRACES)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["results"] == [{"batchItemFailures": []}] * 2
    assert len(report["threads"]) == 8
    assert all(t.startswith("sessions-record") for t in report["threads"])
    sent = report["sent"]
    for root, parent in TRACES:
        of_invocation = [e for e in sent if e["trace_id"] == root]
        names = sorted(e["name"] for e in of_invocation)
        # Four records, each in its own subsegment, plus the handler's; all closed, all children of
        # the invocation's Lambda segment (the records' are the handler's siblings, not its children).
        assert names == ["## functions.sessions.handler.take_in"] * 4 + ["## handler"]
        assert all(e["type"] == "subsegment" and not e["in_progress"] for e in of_invocation)
        assert {e["parent_id"] for e in of_invocation} == {parent}
    assert len(sent) == 10  # nothing else, nothing twice
