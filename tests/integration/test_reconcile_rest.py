"""The reconciliation sweep against the stand-in's REST API: what it costs and what it enqueues."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cloudflare
import pytest

from local.signing import WebhookSigner
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinParticipant, StandinRestState, StandinSession, install
from shared.adapters.realtimekit import RealtimeKitClient
from shared.ingest.envelope import WebhookDetail
from shared.normalize.rest_participants import PARTICIPANTS_EVENT
from shared.reconcile.sweep import sweep_recent_sessions
from shared.session.model import SessionFacts

TOKEN, ACCOUNT, APP = "test-api-token", "acc-123", "app-456"
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
OLD_SESSIONS = 5_000
RECENT_SESSIONS = 3


@dataclass
class EmptyStore:
    def load(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, int]:
        return SessionFacts(meeting_id, session_id), 0


@dataclass
class Bus:
    details: list[WebhookDetail] = field(default_factory=list)

    def publish(self, detail: WebhookDetail) -> str:
        self.details.append(detail)
        return "event-id"


@pytest.fixture(scope="module")
def standin(signer: WebhookSigner) -> Iterator[RealtimeKitStandin]:
    with RealtimeKitStandin(signer) as running:
        yield running


@pytest.fixture
def history(standin: RealtimeKitStandin) -> StandinRestState:
    """An App with a long history: 5,000 sessions from last year and a few from this week."""
    standin.rest_routes.clear()
    with standin.log.lock:
        standin.log.requests.clear()
        standin.log.queries.clear()
    state = StandinRestState(api_token=TOKEN, account_id=ACCOUNT, app_id=APP)
    long_ago = NOW - timedelta(days=365)
    for i in range(OLD_SESSIONS):
        started = long_ago + timedelta(minutes=i)
        state.sessions[f"old-{i:05d}"] = StandinSession(
            id=f"old-{i:05d}",
            meeting_id="m-old",
            started_at=started,
            ended_at=started + timedelta(minutes=30),
        )
    for i in range(RECENT_SESSIONS):
        started = NOW - timedelta(days=i + 1)
        state.sessions[f"new-{i}"] = StandinSession(
            id=f"new-{i}",
            meeting_id=f"m-new-{i}",
            started_at=started,
            ended_at=started + timedelta(minutes=30),
            participants=[
                StandinParticipant(
                    id=f"peer-{i}", display_name="Zoë", user_id="u-zoe", joined_at=started, left_at=started
                )
            ],
        )
    install(standin, state)
    return state


def client_for(standin: RealtimeKitStandin) -> RealtimeKitClient:
    sdk = cloudflare.Cloudflare(
        api_token=TOKEN,
        base_url=standin.api_base_url,
        max_retries=0,
        timeout=10.0,
        _strict_response_validation=True,
    )
    return RealtimeKitClient(sdk, account_id=ACCOUNT, app_id=APP)


def session_list_pages(standin: RealtimeKitStandin) -> int:
    return sum(1 for method, path in standin.log.requests if method == "GET" and path.endswith("/sessions"))


def test_sweep_cost_follows_the_last_week_not_the_apps_history(
    standin: RealtimeKitStandin, history: StandinRestState
) -> None:
    # Seed 003, "Fetch all sessions of an App": "client.realtimeKit.sessions.getSessions(stringappId,
    # SessionGetSessionsParams { account_id, associated_id, end_time, 8 more } params, ...)" and
    # "Fetch all recordings for an App": "RecordingGetRecordingsParams { account_id, end_time,
    # expired, 8 more }": the time-range filters, so 5,000 old sessions cost nothing.
    bus = Bus()
    report = sweep_recent_sessions(store=EmptyStore(), client=client_for(standin), publisher=bus, now=NOW)

    assert session_list_pages(standin) == 1  # without the filters: 51 pages of 100
    assert report.considered == RECENT_SESSIONS
    assert report.errors == []
    # Each recent session's participant list is read and enqueued (one page each).
    assert sorted((d.event, d.session_id) for d in bus.details) == [
        (PARTICIPANTS_EVENT, f"new-{i}") for i in range(RECENT_SESSIONS)
    ]
    listed = [(method, path) for method, path in standin.log.requests if path.endswith("/participants")]
    assert len(listed) == RECENT_SESSIONS


def test_without_the_filters_the_whole_history_is_paged(
    standin: RealtimeKitStandin, history: StandinRestState
) -> None:
    """The baseline the first test is measured against: the same App, listed whole."""
    everything = client_for(standin).list_sessions(status="ENDED")
    assert len(everything) == OLD_SESSIONS + RECENT_SESSIONS
    assert session_list_pages(standin) == 51
