"""bedrock summary mode: the transcripts consumer summarizes the normalized transcript with the
Converse API (a botocore Stubber on a real bedrock-runtime client) and writes summary.json + .md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState
from shared.fanout.routing import REBUILDS
from shared.summary.prompts import default_template, transcript_lines
from shared.wiring.summary import use_model_client
from tests.integration.conftest import MotoStack
from tests.integration.test_session_artifacts import PREFIX
from tests.integration.test_summary_request import (
    MEETING,
    SUMMARIES,
    TRANSCRIPTS,
    deliver,
    payload,
    standin_for,
    summary_artifact,
)

MODEL_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SPEAKERS = 'Alice Ng, José Müller, Chen "CJ" Jie'
TRANSCRIPT_LINES = (
    "[00:00:01] Alice Ng: Good morning everyone, let's get started.\n"
    "[00:00:05] José Müller: Morning! I have the numbers from last week, finally.\n"
    '[00:00:11] Chen "CJ" Jie: Quick note: the "beta" flag ships Friday, not Thursday.\n'
    "[00:00:17] Alice Ng: Great. José, can you walk us through the numbers?\n"
    "[00:00:22] José Müller: Sure — revenue is up 12%, churn is flat, and NPS went from 41 to 47.\n"
    '[00:00:31] Chen "CJ" Jie: Nice. Let\'s make sure the dashboard, the docs, and the FAQ agree.\n'
    "[00:00:38] Alice Ng: Action item for Chen: update the FAQ by Wednesday. Thanks all!"
)
EXPECTED_USER_TEXT = (
    "Meeting: Weekly sync — Q3 planning\n"
    'This is part 1 of 1 of the transcript. Each line is "[hh:mm:ss] Speaker: what they said".\n\n'
    f"<transcript>\n{TRANSCRIPT_LINES}\n</transcript>\n\n"
    "Summarize this part as the JSON object described above. If this is one part of several, cover only "
    "what this part contains.\n"
)
MODEL_ANSWER = {
    "overview": "The team reviewed last week's numbers and the beta release date.",
    "key_points": [
        "Revenue is up 12%, churn is flat, NPS rose from 41 to 47.",
        'The "beta" flag ships Friday.',
    ],
    "decisions": ["Ship the beta flag on Friday."],
    "action_items": [
        {"owner": "Chen", "task": "Update the FAQ", "due": "Wednesday"},
        {"owner": "Priya", "task": "Send the numbers to finance", "due": None},  # never spoke
    ],
    "open_questions": [],
}


def converse_answer(text: str, *, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 1200, "outputTokens": 180, "totalTokens": 1380},
        "metrics": {"latencyMs": 2100},
    }


def expected_request() -> dict[str, Any]:
    system = (
        default_template("system.txt")
        .replace("$speakers", SPEAKERS)
        .replace("$guidance", default_template("types/general.txt").strip())
    )
    return {
        "modelId": MODEL_ID,
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": EXPECTED_USER_TEXT}]}],
        "inferenceConfig": {"maxTokens": 4096, "temperature": 0.2},
    }


@pytest.fixture
def bedrock(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    monkeypatch.setenv("BEDROCK_MODEL_ID", MODEL_ID)
    with standin_for(moto_stack, monkeypatch, mode="bedrock") as running:
        yield running
    use_model_client(None)


@pytest.fixture
def stubbed() -> Iterator[Stubber]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        use_model_client(client)
        yield stubber
    use_model_client(None)


def play(running: RealtimeKitStandin) -> dict[str, Any]:
    """meeting.started (the title) then the transcript; returns the transcripts consumer's answer."""
    from shared import wiring
    from tests.integration.test_session_artifacts import detail_of

    wiring.session_recorder().record_event(detail_of(payload(running, "meeting.started")))
    return deliver(TRANSCRIPTS, payload(running, "meeting.transcript"))


