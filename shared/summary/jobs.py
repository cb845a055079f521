"""The two kinds of summary work for one session, each run once per session (``shared.core.idempotency.Once``):

- ``RealtimeKitSummaryRequest``: ``POST /sessions/{id}/summary`` unless a summary is already there;
  the summary itself arrives later as ``meeting.summary`` and the summaries consumer archives it.
- ``BedrockSessionSummary``: summarize the session's normalized transcript with Bedrock and write
  ``summary/summary.json`` + ``summary/summary.md``. It renders that transcript itself, from the
  archived source and the session record, with the builder the rebuilds use
  (``normalized_transcript``): ``transcript/transcript.json`` is written later by the rebuilds
  function and may not exist yet.

Both return a JSON-able outcome (Once stores it for duplicate deliveries): ``{"outcome": "present" |
"requested" | "summarized" | "failed", "records": [ArtifactRecord...]}``. A failure that a retry
cannot fix is an outcome with a failed record; a transient one is raised, so the queue retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.realtimekit import RealtimeKitClient
from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.archive.session_artifacts import SUMMARY
from shared.core.exceptions import (
    MeetingVaultError,
    RealtimeKitError,
    RealtimeKitRateLimited,
    RealtimeKitUnavailable,
)
from shared.session.model import (
    CHAT_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    ArtifactState,
    SessionFacts,
    archived_sources,
    build_outputs,
)
from shared.summary.bedrock import BedrockSummarizer, SummaryFailed
from shared.summary.document import SummaryFacts, SummaryFormatError, summary_to_json, summary_to_markdown
from shared.summary.prompts import PromptSet, PromptTemplateError, transcript_lines

SUMMARY_JSON = "summary/structured"
TRANSCRIPT_JSON = "transcript/transcript.json"
Outcome = dict[str, Any]


class TranscriptNotArchived(MeetingVaultError):
    """The session record lists no archived transcript source (yet): the queue retries."""


class SummaryJob(BaseModel):
    """One session to summarize (also the idempotency payload: keyed on ``session_id``)."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    session_id: str


def summary_present(facts: SessionFacts) -> bool:
    """A summary is archived, or RealtimeKit already announced one (``meeting.summary`` seen: the
    meeting had ``summarize_on_end``, and the summaries consumer is on it)."""
    archived = any(a.name == SUMMARY and a.state is ArtifactState.ARCHIVED for a in facts.artifacts)
    return archived or any(seen.event == "meeting.summary" for seen in facts.events)


def session_title(facts: SessionFacts) -> str | None:
    for seen in facts.events:
        meeting = seen.payload.get("meeting")
        title = meeting.get("title") if isinstance(meeting, dict) else seen.payload.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    return None


def normalized_transcript(facts: SessionFacts, read: Callable[[str], bytes]) -> bytes:
    """The session's ``transcript/transcript.json``, rendered from the record and the archived
    sources exactly as a rebuild of this record renders it (``build_outputs``: the same parser, time
    base and roster, so the same names and ids). The chat source is read too because its senders
    can join the roster the transcript's participants are resolved against. ``read`` fetches an
    archived object's bytes by key."""
    sources = archived_sources(facts, (TRANSCRIPT_SOURCE, CHAT_SOURCE), lambda record: read(record.key or ""))
    if TRANSCRIPT_SOURCE not in sources:
        raise TranscriptNotArchived(f"session {facts.session_id} has no archived transcript source")
    return build_outputs(facts, sources).files[TRANSCRIPT_JSON][0]


def failed_summary(reason: str, message: str, *, source: str) -> ArtifactRecord:
    return ArtifactRecord(
        name=SUMMARY,
        kind="summary",
        state=ArtifactState.FAILED,
        reason=reason,
        message=message[:500],
        source=source,
    )


def _failed(record: ArtifactRecord) -> Outcome:
    return {"outcome": "failed", "records": [record.model_dump(mode="json")]}


