"""realtimekit summary mode: after the transcript is archived, the transcripts consumer asks
RealtimeKit once per session to summarize (POST /sessions/{id}/summary), on moto + the stand-in."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from local.lambda_runtime import LocalLambdaContext, invoke, load_handler
from local.sample_meeting import SampleMeeting
from local.signing import WebhookSigner
from local.standin import RealtimeKitStandin
from local.standin_rest import RateLimit, StandinRestState, install_sample_meeting
from shared import wiring
from shared.summary.jobs import SummaryJob
from shared.wiring.summary import register_lambda_context, summarize_session
from tests.integration.conftest import MotoStack
from tests.integration.test_session_artifacts import FUTURE, PREFIX, detail_of
from tests.support.webhooks import bus_record

MEETING = SampleMeeting(recording_bytes=1024, audio_bytes=512)
TRANSCRIPTS = load_handler("functions.transcripts.handler.handler")
SUMMARIES = load_handler("functions.summaries.handler.handler")
POST_PATH = f"/client/v4/accounts/local-account/realtime/kit/local-app/sessions/{MEETING.session_id}/summary"
JOB = SummaryJob(meeting_id=MEETING.meeting_id, session_id=MEETING.session_id)


@contextmanager
def standin_for(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch, *, mode: str
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    """The stand-in serving the sample meeting, and the consumers' environment for ``mode``."""
    with RealtimeKitStandin(WebhookSigner.generate()) as running:
        urls = {name: running.host_file(name, data, ctype) for name, (data, ctype) in MEETING.files().items()}
        state = install_sample_meeting(running, MEETING, urls, api_token="test-token")
        for name, value in {
            "DOWNLOAD_HOST_ALLOWLIST": "127.0.0.1",
            "DOWNLOAD_ALLOW_LOOPBACK": "true",
            "REALTIMEKIT_ACCOUNT_ID": "local-account",
            "REALTIMEKIT_APP_ID": "local-app",
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": moto_stack.names.api_token_secret,
            "REALTIMEKIT_API_BASE_URL": running.api_base_url,
            "REALTIMEKIT_MAX_RETRIES": "0",
            "SUMMARY_MODE": mode,
        }.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield running, state


