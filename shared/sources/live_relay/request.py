"""A relay request: what ``relay.requested`` carries and the state machine's input holds. Ids, a title
and the name of the secret with the socket URL; never the URL itself. Light: the CLI imports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.archive.keys import is_safe_id
from shared.core.exceptions import MeetingVaultError

REQUEST_SOURCE = "meeting-vault"
SECRET_PREFIX = "meeting-vault/relay/"  # noqa: S105 - a name prefix, not a secret
REQUEST_DETAIL_TYPE = "relay.requested"


class RelayRequestError(MeetingVaultError):
    """A relay request that names no usable relay, meeting or secret."""


@dataclass(frozen=True)
class RelayRequest:
    relay_id: str
    meeting_id: str
    session_id: str
    title: str | None
    secret_id: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RelayRequest:
        relay_id, meeting_id = event.get("relayId"), event.get("meetingId")
        session_id = event.get("sessionId") or relay_id
        secret_id = event.get("secretId")
        for name, value in (("relayId", relay_id), ("meetingId", meeting_id), ("sessionId", session_id)):
            if not is_safe_id(value):
                raise RelayRequestError(f"relay request: {name} is missing or not a safe id")
        if not isinstance(secret_id, str) or not secret_id.startswith(SECRET_PREFIX):
            raise RelayRequestError(f"relay request: secretId must name a secret under {SECRET_PREFIX}")
        title = event.get("title")
        return cls(
            relay_id=str(relay_id),
            meeting_id=str(meeting_id),
            session_id=str(session_id),
            title=title if isinstance(title, str) and title else None,
            secret_id=secret_id,
        )
