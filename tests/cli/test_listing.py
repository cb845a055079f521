"""`meeting-vault sessions` pages through the listing index: filters, pagination, no S3, no scan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local.standin import RealtimeKitStandin
from shared.session.listing import summarize
from shared.session.store import SessionStore
from tests.cli.conftest import Env, cli_env

NOW = datetime.now(UTC).replace(microsecond=0)


def manifest(meeting_id: str, session_id: str, started: datetime, state: str) -> dict[str, Any]:
    artifacts: list[dict[str, Any]] = [
        {"name": "transcript/source", "kind": "transcript_source", "state": "archived", "key": "k"}
    ]
    if state == "failed":
        artifacts.append(
            {
                "name": "chat/source",
                "kind": "chat_source",
                "state": "failed",
                "reason": "empty",
                "message": "0 bytes",
            }
        )
    return {
        "meeting": {"id": meeting_id, "title": f"Title {session_id}"},
        "session": {
            "id": session_id,
            "startedAt": started.isoformat().replace("+00:00", "Z"),
            "durationSeconds": 600.0,
            "state": "live" if state == "pending" else "ended",
        },
        "participants": [{"id": "1"}, {"id": "2"}],
        "artifacts": artifacts,
        "events": {"byType": {"meeting.transcript": 1}},
    }


SESSIONS = [
    # (meeting, session, started, state): one every 2 hours back from now; every 7th failed, every 11th live
    (
        f"m-{i % 4}",
        f"s-{i:03d}",
        NOW - timedelta(hours=2 * i),
        "failed" if i % 7 == 0 else "pending" if i % 11 == 0 else "complete",
    )
    for i in range(120)
]


@pytest.fixture(scope="module")
def listed(running_standin: RealtimeKitStandin) -> Iterator[Env]:
    with pytest.MonkeyPatch.context() as monkeypatch, cli_env(running_standin, monkeypatch) as made:
        store = SessionStore(made.stack.names.sessions_table, made.stack.client("dynamodb"))
        for meeting_id, session_id, started, state in SESSIONS:
            store.put_summary(summarize(manifest(meeting_id, session_id, started, state), now=NOW))
        yield made


def rows(env: Env, *options: str) -> dict[str, Any]:
    result = env.run("sessions", "--json", *options)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def ids(document: dict[str, Any]) -> list[str]:
    return [r["sessionId"] for r in document["sessions"]]


def test_pages_walk_every_session_newest_first_without_repeats(listed: Env) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        document = rows(listed, "--limit", "50", *(("--next", token) if token else ()))
        assert len(document["sessions"]) <= 50
        seen += ids(document)
        pages += 1
        token = document["next"]
        if token is None:
            break
    assert seen == [s for _, s, _, _ in SESSIONS]  # s-000 is the newest
    assert pages in (3, 4)  # 50 + 50 + 20 (+ an empty last page when the cut falls on the end)


def test_filters_since_until_meeting_and_state(listed: Env) -> None:
    # ages count back from when the command runs, a moment after NOW: a session exactly 7 days
    # before NOW is just outside
    expected_week = [s for _, s, started, _ in SESSIONS if started > NOW - timedelta(days=7)]
    assert ids(rows(listed, "--since", "7d", "--limit", "1000")) == expected_week
    assert ids(rows(listed, "--since", "1d", "--until", "12h", "--limit", "100")) == [
        s for _, s, started, _ in SESSIONS if NOW - timedelta(days=1) < started <= NOW - timedelta(hours=12)
    ]
    assert ids(rows(listed, "--state", "failed", "--limit", "100")) == [
        s for _, s, _, state in SESSIONS if state == "failed"
    ]
    assert ids(rows(listed, "--state", "pending", "--limit", "100")) == [
        s for _, s, _, state in SESSIONS if state == "pending"
    ]
    assert ids(rows(listed, "--meeting", "m-1", "--limit", "100")) == [
        s for m, s, _, _ in SESSIONS if m == "m-1"
    ]
    both = [s for m, s, _, state in SESSIONS if m == "m-0" and state == "failed"]
    assert ids(rows(listed, "--meeting", "m-0", "--state", "failed", "--limit", "2")) == both[:2]
    first = rows(listed, "--meeting", "m-0", "--state", "failed", "--limit", "2")
    assert (
        ids(rows(listed, "--meeting", "m-0", "--state", "failed", "--limit", "100", "--next", first["next"]))
        == (both[2:])
    )
    [failed] = [r for r in rows(listed, "--limit", "1")["sessions"]]
    assert failed["status"] == "failed"
    assert failed["failed"] == ["chat"]
    assert failed["archived"] == ["transcript"]


def test_the_table_prints_a_next_page_hint(listed: Env) -> None:
    result = listed.run("sessions", "--limit", "2")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 1 + 2 + 2
    assert lines[-2] == "2 sessions"
    assert lines[-1].startswith("more: meeting-vault sessions ... --next ")


def test_a_bad_next_token_is_one_line(listed: Env) -> None:
    result = listed.run("sessions", "--next", "not-a-token")
    assert result.exit_code == 1
    assert result.stderr == "Error: 'not-a-token' is not a --next token printed by `meeting-vault sessions`\n"


def test_sessions_and_show_read_no_s3_listing_and_no_scan(
    listed: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        made = original(self, service, *args, **kwargs)  # type: ignore[call-overload]
        made.meta.events.register("before-call", lambda model, **_: calls.append(f"{service}:{model.name}"))
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    assert listed.run("sessions", "--since", "7d", "--limit", "50").exit_code == 0
    assert calls == ["cloudformation:DescribeStacks", "dynamodb:Query"]
    calls.clear()
    listed.run("show", "s-005")  # no session.json in this bucket: it fails after the lookup
    assert calls == ["cloudformation:DescribeStacks", "dynamodb:Query", "s3:GetObject"]
