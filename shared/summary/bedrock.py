"""Summarize a transcript with the Bedrock Converse API: one call per chunk (map), then calls that
combine the partial summaries (reduce) until one is left.

The client is injected (``client.converse(**request)``): boto3's ``bedrock-runtime`` in Lambda, a
botocore ``Stubber`` or a fake in tests and local mode. Errors are sorted into three kinds: the model
cannot be used here (not enabled, wrong id, no access: a plain message, never retried), the request
was rejected for another reason (not retried either), and transient ones (throttling, 5xx, timeouts),
raised as ``BedrockUnavailable`` so the queue retries the message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import MeetingVaultError
from shared.summary.document import SummaryDocument, SummaryFormatError, parse_summary
from shared.summary.prompts import CHARS_PER_TOKEN, PromptSet, chunk_lines, converse_request

_TRANSIENT = {
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ServiceQuotaExceededException",
}
_MODEL_UNAVAILABLE = {"AccessDeniedException", "ResourceNotFoundException"}
# ValidationException messages that are about the model id rather than the request.
_MODEL_HINTS = (
    "model identifier",
    "model id",
    "on-demand throughput",
    "inference profile",
    "use case",
    "model access",
)


class SummaryFailed(MeetingVaultError):
    """A summary that cannot be made (retrying would not help); recorded as a failed artifact."""

    reason = "summary_failed"


class BedrockModelUnavailable(SummaryFailed):
    reason = "model_not_enabled"


class BedrockRequestRejected(SummaryFailed):
    reason = "bedrock_rejected"


class NoModelAvailable(SummaryFailed):
    """Local mode without an injected model client."""

    reason = "no_model"


class BedrockUnavailable(MeetingVaultError):
    """Throttling, a 5xx or a timeout after botocore's retries: the message is retried later."""


def model_unavailable_message(model_id: str, region: str | None, detail: str) -> str:
    where = region or "this region"
    return (
        f"Bedrock model {model_id} is not enabled or not usable in {where}: {detail} "
        f"Enable it in the Amazon Bedrock console of {where} (Model access), or deploy with "
        "-c bedrockModelId=<a model or inference profile enabled there>."
    )


def map_bedrock_error(exc: ClientError | BotoCoreError, *, model_id: str, region: str | None) -> Exception:
    if isinstance(exc, BotoCoreError):
        return BedrockUnavailable(f"Bedrock could not be reached: {exc}")
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
    if code in _TRANSIENT:
        return BedrockUnavailable(f"Bedrock {code}: {message}")
    if code in _MODEL_UNAVAILABLE or (
        code == "ValidationException" and any(hint in message.lower() for hint in _MODEL_HINTS)
    ):
        return BedrockModelUnavailable(model_unavailable_message(model_id, region, f"{code}: {message}"))
    return BedrockRequestRejected(f"Bedrock rejected the summary request ({code}): {message}")


@dataclass(frozen=True)
class SummaryRun:
    summary: SummaryDocument
    chunks: int
    calls: int
    input_tokens: int
    output_tokens: int


class BedrockSummarizer:
    def __init__(
        self,
        client: Any,
        *,
        model_id: str,
        max_output_tokens: int,
        temperature: float,
        chunk_tokens: int,
    ) -> None:
        self._client = client
        self.model_id = model_id
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self.chunk_chars = chunk_tokens * CHARS_PER_TOKEN
        self._calls = self._input_tokens = self._output_tokens = 0

    @property
    def region(self) -> str | None:
        meta = getattr(self._client, "meta", None)
        return getattr(meta, "region_name", None)

    def summarize(
        self, lines: Sequence[str], *, speakers: list[str], prompts: PromptSet, title: str | None
    ) -> SummaryRun:
        self._calls = self._input_tokens = self._output_tokens = 0
        chunks = chunk_lines(list(lines), max_chars=self.chunk_chars)
        system = prompts.system_prompt(speakers)
        partials = [
            self._ask(
                system,
                prompts.chunk_prompt(
                    title=title, speakers=speakers, part=number, parts=len(chunks), transcript=chunk
                ),
            )
            for number, chunk in enumerate(chunks, 1)
        ]
        while len(partials) > 1:
            partials = [
                self._ask(
                    system,
                    prompts.combine_prompt(
                        title=title, speakers=speakers, summaries=[p.to_prompt_json() for p in group]
                    ),
                )
                if len(group) > 1
                else group[0]
                for group in self._groups(partials)
            ]
        return SummaryRun(partials[0], len(chunks), self._calls, self._input_tokens, self._output_tokens)

    def _groups(self, partials: list[SummaryDocument]) -> list[list[SummaryDocument]]:
        """Consecutive partial summaries whose JSON fits one call (at least two per group, so every
        round shrinks the list)."""
        groups: list[list[SummaryDocument]] = [[]]
        size = 0
        for partial in partials:
            length = len(partial.to_prompt_json())
            if len(groups[-1]) >= 2 and size + length > self.chunk_chars:
                groups.append([])
                size = 0
            groups[-1].append(partial)
            size += length
        return groups

    def _ask(self, system: str, user: str) -> SummaryDocument:
        request = converse_request(
            model_id=self.model_id,
            system=system,
            user=user,
            max_tokens=self._max_output_tokens,
            temperature=self._temperature,
        )
        try:
            response = self._client.converse(**request)
        except (ClientError, BotoCoreError) as exc:
            raise map_bedrock_error(exc, model_id=self.model_id, region=self.region) from exc
        self._calls += 1
        usage = response.get("usage") or {}
        self._input_tokens += int(usage.get("inputTokens") or 0)
        self._output_tokens += int(usage.get("outputTokens") or 0)
        if response.get("stopReason") == "max_tokens":
            raise SummaryFormatError(
                f"the model's answer was cut off at {self._max_output_tokens} tokens "
                "(raise SUMMARY_MAX_OUTPUT_TOKENS or lower SUMMARY_CHUNK_TOKENS)"
            )
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in content if isinstance(block, dict))
        return parse_summary(text)