def test_transcript_is_summarized_with_the_exact_converse_request(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, state = bedrock
    stubbed.add_response("converse", converse_answer(json.dumps(MODEL_ANSWER)), expected_request())
    assert play(running) == {"batchItemFailures": []}
    stubbed.assert_no_pending_responses()
    assert state.summary_requests == []  # bedrock mode never asks RealtimeKit

    files = moto_stack.objects(PREFIX + "summary/")
    document = json.loads(files[PREFIX + "summary/summary.json"])
    generated_at = document.pop("generatedAt")
    assert generated_at.endswith("Z")
    assert document == {
        "schema": "meeting-vault/summary@1",
        "meetingId": MEETING.meeting_id,
        "sessionId": MEETING.session_id,
        "title": "Weekly sync — Q3 planning",
        "summaryType": "general",
        "generator": {"service": "bedrock", "modelId": MODEL_ID, "chunks": 1, "modelCalls": 1},
        "speakers": ["Alice Ng", "José Müller", 'Chen "CJ" Jie'],
        "overview": "The team reviewed last week's numbers and the beta release date.",
        "keyPoints": [
            "Revenue is up 12%, churn is flat, NPS rose from 41 to 47.",
            'The "beta" flag ships Friday.',
        ],
        "decisions": ["Ship the beta flag on Friday."],
        "actionItems": [
            {"owner": 'Chen "CJ" Jie', "task": "Update the FAQ", "due": "Wednesday"},
            {"owner": None, "task": "Send the numbers to finance", "due": None},
        ],
        "openQuestions": [],
    }
    assert files[PREFIX + "summary/summary.md"].decode() == (
        "# Weekly sync — Q3 planning\n\n"
        'Speakers: Alice Ng, José Müller, Chen "CJ" Jie\n\n'
        "## Overview\n\nThe team reviewed last week's numbers and the beta release date.\n\n"
        "## Key points\n\n"
        "- Revenue is up 12%, churn is flat, NPS rose from 41 to 47.\n"
        '- The "beta" flag ships Friday.\n\n'
        "## Decisions\n\n- Ship the beta flag on Friday.\n\n"
        "## Action items\n\n"
        '- [ ] **Chen "CJ" Jie**: Update the FAQ (due: Wednesday)\n'
        "- [ ] **Unassigned**: Send the numbers to finance\n\n"
        "## Open questions\n\n- None.\n\n"
        f"_Generated by Amazon Bedrock ({MODEL_ID}) from the transcript on {generated_at[:19]}Z; "
        "summary type: general._\n"
    )
    manifest = json.loads(moto_stack.objects(PREFIX + "session.json")[PREFIX + "session.json"])
    summaries = {a["name"]: a for a in manifest["artifacts"] if a["name"].startswith("summary/")}
    assert {
        name: (a["state"], a["key"].removeprefix(PREFIX), a["source"]) for name, a in summaries.items()
    } == {
        "summary/summary": ("archived", "summary/summary.md", f"bedrock:{MODEL_ID}"),
        "summary/structured": ("archived", "summary/summary.json", f"bedrock:{MODEL_ID}"),
    }


def test_summary_is_made_on_the_first_attempt_when_the_files_are_rebuilt_later(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the deployed wiring (a rebuild queue: transcript.json is written later, by the rebuilds
    function) WHEN the transcript arrives THEN the summary is made at once, from the same text."""
    from shared import wiring

    running, _ = bedrock
    monkeypatch.setenv("REBUILD_QUEUE_URL", moto_stack.resources.queue_urls[REBUILDS.name])
    wiring.reset()
    stubbed.add_response("converse", converse_answer(json.dumps(MODEL_ANSWER)), expected_request())

    assert play(running) == {"batchItemFailures": []}
    stubbed.assert_no_pending_responses()
    assert moto_stack.depth(REBUILDS.name) > 0  # the derived files are still to be written...
    assert not moto_stack.objects(PREFIX + "transcript/transcript.json")  # ...transcript.json too
    assert set(moto_stack.objects(PREFIX + "summary/")) == {
        PREFIX + "summary/summary.json",
        PREFIX + "summary/summary.md",
    }

    # The rebuild renders the transcript the summary was made from, line for line.
    wiring.session_recorder().rebuild(MEETING.meeting_id, MEETING.session_id)
    stored = moto_stack.objects(PREFIX + "transcript/transcript.json")[PREFIX + "transcript/transcript.json"]
    assert "\n".join(transcript_lines(stored)[0]) == TRANSCRIPT_LINES
    assert summary_artifact(moto_stack)["state"] == "archived"  # type: ignore[index]


def test_duplicate_transcript_is_summarized_once(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    stubbed.add_response("converse", converse_answer(json.dumps(MODEL_ANSWER)))
    assert play(running) == {"batchItemFailures": []}
    assert play(running) == {"batchItemFailures": []}  # a second call would find no stubbed answer
    stubbed.assert_no_pending_responses()


def test_model_not_enabled_is_a_plain_failed_summary(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    stubbed.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
    )
    assert play(running) == {"batchItemFailures": []}  # not retried: enabling the model is a human's job
    artifact = summary_artifact(moto_stack)
    assert artifact is not None
    assert (artifact["state"], artifact["reason"]) == ("failed", "model_not_enabled")
    assert artifact["message"] == (
        f"Bedrock model {MODEL_ID} is not enabled or not usable in us-east-1: AccessDeniedException: You don't "
        "have access to the model with the specified model ID. Enable it in the Amazon Bedrock console of "
        "us-east-1 (Model access), or deploy with -c bedrockModelId=<a model or inference profile enabled there>."
    )
    assert not moto_stack.objects(PREFIX + "summary/")


def test_throttling_leaves_the_record_to_the_queue_then_succeeds(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    stubbed.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    stubbed.add_response("converse", converse_answer(json.dumps(MODEL_ANSWER)))
    assert play(running) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert summary_artifact(moto_stack) is None
    assert play(running) == {"batchItemFailures": []}  # the SQS retry
    assert summary_artifact(moto_stack)["state"] == "archived"  # type: ignore[index]


def test_answer_that_is_not_json_is_a_failed_summary(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    stubbed.add_response("converse", converse_answer("I'm sorry, I can't summarize this."))
    assert play(running) == {"batchItemFailures": []}
    artifact = summary_artifact(moto_stack)
    assert (artifact["state"], artifact["reason"]) == ("failed", "invalid_model_output")  # type: ignore[index]


def test_prompt_override_in_the_bucket_is_used_without_a_redeploy(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    s3 = moto_stack.client("s3")
    s3.put_object(
        Bucket=moto_stack.names.bucket,
        Key="config/summary-prompts/types/general.txt",
        Body=b"Focus on revenue and churn.",
    )
    request = expected_request()
    request["system"] = [
        {
            "text": default_template("system.txt")
            .replace("$speakers", SPEAKERS)
            .replace("$guidance", "Focus on revenue and churn.")
        }
    ]
    stubbed.add_response("converse", converse_answer(json.dumps(MODEL_ANSWER)), request)
    assert play(running) == {"batchItemFailures": []}
    stubbed.assert_no_pending_responses()


def test_summary_already_archived_means_no_model_call(
    moto_stack: MotoStack, bedrock: Any, stubbed: Stubber
) -> None:
    running, _ = bedrock
    assert deliver(SUMMARIES, payload(running, "meeting.summary")) == {"batchItemFailures": []}
    assert play(running) == {"batchItemFailures": []}  # no stubbed answer: a call would fail the test
    assert moto_stack.objects(PREFIX + "summary/").keys() == {PREFIX + "summary/summary.md"}
    assert (
        moto_stack.objects(PREFIX + "summary/")[PREFIX + "summary/summary.md"] == MEETING.summary_markdown()
    )


def test_local_mode_without_a_model_says_so(moto_stack: MotoStack, bedrock: Any) -> None:
    running, _ = bedrock  # DOWNLOAD_ALLOW_LOOPBACK=true: local mode, and no client injected
    assert play(running) == {"batchItemFailures": []}
    artifact = summary_artifact(moto_stack)
    assert (artifact["state"], artifact["reason"]) == ("failed", "no_model")  # type: ignore[index]
    assert artifact["message"].startswith(  # type: ignore[index]
        "summary mode 'bedrock' needs Amazon Bedrock, and local mode has none"
    )
