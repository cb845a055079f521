"""Prompt templates (data, overridable per deployment) and the transcript text they are filled with.

Defaults ship in ``shared/summary/prompts/``: ``system.txt``, ``chunk.txt``, ``combine.txt`` and
``types/<summary_type>.txt``. An object with the same relative name under
``config/summary-prompts/`` in the archive bucket replaces a default at run time. Templates use
``$name`` placeholders (``string.Template``): ``$guidance``, ``$speakers``, ``$title``, ``$part``,
``$parts``, ``$transcript``, ``$summaries``. Pure: reading the override is the caller's job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from shared.normalize.seed_models import TranscriptDocument

CHARS_PER_TOKEN = 4  # a conservative average for English text with Claude's tokenizer
# Placeholders a template must keep, or the model would not see what it has to summarize.
REQUIRED_PLACEHOLDERS = {"chunk.txt": ("transcript",), "combine.txt": ("summaries",)}


class PromptTemplateError(ValueError):
    """A prompt override cannot be used (not UTF-8, or lacks a required placeholder)."""

    reason = "invalid_prompt_override"


def default_template(name: str) -> str:
    return resources.files("shared.summary").joinpath("prompts", *name.split("/")).read_text("utf-8")


@dataclass(frozen=True)
class PromptSet:
    system: str
    chunk: str
    combine: str
    guidance: str
    overridden: tuple[str, ...] = ()  # the names taken from the bucket, for the logs

    @classmethod
    def load(cls, summary_type: str, read_override: Callable[[str], bytes | None]) -> PromptSet:
        """The four templates for ``summary_type``; ``read_override(name)`` returns the bucket's
        object for a name (``chunk.txt``, ``types/sales_call.txt``...) or None."""
        texts: dict[str, str] = {}
        overridden: list[str] = []
        for name in ("system.txt", "chunk.txt", "combine.txt", f"types/{summary_type}.txt"):
            data = read_override(name)
            if data is None:
                texts[name] = default_template(name)
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PromptTemplateError(f"prompt override {name} is not UTF-8 text") from exc
            for placeholder in REQUIRED_PLACEHOLDERS.get(name, ()):
                if f"${placeholder}" not in text and f"${{{placeholder}}}" not in text:
                    raise PromptTemplateError(f"prompt override {name} lacks the ${placeholder} placeholder")
            texts[name] = text
            overridden.append(name)
        return cls(
            system=texts["system.txt"],
            chunk=texts["chunk.txt"],
            combine=texts["combine.txt"],
            guidance=texts[f"types/{summary_type}.txt"].strip(),
            overridden=tuple(overridden),
        )

    def system_prompt(self, speakers: list[str]) -> str:
        return _fill(self.system, guidance=self.guidance, speakers=speakers_text(speakers))

    def chunk_prompt(
        self, *, title: str | None, speakers: list[str], part: int, parts: int, transcript: str
    ) -> str:
        return _fill(
            self.chunk,
            title=title or "(untitled)",
            speakers=speakers_text(speakers),
            part=str(part),
            parts=str(parts),
            transcript=transcript,
            guidance=self.guidance,
        )

    def combine_prompt(self, *, title: str | None, speakers: list[str], summaries: list[str]) -> str:
        numbered = "\n".join(f"Part {i}: {text}" for i, text in enumerate(summaries, 1))
        return _fill(
            self.combine,
            title=title or "(untitled)",
            speakers=speakers_text(speakers),
            parts=str(len(summaries)),
            summaries=numbered,
            guidance=self.guidance,
        )


def _fill(template: str, **values: str) -> str:
    # safe_substitute: a literal "$5" in a user's prompt stays as written.
    return Template(template).safe_substitute(values)


def speakers_text(speakers: list[str]) -> str:
    return ", ".join(speakers) if speakers else "(no named speakers)"


# -- the transcript as text --------------------------------------------------------------------------
def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"[{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}] "


def transcript_lines(transcript_json: bytes) -> tuple[list[str], list[str]]:
    """``[hh:mm:ss] Name: text`` lines from a normalized ``transcript.json`` and the speakers' names in
    order of first speech. A turn without a name is ``Speaker <id>``: no name is made up."""
    entries = TranscriptDocument.validate_json(transcript_json)
    lines: list[str] = []
    speakers: list[str] = []
    for entry in entries:
        name = (entry.participant.name or "").strip() or f"Speaker {entry.participant.id}"
        if name not in speakers:
            speakers.append(name)
        text = " ".join(word.text.strip() for word in entry.words if word.text.strip())
        text = " ".join(text.split())  # newlines inside a turn would read as new speakers
        if text:
            lines.append(f"{_clock(entry.words[0].start_timestamp.relative)}{name}: {text}")
    return lines, speakers


def chunk_lines(lines: list[str], *, max_chars: int) -> list[str]:
    """Consecutive lines grouped into chunks of at most ``max_chars`` characters, in order; a line
    longer than that is cut into pieces (the rare monologue), never dropped."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = [line[i : i + max_chars] for i in range(0, len(line), max_chars)] or [""]
        for piece in pieces:
            if current and size + len(piece) + 1 > max_chars:
                chunks.append("\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def converse_request(
    *, model_id: str, system: str, user: str, max_tokens: int, temperature: float
) -> dict[str, Any]:
    """The Bedrock Converse request (keyword arguments of ``client.converse``)."""
    return {
        "modelId": model_id,
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": user}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