@pytest.fixture
def standin(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    with standin_for(moto_stack, monkeypatch, mode="realtimekit") as running:
        yield running


def payload(standin: RealtimeKitStandin, event: str) -> dict[str, Any]:
    urls = {name: f"{standin.base_url}/files/{name}" for name in MEETING.files()}
    found = next(p for p in MEETING.webhooks(urls) if p["event"] == event)
    for field in ("transcriptDownloadUrlExpiry", "summaryDownloadUrlExpiry"):
        if field in found:
            found[field] = FUTURE
    return found


def deliver(handler: Any, body: dict[str, Any], *, record_event: bool = True) -> dict[str, Any]:
    detail = detail_of(body)
    if record_event:
        wiring.session_recorder().record_event(detail)
    result: dict[str, Any] = invoke(
        handler, {"Records": [bus_record(detail)]}, function_name="transcripts", timeout_seconds=120
    )
    return result


def summary_artifact(stack: MotoStack) -> dict[str, Any] | None:
    manifest = json.loads(stack.objects(PREFIX + "session.json")[PREFIX + "session.json"])
    return next((a for a in manifest["artifacts"] if a["name"] == "summary/summary"), None)


def posts(standin: RealtimeKitStandin) -> int:
    return sum(1 for method, path in standin.log.requests if (method, path) == ("POST", POST_PATH))


@pytest.mark.parametrize("answer", ["empty", "{}", "sdk"])
def test_transcript_triggers_one_request_even_when_delivered_again(
    moto_stack: MotoStack, standin: Any, answer: Any
) -> None:
    # Seed 003: "generateSummaryOfTranscripts(...): void" / "POST/accounts/{account_id}/realtime/kit/
    # {app_id}/sessions/{session_id}/summary": any 2xx (no body, {}, the SDK's JSON) is "requested".
    running, state = standin
    state.summary_answer = answer
    transcript = payload(running, "meeting.transcript")
    for _ in range(3):  # RealtimeKit redelivers; the ingest gives each delivery its own id
        assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": []}
    assert state.summary_requests == [MEETING.session_id]
    assert posts(running) == 1
    assert summary_artifact(moto_stack) is None  # nothing failed; the summary comes by webhook


def test_concurrent_transcript_deliveries_make_one_request(moto_stack: MotoStack, standin: Any) -> None:
    running, state = standin
    in_post, may_answer = threading.Event(), threading.Event()

    def slow_answer(session_id: str) -> None:
        in_post.set()
        may_answer.wait(timeout=20)

    state.on_summary_requested = slow_answer
    transcript = payload(running, "meeting.transcript")

    outcomes: list[Any] = []

    def first_worker() -> None:
        register_lambda_context(LocalLambdaContext(function_name="transcripts", timeout_seconds=120))
        outcomes.append(summarize_session(JOB))

    first = threading.Thread(target=first_worker)
    first.start()
    assert in_post.wait(timeout=20), "the first worker never reached RealtimeKit"
    # WHEN a second delivery of the transcript is processed while the first request is in flight
    second = deliver(TRANSCRIPTS, transcript)
    may_answer.set()
    first.join(timeout=20)
    # THEN it fails only its own SQS record (retried later), without a second POST
    assert second == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [o["outcome"] for o in outcomes] == ["requested"]
    assert state.summary_requests == [MEETING.session_id]
    # and the retry of that record finds the saved outcome
    assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": []}
    assert state.summary_requests == [MEETING.session_id]


@pytest.mark.parametrize("archived", [True, False], ids=["summary-archived", "summary-webhook-seen"])
def test_no_request_when_realtimekit_already_made_a_summary(
    moto_stack: MotoStack, standin: Any, archived: bool
) -> None:
    running, state = standin
    summary = payload(running, "meeting.summary")
    if archived:  # the meeting had summarize_on_end: its summary came first and is in the bucket
        assert deliver(SUMMARIES, summary) == {"batchItemFailures": []}
        assert summary_artifact(moto_stack)["state"] == "archived"  # type: ignore[index]
    else:  # announced (sessions consumer saw it), still being downloaded
        wiring.session_recorder().record_event(detail_of(summary))
    assert deliver(TRANSCRIPTS, payload(running, "meeting.transcript")) == {"batchItemFailures": []}
    assert state.summary_requests == []
    assert posts(running) == 0


@dataclass
class OverLimitOnce(RateLimit):
    """The first REST call is over the limit with one second to wait (Retry-After: 1)."""

    refused: int = 0

    def admit(self, now: float | None = None) -> float | None:
        self.refused += 1
        return 1.0 if self.refused == 1 else None


def test_rate_limit_is_waited_out_with_retry_after(
    moto_stack: MotoStack, standin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, state = standin
    monkeypatch.setenv("REALTIMEKIT_MAX_RETRIES", "2")
    wiring.reset()
    state.rate_limit = OverLimitOnce()
    started = time.monotonic()
    assert deliver(TRANSCRIPTS, payload(running, "meeting.transcript")) == {"batchItemFailures": []}
    # 429 with Retry-After: 1, then the SDK's retry after that second is accepted
    assert posts(running) == 2
    assert state.summary_requests == [MEETING.session_id]
    assert time.monotonic() - started >= 1.0


@pytest.mark.parametrize(
    ("status", "limit"),
    [(429, RateLimit(max_requests=0, window_seconds=1.0)), (503, None)],
    ids=["429", "503"],
)
def test_transient_failure_after_retries_leaves_the_record_to_the_queue(
    moto_stack: MotoStack, standin: Any, status: int, limit: RateLimit | None
) -> None:
    running, state = standin
    if limit is not None:
        state.rate_limit = limit
    else:
        state.inject_error(status, "Service unavailable")
    transcript = payload(running, "meeting.transcript")
    assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert summary_artifact(moto_stack) is None  # not a failure of the summary: a retry will do
    state.rate_limit = None
    assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": []}
    assert state.summary_requests == [MEETING.session_id]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Transcript is not available for this session"),
        (403, "Token lacks the Realtime permission"),
        (404, "Session not found"),
    ],
)
def test_other_4xx_is_a_failed_summary_with_realtimekits_message(
    moto_stack: MotoStack, standin: Any, status: int, message: str
) -> None:
    running, state = standin
    state.inject_error(status, message)
    transcript = payload(running, "meeting.transcript")
    assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": []}
    artifact = summary_artifact(moto_stack)
    assert artifact is not None
    assert (artifact["state"], artifact["reason"], artifact["kind"]) == (
        "failed",
        f"summary_request_{status}",
        "summary",
    )
    assert message in artifact["message"]
    assert f"HTTP {status}" in artifact["message"]
    # final: a redelivery does not ask again
    assert deliver(TRANSCRIPTS, transcript) == {"batchItemFailures": []}
    assert posts(running) == 1


def test_summary_webhook_after_a_failed_request_replaces_the_failure(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, state = standin
    state.inject_error(400, "Transcript is not available for this session")
    deliver(TRANSCRIPTS, payload(running, "meeting.transcript"))
    assert summary_artifact(moto_stack)["state"] == "failed"  # type: ignore[index]
    assert deliver(SUMMARIES, payload(running, "meeting.summary")) == {"batchItemFailures": []}
    assert summary_artifact(moto_stack)["state"] == "archived"  # type: ignore[index]


def test_off_mode_requests_nothing(
    moto_stack: MotoStack, standin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, state = standin
    monkeypatch.setenv("SUMMARY_MODE", "off")
    wiring.reset()
    assert deliver(TRANSCRIPTS, payload(running, "meeting.transcript")) == {"batchItemFailures": []}
    assert state.summary_requests == []
    assert PREFIX + "transcript/transcript.json" in moto_stack.objects(PREFIX)
