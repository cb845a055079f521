"""The structured summary: what the model must return, how it is checked, and the two files made
from it (``summary/summary.json`` and ``summary/summary.md``). Pure: no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.normalize.seed_models import iso_utc

SUMMARY_SCHEMA = "meeting-vault/summary@1"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


class SummaryFormatError(ValueError):
    """The model's answer is not the JSON document the prompt asked for."""

    reason = "invalid_model_output"


def _clean(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ActionItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    owner: str | None = None
    task: str = Field(min_length=1)
    due: str | None = None

    @field_validator("owner", "due", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        value = _clean(value)
        if isinstance(value, str) and value.lower() in {"", "null", "none", "n/a", "unknown", "unassigned"}:
            return None
        return value


class SummaryDocument(BaseModel):
    """What every Converse call answers (a chunk's summary, or the combined one)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    overview: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)

    @field_validator("key_points", "decisions", "open_questions", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(item).strip() for item in value if str(item).strip()]
        return value

    def with_known_owners(self, speakers: Iterable[str]) -> SummaryDocument:
        """Owners must be people who spoke: an owner that is not a speaker's name (or a unique first
        name of one) becomes null, so the summary never assigns work to someone invented."""
        resolved = [
            item.model_copy(update={"owner": resolve_owner(item.owner, speakers)})
            for item in self.action_items
        ]
        return self.model_copy(update={"action_items": resolved})

    def to_prompt_json(self) -> str:
        """Compact JSON of a partial summary, as the combine prompt receives it."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def resolve_owner(owner: str | None, speakers: Iterable[str]) -> str | None:
    if owner is None:
        return None
    names = [name for name in speakers if name]
    wanted = owner.casefold().strip()
    for name in names:
        if name.casefold() == wanted:
            return name
    first_names = [name for name in names if name.split()[0].casefold() == wanted]
    return first_names[0] if len(first_names) == 1 else None


def parse_summary(text: str) -> SummaryDocument:
    """The model's text as a ``SummaryDocument``: a JSON object, optionally in a code fence or with
    words around it (the outermost ``{...}`` is taken)."""
    candidate = _FENCE.sub("", text.strip())
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end <= start:
        raise SummaryFormatError(f"the model did not answer with a JSON object: {text[:200]!r}")
    try:
        document: Any = json.loads(candidate[start : end + 1])
    except ValueError as exc:
        raise SummaryFormatError(f"the model's JSON does not parse: {exc}") from exc
    try:
        return SummaryDocument.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SummaryFormatError(f"the model's JSON is not a summary: {problems}") from exc


class SummaryFacts(BaseModel):
    """Where a summary came from, written next to it in ``summary.json``."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    session_id: str
    title: str | None
    summary_type: str
    model_id: str
    generated_at: datetime
    speakers: tuple[str, ...]
    chunks: int
    model_calls: int


def summary_to_json(summary: SummaryDocument, facts: SummaryFacts) -> bytes:
    document = {
        "schema": SUMMARY_SCHEMA,
        "meetingId": facts.meeting_id,
        "sessionId": facts.session_id,
        "title": facts.title,
        "summaryType": facts.summary_type,
        "generator": {
            "service": "bedrock",
            "modelId": facts.model_id,
            "chunks": facts.chunks,
            "modelCalls": facts.model_calls,
        },
        "generatedAt": iso_utc(facts.generated_at),
        "speakers": list(facts.speakers),
        "overview": summary.overview,
        "keyPoints": summary.key_points,
        "decisions": summary.decisions,
        "actionItems": [
            {"owner": item.owner, "task": item.task, "due": item.due} for item in summary.action_items
        ],
        "openQuestions": summary.open_questions,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def _bullets(items: list[str]) -> list[str]:
    return [f"- {item}" for item in items] if items else ["- None."]


def summary_to_markdown(summary: SummaryDocument, facts: SummaryFacts) -> bytes:
    lines = [f"# {facts.title or 'Meeting summary'}", ""]
    if facts.speakers:
        lines += [f"Speakers: {', '.join(facts.speakers)}", ""]
    lines += ["## Overview", "", summary.overview, "", "## Key points", "", *_bullets(summary.key_points)]
    lines += ["", "## Decisions", "", *_bullets(summary.decisions), "", "## Action items", ""]
    if summary.action_items:
        for item in summary.action_items:
            owner = item.owner or "Unassigned"
            due = f" (due: {item.due})" if item.due else ""
            lines.append(f"- [ ] **{owner}**: {item.task}{due}")
    else:
        lines.append("- None.")
    lines += ["", "## Open questions", "", *_bullets(summary.open_questions), ""]
    lines += [
        f"_Generated by Amazon Bedrock ({facts.model_id}) from the transcript on "
        f"{iso_utc(facts.generated_at)[:19]}Z; summary type: {facts.summary_type}._",
        "",
    ]
    return "\n".join(lines).encode()
