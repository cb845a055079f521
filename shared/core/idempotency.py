"""Side effects done once: Powertools idempotency on a natural key, persisted in DynamoDB.

A record is IN_PROGRESS while the work runs and expires with the Lambda's remaining time (the
handler registers its context), so a crashed worker does not lock the work forever; a completed
record returns the saved result to a duplicate delivery without doing the work again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

DAY = 24 * 3600


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