class RealtimeKitSummaryRequest:
    def __init__(
        self, *, rest: Callable[[], RealtimeKitClient], facts_of: Callable[[SummaryJob], SessionFacts]
    ) -> None:
        self._rest = rest
        self._facts_of = facts_of

    def __call__(self, job: SummaryJob) -> Outcome:
        if summary_present(self._facts_of(job)):
            return {"outcome": "present", "records": []}
        try:
            status = self._rest().generate_summary(job.session_id)
        except (RealtimeKitRateLimited, RealtimeKitUnavailable):
            raise  # the SDK already retried (honouring Retry-After); the queue retries later
        except RealtimeKitError as exc:
            # Any other 4xx (or an answer that is not RealtimeKit's): final, keep its message.
            reason = f"summary_request_{exc.status}" if exc.status else "summary_request_failed"
            return _failed(failed_summary(reason, str(exc), source="summary.request"))
        return {"outcome": "requested", "status": status, "records": []}


class BedrockSessionSummary:
    def __init__(
        self,
        *,
        summarizer: Callable[[], BedrockSummarizer],
        archive: ArchiveStore,
        facts_of: Callable[[SummaryJob], SessionFacts],
        summary_type: str,
        read_prompt_override: Callable[[str], bytes | None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._summarizer = summarizer
        self._archive = archive
        self._facts_of = facts_of
        self._summary_type = summary_type
        self._read_override = read_prompt_override
        self._clock = clock

    def __call__(self, job: SummaryJob) -> Outcome:
        facts = self._facts_of(job)
        if summary_present(facts):
            return {"outcome": "present", "records": []}
        prefix = session_prefix(job.meeting_id, job.session_id)
        # Not the stored transcript.json: with a rebuild queue it is written later, by the rebuilds
        # function, so it may not exist yet (or still be an older rendering).
        lines, speakers = transcript_lines(normalized_transcript(facts, self._archive.get_bytes))
        if not lines:
            return _failed(
                failed_summary("empty", "the transcript has no text to summarize", source="bedrock")
            )
        try:
            summarizer = self._summarizer()
            prompts = PromptSet.load(self._summary_type, self._read_override)
            run = summarizer.summarize(lines, speakers=speakers, prompts=prompts, title=session_title(facts))
        except (SummaryFailed, SummaryFormatError, PromptTemplateError) as exc:
            return _failed(failed_summary(exc.reason, str(exc), source="bedrock"))
        summary = run.summary.with_known_owners(speakers)
        now = self._clock()
        about = SummaryFacts(
            meeting_id=job.meeting_id,
            session_id=job.session_id,
            title=session_title(facts),
            summary_type=self._summary_type,
            model_id=summarizer.model_id,
            generated_at=now,
            speakers=tuple(speakers),
            chunks=run.chunks,
            model_calls=run.calls,
        )
        records = []
        for name, kind, path, data, content_type in (
            (
                SUMMARY_JSON,
                "summary_json",
                "summary/summary.json",
                summary_to_json(summary, about),
                "application/json",
            ),
            (
                SUMMARY,
                "summary",
                "summary/summary.md",
                summary_to_markdown(summary, about),
                "text/markdown; charset=utf-8",
            ),
        ):
            stored = self._archive.put_bytes(
                prefix + path,
                data,
                content_type=content_type,
                metadata={"session-id": job.session_id, "model-id": summarizer.model_id},
            )
            records.append(
                ArtifactRecord(
                    name=name,
                    kind=kind,
                    state=ArtifactState.ARCHIVED,
                    key=stored.key,
                    bytes=stored.size,
                    sha256=stored.sha256,
                    content_type=content_type,
                    archived_at=now,
                    source=f"bedrock:{summarizer.model_id}",
                ).model_dump(mode="json")
            )
        return {
            "outcome": "summarized",
            "records": records,
            "chunks": run.chunks,
            "calls": run.calls,
            "inputTokens": run.input_tokens,
            "outputTokens": run.output_tokens,
        }
