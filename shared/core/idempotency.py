"""Side effects done once: Powertools idempotency on a natural key, persisted in DynamoDB.

A record is IN_PROGRESS while the work runs and expires with the Lambda's remaining time (the
handler registers its context), so a crashed worker does not lock the work forever; a completed
record returns the saved result to a duplicate delivery without doing the work again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

DAY = 24 * 3600

# The kinds of work done once (``Once(name=...)``), and the JMESPath of each one's key in its job.
RECORDING_WORK = "recording"  # key: recording_id
SESSION_ARTIFACT_WORK = "session-artifact"  # key: [kind, session_id]
SUMMARY_REQUEST_WORK = "summary-request"  # key: session_id
SUMMARY_BEDROCK_WORK = "summary-bedrock"  # key: session_id
SESSION_ARTIFACT_KINDS = ("transcript", "chat", "summary")


def record_id(name: str, key_value: Any) -> str:
    """The idempotency table's ``id`` for work ``name`` on ``key_value``, as Powertools writes it:
    ``{key_prefix}#{md5 of the key value as sorted JSON}`` (its default hash)."""
    digest = hashlib.md5(json.dumps(key_value, sort_keys=True).encode(), usedforsecurity=False)
    return f"{name}#{digest.hexdigest()}"


def session_record_ids(session_id: str, recording_ids: Iterable[str]) -> list[str]:
    """Every idempotency item the consumers can have written for one session."""
    ids = [record_id(RECORDING_WORK, rid) for rid in sorted(set(recording_ids))]
    ids += [record_id(SESSION_ARTIFACT_WORK, [kind, session_id]) for kind in SESSION_ARTIFACT_KINDS]
    ids += [record_id(name, session_id) for name in (SUMMARY_REQUEST_WORK, SUMMARY_BEDROCK_WORK)]
    return ids


class Once:
    """``Once(fn, name="recording", key="recording_id", table=...)(job)`` runs ``fn(job)`` once per key value.
    ``job`` is a pydantic model or a dict; ``key`` a JMESPath into it."""

    def __init__(
        self,
        fn: Callable[[Any], dict[str, Any]],
        *,
        name: str,
        key: str,
        table: str,
        expires_after_seconds: int = DAY,
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=key,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        persistence = DynamoDBPersistenceLayer(table_name=table)

        # ``name`` keeps the records of different kinds of work apart (same session id, other work).
        @idempotent_function(
            data_keyword_argument="job", config=self.config, persistence_store=persistence, key_prefix=name
        )
        def run(job: Any) -> dict[str, Any]:
            return fn(job)

        self._run = run

    def register(self, context: LambdaContext) -> None:
        self.config.register_lambda_context(context)

    def __call__(self, job: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(job=job)
        return result
