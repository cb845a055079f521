"""Hostile signed bodies through the whole pipeline on moto: the ingest handler, the bus, every
consumer queue and the real consumers (``tests.reliability.harness``), property-based.

Bodies: unknown events with random and unsafe ids (control characters included), known events
with one id field made hostile, bodies near the size cap, bodies nested past the depth limit,
rejoin storms, and transcript and chat webhooks whose files are malformed. Every body is signed
with RealtimeKit's key, as an attacker who is a RealtimeKit customer could have them signed.

For every body: the endpoint answers the contract's status, no consumer raises, nothing is
dead-lettered, the body is stored byte for byte (under its session or ``unattributed/``), no
session record is written for an unsafe id, and each transcript or chat file is recorded as
archived or failed, its bytes kept."""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.sample_meeting import SAMPLE_APP_ID
from shared.archive.keys import is_safe_id
from tests.conftest import EVENTS_DIR
from tests.reliability.harness import Pipeline, Servers, running_pipeline
from tests.support.figures import hostile_examples, record_figure

MAX_BODY = 64 * 1024
SAMPLES = {p.stem: json.loads(p.read_text()) for p in sorted(EVENTS_DIR.glob("*.json"))}
PROPERTY = settings(
    max_examples=hostile_examples(ci=30, full=60),
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
CONTROL = ["\n", "\r", "\x00", "\t", "\x1b", "\x7f", "\x85", "\u2028"]
ID_PLACES = [("meeting", "id"), ("meeting", "sessionId"), ("meetingId",), ("sessionId",), ("recording", "id")]


@dataclass
class Tally:
    sent: int = 0
    crashes: int = 0
    lost: list[str] = field(default_factory=list)
    dead_lettered: int = 0
    unsafe_records: int = 0


@pytest.fixture
def pipeline(
    servers: Servers, record_property: Callable[[str, object], None]
) -> Iterator[tuple[Pipeline, Tally]]:
    tally = Tally()
    with running_pipeline(servers, extra_env={"SUMMARY_MODE": "off"}) as running:
        yield running, tally
    record_figure(
        record_property,
        "hostile consumers",
        examples=tally.sent,
        crashes=tally.crashes,
        lost=len(tally.lost),
        dead_lettered=tally.dead_lettered,
        unsafe_records=tally.unsafe_records,
    )


safe_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{3,20}", fullmatch=True)
hostile_ids = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["..", "../../etc", "a/b", "%2e%2e", "x" * 129, "a b", "ünï", ".hidden", ""]),
    st.tuples(safe_ids, st.sampled_from(CONTROL), st.sampled_from(["end", "start", "middle"])).map(
        lambda t: (
            t[0] + t[1] if t[2] == "end" else (t[1] + t[0] if t[2] == "start" else t[0][:2] + t[1] + t[0][2:])
        )
    ),
)


def _put(document: dict[str, Any], place: tuple[str, ...], value: Any) -> None:
    node = document
    for part in place[:-1]:
        node = node.setdefault(part, {}) if isinstance(node.get(part), dict | None) else node
    node[place[-1]] = value


