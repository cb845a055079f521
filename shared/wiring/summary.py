"""The transcripts consumer's summary step, wired: the adapters it uses (built once, reset with
``shared.wiring.reset()``) and the record handler that archives a transcript, then summarizes.

``archive_transcript_and_summarize`` archives the transcript (``archive_and_report``) and, once it
is archived, runs the configured summary mode for its session, once per session."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.archive.keys import safe_id
from shared.core import config
from shared.core.idempotency import SUMMARY_BEDROCK_WORK, SUMMARY_REQUEST_WORK, Once
from shared.core.observability import logger, metrics
from shared.ingest.envelope import WebhookDetail
from shared.ingest.events import MeetingTranscript
from shared.session.model import ArtifactRecord, ArtifactState, SessionFacts
from shared.summary.bedrock import BedrockSummarizer, NoModelAvailable
from shared.summary.jobs import (
    BedrockSessionSummary,
    Outcome,
    RealtimeKitSummaryRequest,
    SummaryJob,
    summary_present,
)
from shared.summary.settings import PROMPT_OVERRIDE_PREFIX, summary_settings

_injected_model_client: list[Any] = []


def use_model_client(client: Any | None) -> None:
    """Inject the Bedrock client (``converse(**request)``) for local mode or tests; None removes it.
    Survives ``wiring.reset()`` (local mode resets on start)."""
    _injected_model_client.clear()
    if client is not None:
        _injected_model_client.append(client)
    _summarizer.cache_clear()


@cache
def _session_store() -> Any:
    from shared.session.store import SessionStore

    return SessionStore(config.session_settings().sessions_table)


def _facts_of(job: SummaryJob) -> SessionFacts:
    facts, _ = _session_store().load(job.meeting_id, job.session_id)
    return facts


@cache
def _bedrock_client() -> Any:
    import boto3
    from botocore.config import Config

    # A summary of a long chunk takes a minute or more; botocore's standard mode retries throttling.
    return boto3.client(
        "bedrock-runtime", config=Config(read_timeout=300, retries={"mode": "standard", "max_attempts": 4})
    )


@cache
def _summarizer() -> BedrockSummarizer:
    settings = summary_settings()
    if _injected_model_client:
        client = _injected_model_client[0]
    elif config.worker_settings().local_mode:
        raise NoModelAvailable(
            "summary mode 'bedrock' needs Amazon Bedrock, and local mode has none: no model client was "
            "injected (shared.wiring.summary.use_model_client). Use summary mode 'realtimekit' locally, "
            "or inject a client."
        )
    else:
        client = _bedrock_client()
    return BedrockSummarizer(
        client,
        model_id=settings.bedrock_model_id,
        max_output_tokens=settings.max_output_tokens,
        temperature=settings.temperature,
        chunk_tokens=settings.chunk_tokens,
    )


def _read_prompt_override(name: str) -> bytes | None:
    store = wiring.archive_store()
    try:
        return store.get_bytes(PROMPT_OVERRIDE_PREFIX + name)
    except store.client.exceptions.NoSuchKey:
        return None


@cache
def summary_once() -> Once | None:
    """The summary work of the configured mode, once per session; None when the mode is off."""
    settings = summary_settings()
    table = config.worker_settings().idempotency_table
    if settings.mode == "realtimekit":
        return Once(
            RealtimeKitSummaryRequest(rest=wiring.realtimekit, facts_of=_facts_of),
            name=SUMMARY_REQUEST_WORK,
            key="session_id",
            table=table,
        )
    if settings.mode == "bedrock":
        return Once(
            BedrockSessionSummary(
                summarizer=_summarizer,
                archive=wiring.archive_store(),
                facts_of=_facts_of,
                summary_type=settings.summary_type,
                read_prompt_override=_read_prompt_override,
            ),
            name=SUMMARY_BEDROCK_WORK,
            key="session_id",
            table=table,
        )
    return None


for _builder in (_session_store, _bedrock_client, _summarizer, summary_once, summary_settings):
    wiring.register(_builder)


def register_lambda_context(context: LambdaContext) -> None:
    once = summary_once()
    if once is not None:
        once.register(context)


def summarize_session(job: SummaryJob) -> Outcome | None:
    """Run the configured mode for one session (once); record its artifacts; log and count."""
    once = summary_once()
    if once is None:
        return None
    ids = {
        "meeting_id": job.meeting_id,
        "session_id": job.session_id,
        "summary_mode": summary_settings().mode,
    }
    outcome = once(job)
    records = [ArtifactRecord.model_validate(r) for r in outcome.get("records", [])]
    recorder = wiring.session_recorder()
    if records and outcome["outcome"] == "failed" and summary_present(_facts_of(job)):
        records = []  # a summary arrived meanwhile: keep it, do not overwrite its record
    for record in records:
        recorder.record_artifact(job.meeting_id, job.session_id, record)
    kind = outcome["outcome"]
    if kind == "failed":
        failed = records[0] if records else None
        logger.error(
            "summary failed",
            extra={
                **ids,
                "reason": failed.reason if failed else None,
                "error": failed.message if failed else None,
            },
        )
        metrics.add_metric(name="SummaryFailed", unit=MetricUnit.Count, value=1)
    elif kind == "requested":
        logger.info("summary requested from RealtimeKit", extra={**ids, "status": outcome.get("status")})
        metrics.add_metric(name="SummaryRequested", unit=MetricUnit.Count, value=1)
    elif kind == "summarized":
        logger.info(
            "summary generated",
            extra={**ids, **{k: outcome.get(k) for k in ("chunks", "calls", "inputTokens", "outputTokens")}},
        )
        metrics.add_metric(name="SummaryGenerated", unit=MetricUnit.Count, value=1)
    else:
        logger.info("summary already present; nothing requested", extra=ids)
    return outcome


def archive_transcript_and_summarize(detail: WebhookDetail) -> ArtifactRecord | None:
    """The transcripts consumer's record handler: archive the transcript, then summarize its session."""
    artifact = wiring.archive_session_artifact(detail, expected=MeetingTranscript)
    if (
        artifact is not None
        and artifact.state is ArtifactState.ARCHIVED
        and detail.meeting_id
        and detail.session_id
    ):
        summarize_session(
            SummaryJob(meeting_id=safe_id(detail.meeting_id), session_id=safe_id(detail.session_id))
        )
    return artifact
