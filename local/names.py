"""Names and addresses of local mode's resources. No moto import: the operator CLI reads these to
target local mode (``--local``) without loading the emulation."""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"
WEBHOOK_PATH = "/webhooks/realtimekit"
BOT_WEBHOOK_PATH = "/webhooks/meeting-bot"


@dataclass(frozen=True)
class LocalNames:
    prefix: str = "meeting-vault"

    @property
    def bucket(self) -> str:
        return f"{self.prefix}-archive-local"

    @property
    def bus(self) -> str:
        return self.prefix

    @property
    def sessions_table(self) -> str:
        return f"{self.prefix}-sessions"

    @property
    def idempotency_table(self) -> str:
        return f"{self.prefix}-idempotency"

    @property
    def api_token_secret(self) -> str:
        return f"{self.prefix}/realtimekit-api-token"

    @property
    def relay_table(self) -> str:
        return f"{self.prefix}-relays"

    @property
    def relay_requests_queue(self) -> str:
        return f"{self.prefix}-relay-requests"

    @property
    def bot_credentials_secret(self) -> str:
        return f"{self.prefix}/meeting-bot-credentials"

    def queue(self, route_name: str) -> str:
        return f"{self.prefix}-{route_name}"

    def dlq(self, route_name: str) -> str:
        return f"{self.prefix}-{route_name}-dlq"