@st.composite
def hostile_bodies(draw: st.DrawFn) -> list[bytes]:
    """One example: the signed bodies it sends (a rejoin storm sends many)."""
    kind = draw(st.sampled_from(["unknown", "known_bad_id", "huge", "deep", "storm", "unknown_safe"]))
    meeting, session = draw(safe_ids), draw(safe_ids)
    if kind in ("unknown", "unknown_safe"):
        name = draw(
            st.one_of(st.just("meeting.somethingNew"), st.text(string.printable, min_size=1, max_size=40))
        )
        body: dict[str, Any] = {"event": name}
        for place in draw(st.lists(st.sampled_from(ID_PLACES[:4]), min_size=1, max_size=4, unique=True)):
            value = draw(safe_ids if kind == "unknown_safe" else st.one_of(hostile_ids, safe_ids))
            _put(body, place, value)
        return [json.dumps(body).encode()]
    if kind == "known_bad_id":
        body = json.loads(json.dumps(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))]))
        present = [p for p in ID_PLACES if _get(body, p) is not None]
        if present:
            _put(body, draw(st.sampled_from(present)), draw(hostile_ids))
        return [json.dumps(body).encode()]
    if kind == "huge":
        body = {"event": "meeting.started", "meeting": {"id": meeting, "sessionId": session}}
        size = draw(st.sampled_from([MAX_BODY - 400, MAX_BODY - 100, MAX_BODY + 1]))
        body["meeting"]["title"] = draw(st.sampled_from(["x", "é", "\x01", "\\", '"'])) * (size // 6)
        raw = json.dumps(body, ensure_ascii=False).encode()
        return [raw + b" " * max(0, size - len(raw))]
    if kind == "deep":
        depth = draw(st.sampled_from([63, 65, 500, 5_000]))
        inner = "[" * depth + "1" + "]" * depth
        return [
            (
                f'{{"event":"meeting.participantJoined","meeting":{{"id":"{meeting}","sessionId":"{session}"}},'
                f'"participant":{{"peerId":"p","x":{inner}}}}}'
            ).encode()
        ]
    pairs = draw(st.integers(1, 15))  # storm: one person rejoining with a new peer id each time
    bodies = []
    for n in range(pairs):
        participant = {"peerId": f"peer-{n}", "userId": "u-1", "userDisplayName": draw(st.text(max_size=20))}
        for event, at in (("meeting.participantJoined", "joinedAt"), ("meeting.participantLeft", "leftAt")):
            bodies.append(
                json.dumps(
                    {
                        "event": event,
                        "meeting": {"id": meeting, "sessionId": session},
                        "participant": {**participant, at: f"2026-06-03T10:{n // 60:02d}:{n % 60:02d}.000Z"},
                    }
                ).encode()
            )
    return bodies


def _get(document: dict[str, Any], place: tuple[str, ...]) -> Any:
    node: Any = document
    for part in place:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_stored(pipeline: Pipeline, tally: Tally, bodies: list[bytes]) -> None:
    """Every accepted body is in the bucket byte for byte, and nothing is dead-lettered."""
    objects = pipeline.objects()
    stored = {hashlib.sha256(data).hexdigest() for key, data in objects.items() if "/events/" in key}
    for body in bodies:
        if len(body) <= MAX_BODY and hashlib.sha256(body).hexdigest() not in stored:
            tally.lost.append(hashlib.sha256(body).hexdigest())
    dead = pipeline.dead_letters()
    tally.dead_lettered += sum(dead.values())
    items = pipeline.client("dynamodb").scan(TableName=pipeline.names.sessions_table)["Items"]
    unsafe = [i["pk"]["S"] for i in items if not all(is_safe_id(p) for p in i["pk"]["S"].split("/", 1))]
    tally.unsafe_records += len(unsafe)
    assert tally.lost == []
    assert dead == {}
    assert unsafe == []


def deliver(pipeline: Pipeline, tally: Tally, body: bytes) -> None:
    tally.sent += 1
    try:
        status = pipeline.deliver(body)
    except Exception:
        tally.crashes += 1
        raise
    assert status == (413 if len(body) > MAX_BODY else 202)


def test_hostile_signed_bodies_never_poison_the_consumers(pipeline: tuple[Pipeline, Tally]) -> None:
    running, tally = pipeline

    @PROPERTY
    @given(bodies=hostile_bodies())
    def check(bodies: list[bytes]) -> None:
        for body in bodies:
            deliver(running, tally, body)
        running.pump()
        check_stored(running, tally, bodies)

    check()


# -- malformed transcripts and chat exports, served for a signed webhook ------------------------------
@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "csv", "json", "deep", "truncated", "bad_time", "text"]))
    if kind == "random":
        return draw(st.binary(max_size=2048))
    if kind == "csv":
        rows = draw(st.lists(st.lists(st.text(max_size=30), max_size=12), max_size=20))
        return "\n".join(",".join(r) for r in rows).encode()
    if kind == "json":
        leaf = st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
        )
        value = st.recursive(
            leaf,
            lambda c: st.one_of(
                st.lists(c, max_size=5), st.dictionaries(st.text(max_size=10), c, max_size=5)
            ),
            max_leaves=30,
        )
        return json.dumps(draw(value)).encode()
    if kind == "deep":
        return draw(st.sampled_from([b"[", b'{"a":'])) * draw(st.sampled_from([1_000, 100_000]))
    if kind == "truncated":
        sample = (
            b'[{"startTime": 1200, "sentence": "Good morning", "peerData": {"id": "p1", "displayName": "A"}}]'
        )
        return sample[: draw(st.integers(1, len(sample) - 1))]
    if kind == "bad_time":
        return f"{draw(st.text(max_size=10))},p,u,c,Name,{draw(st.text(max_size=30))}\n".encode()
    return draw(st.text(max_size=300)).encode()


def test_malformed_transcripts_and_chat_are_kept_and_failed_never_retried(
    pipeline: tuple[Pipeline, Tally], servers: Servers
) -> None:
    running, tally = pipeline
    served = 0

    @PROPERTY
    @given(
        data=hostile_files(),
        chat=st.booleans(),
        session=safe_ids,
        content_type=st.sampled_from(["text/csv", "application/json", "text/plain"]),
    )
    def check(data: bytes, chat: bool, session: str, content_type: str) -> None:
        nonlocal served
        served += 1
        session = f"{session}-{served}"  # a new session each time: the once-per-session guard hides nothing
        url = servers.files.serve(f"/hostile/{served}", data, content_type=content_type)
        meeting = "hostile-meeting"
        if chat:
            body = {
                "event": "meeting.chatSynced",
                "meetingId": meeting,
                "sessionId": session,
                "chatDownloadUrl": url,
                "organizationId": SAMPLE_APP_ID,  # ours: an unnamed app would be checked over REST
            }
        else:
            body = {
                "event": "meeting.transcript",
                "meeting": {"id": meeting, "sessionId": session, "organizedBy": {"id": SAMPLE_APP_ID}},
                "transcriptDownloadUrl": url,
            }
        raw = json.dumps(body).encode()
        deliver(running, tally, raw)
        running.pump()
        check_stored(running, tally, [raw])
        prefix = f"meetings/{meeting}/sessions/{session}/"
        objects = running.objects(prefix)
        name = "chat/source" if chat else "transcript/source"
        record = next(
            a for a in json.loads(objects[prefix + "session.json"])["artifacts"] if a["name"] == name
        )
        if data.strip():
            assert objects[record["key"]] == data  # kept as served, whatever became of it
        assert record["state"] in ("archived", "failed")

    check()
