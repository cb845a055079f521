"""Summary settings (environment variables set by the stack), validated once."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field

from shared.core.config import _Settings

SummaryMode = Literal["realtimekit", "bedrock", "off"]
# RealtimeKit's own summary types (ai_config.summarization.summary_type); each has a prompt file.
SummaryType = Literal[
    "general",
    "team_meeting",
    "daily_standup",
    "one_on_one_meeting",
    "sales_call",
    "client_check_in",
    "interview",
    "lecture",
    "code_review",
]
SUMMARY_TYPES: tuple[str, ...] = SummaryType.__args__  # type: ignore[attr-defined]
# Claude Sonnet 4.6 through the US cross-region inference profile. Configurable (``bedrockModelId``):
# use ``eu.``/``jp.``/``apac.``/``global.`` profiles or a plain foundation-model id elsewhere.
DEFAULT_BEDROCK_MODEL_ID = "us.anthropic.claude-sonnet-4-6"
# ~4 characters per token for English; a one-hour meeting is ~12-13k tokens, so one chunk.
DEFAULT_CHUNK_TOKENS = 40_000
DEFAULT_MAX_OUTPUT_TOKENS = 4_096
# Where users put prompt overrides in the archive bucket (read at run time, no redeploy).
PROMPT_OVERRIDE_PREFIX = "config/summary-prompts/"


class SummarySettings(_Settings):
    # The stack always sets SUMMARY_MODE; the default is the documented deploy default.
    mode: SummaryMode = Field(default="realtimekit", alias="SUMMARY_MODE")
    summary_type: SummaryType = Field(default="general", alias="SUMMARY_TYPE")
    bedrock_model_id: str = Field(
        default=DEFAULT_BEDROCK_MODEL_ID, alias="BEDROCK_MODEL_ID", min_length=3, pattern=r"^[\w.:/-]+$"
    )
    chunk_tokens: int = Field(
        default=DEFAULT_CHUNK_TOKENS, alias="SUMMARY_CHUNK_TOKENS", ge=1_000, le=150_000
    )
    max_output_tokens: int = Field(
        default=DEFAULT_MAX_OUTPUT_TOKENS, alias="SUMMARY_MAX_OUTPUT_TOKENS", ge=256, le=32_000
    )
    temperature: float = Field(default=0.2, alias="SUMMARY_TEMPERATURE", ge=0.0, le=1.0)


@cache
def summary_settings() -> SummarySettings:
    return SummarySettings.from_env()
