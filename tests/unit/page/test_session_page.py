"""The session page: built with the other derived files, self-contained, every piece of meeting
content escaped, and usable with no recording or no transcript."""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from local.sample_meeting import SampleMeeting
from shared.page.assets import SCRIPT, SCRIPT_HASH
from shared.page.markdown import markdown_to_html
from shared.page.render import PAGE_NAME, media_paths
from shared.session.model import (
    CHAT_SOURCE,
    SUMMARY_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    ArtifactState,
    SeenEvent,
    SessionFacts,
    build_outputs,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def seen(payload: dict[str, object]) -> SeenEvent:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SeenEvent(digest=hashlib.sha256(body).hexdigest(), event=str(payload["event"]), payload=payload)


def archived(name: str, kind: str, key: str) -> ArtifactRecord:
    return ArtifactRecord(
        name=name,
        kind=kind,
        state=ArtifactState.ARCHIVED,
        key=key,
        bytes=10,
        sha256="ab",
        content_type="video/mp4" if kind == "recording" else "text/plain",
        archived_at=datetime(2026, 6, 3, 11, tzinfo=UTC),
    )


def page_for(
    meeting: SampleMeeting, *, recording: bool = True, transcript: bool = True, failed: bool = False
) -> str:
    prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
    urls = {name: f"https://files.test/{name}" for name in meeting.files()}
    artifacts = []
    sources: dict[str, bytes] = {
        CHAT_SOURCE: meeting.chat_csv(),
        SUMMARY_SOURCE: meeting.summary_markdown(),
    }
    artifacts.append(archived(CHAT_SOURCE, "chat_source", prefix + "chat/source.csv"))
    artifacts.append(archived(SUMMARY_SOURCE, "summary", prefix + "summary/summary.md"))
    if recording:
        artifacts.append(
            archived(f"recording/{meeting.recording_id}/video", "recording", prefix + "recordings/r/x.mp4")
        )
    if transcript:
        sources[TRANSCRIPT_SOURCE] = meeting.transcript_csv()
        artifacts.append(archived(TRANSCRIPT_SOURCE, "transcript_source", prefix + "transcript/source.csv"))
    if failed:
        artifacts.append(
            ArtifactRecord(
                name=f"recording/{meeting.recording_id}/audio",
                kind="recording_audio",
                state=ArtifactState.FAILED,
                reason="gone",
                message=f"expired {HOSTILE}",
            )
        )
    facts = SessionFacts(
        meeting.meeting_id, meeting.session_id, [seen(p) for p in meeting.webhooks(urls)], artifacts
    )
    out = build_outputs(facts, sources)
    return out.files[PAGE_NAME][0].decode()


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parsed(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    return collector


def test_page_is_a_derived_file_listed_in_the_manifest() -> None:
    meeting = SampleMeeting()
    urls = {name: f"https://files.test/{name}" for name in meeting.files()}
    facts = SessionFacts(meeting.meeting_id, meeting.session_id, [seen(p) for p in meeting.webhooks(urls)])
    out = build_outputs(facts)
    page = out.files[PAGE_NAME]
    assert page[1] == "text/html; charset=utf-8"
    manifest = json.loads(out.manifest)
    listed = {f["path"]: f for f in manifest["derivedFiles"]}
    assert listed[PAGE_NAME]["sha256"] == hashlib.sha256(page[0]).hexdigest()
    assert build_outputs(facts).files[PAGE_NAME] == page  # same facts, same bytes


def test_page_shows_the_session() -> None:
    meeting = SampleMeeting()
    page = page_for(meeting)
    assert '<h1 id="title">Weekly sync — Q3 planning</h1>' in page
    assert "Wed 03 Jun 2026, 10:00 UTC" in page
    assert "30 min" in page
    assert "Chen &quot;CJ&quot; Jie" in page  # participants, escaped
    starts = re.findall(r'<li data-start="(-?[0-9.]+)">', page)
    # One line per utterance, with its start in the recording (it starts 2 s into the session).
    assert starts[:3] == ["-0.800", "3.400", "9.800"]
    assert len(starts) == 7
    assert '<track kind="captions" data-rel="transcript/transcript.vtt"' in page
    assert '<source data-rel="recordings/r/x.mp4" src="recordings/r/x.mp4" type="video/mp4">' in page
    assert "<h4>Action Items</h4>" in page
    assert "<li>Chen: update the FAQ by Wednesday.</li>" in page
    assert 'class="seg" data-start="-0.800"' in page  # speaker timeline
    assert "Thanks all!" in page


def test_page_is_self_contained_and_runs_only_its_own_script() -> None:
    page = page_for(SampleMeeting())
    tags = parsed(page)
    for tag, attrs in tags.tags:
        assert tag != "link"
        assert not (tag == "script" and "src" in attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href") and value:
                assert not re.match(r"^(https?:)?//", value), value  # relative paths only
    assert tags.scripts == [SCRIPT]
    assert html.escape(f"script-src '{SCRIPT_HASH}'") in page


def test_hostile_names_and_messages_are_text() -> None:
    people = (
        SampleMeeting.people[0],
        SampleMeeting.people[1].__class__(HOSTILE, "u-evil", "evil@example.com", ("peer-e1", "peer-e2")),
        SampleMeeting.people[2],
    )
    meeting = SampleMeeting(title=f"Sync {HOSTILE}", people=people)
    page = page_for(meeting, failed=True)
    tags = parsed(page)
    assert [t for t, _ in tags.tags].count("script") == 1
    assert not any(t == "img" for t, _ in tags.tags)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert HOSTILE not in page


def test_without_recording_or_transcript() -> None:
    no_recording = page_for(SampleMeeting(), recording=False)
    assert "No recording was archived" in no_recording
    # the captions still show over an empty video element? no: without media there is no player
    assert "<video" not in no_recording
    assert "data-start=" in no_recording
    no_transcript = page_for(SampleMeeting(), transcript=False)
    assert "No transcript was archived" in no_transcript
    assert "<video" in no_transcript
    assert "<track" not in no_transcript


def test_failed_artifacts_show_their_reason() -> None:
    page = page_for(SampleMeeting(), failed=True)
    assert '<td class="failed">failed</td>' in page
    assert "gone: expired &lt;script&gt;" in page


def test_media_paths_are_what_the_page_loads() -> None:
    manifest = {
        "meeting": {"id": "m"},
        "session": {"id": "s"},
        "artifacts": [
            {
                "kind": "recording_audio",
                "state": "archived",
                "key": "meetings/m/sessions/s/recordings/r/a.mp3",
            },
            {"kind": "recording", "state": "archived", "key": "meetings/m/sessions/s/recordings/r/v.mp4"},
            {"kind": "recording", "state": "failed"},
        ],
    }
    assert media_paths(manifest, captions=True) == [
        "recordings/r/v.mp4",
        "recordings/r/a.mp3",
        "transcript/transcript.vtt",
    ]


def two_recordings_page(
    first_id: str, second_id: str, *, first_archived: bool = True
) -> tuple[str, dict[str, Any]]:
    """The sample session with a second recording (stopped and started again 10 minutes in)."""
    meeting = SampleMeeting(recording_id=first_id)
    prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
    urls = {name: f"https://files.test/{name}" for name in meeting.files()}
    payloads = meeting.webhooks(urls)
    for payload in list(payloads):
        if payload["event"] == "recording.statusUpdate":
            later = json.loads(json.dumps(payload))
            later["recording"]["id"] = later["recording"]["recordingId"] = second_id
            later["recording"]["startedTime"] = "2026-06-03T10:10:00.000Z"
            payloads.append(later)
    artifacts = [
        archived(f"recording/{second_id}/video", "recording", f"{prefix}recordings/{second_id}/b.mp4")
    ]
    if first_archived:
        artifacts.append(
            archived(f"recording/{first_id}/video", "recording", f"{prefix}recordings/{first_id}/a.mp4")
        )
    artifacts.append(archived(TRANSCRIPT_SOURCE, "transcript_source", prefix + "transcript/source.csv"))
    facts = SessionFacts(meeting.meeting_id, meeting.session_id, [seen(p) for p in payloads], artifacts)
    out = build_outputs(facts, {TRANSCRIPT_SOURCE: meeting.transcript_csv()})
    return out.files[PAGE_NAME][0].decode(), json.loads(out.manifest)


@pytest.mark.parametrize(
    ("first_id", "second_id"),
    [("ffffffff-first", "00000000-second"), ("00000000-first", "ffffffff-second")],
)
def test_several_recordings_play_the_one_the_transcript_is_timed_against(
    first_id: str, second_id: str
) -> None:
    page, manifest = two_recordings_page(first_id, second_id)
    # The first recording (earliest start) is the time base, whichever way the ids sort.
    assert manifest["timeBase"]["recordingId"] == first_id
    assert manifest["transcriptTimeBase"] == "recording_start"
    player = re.search(r'<video id="player"[^>]*>(.*?)</video>', page)
    assert player is not None
    assert re.findall(r'<source data-rel="([^"]+)"', player.group(1)) == [f"recordings/{first_id}/a.mp4"]
    assert '<track kind="captions"' in player.group(1)
    # Both are listed as links, the one playing first.
    assert re.findall(r'<a data-rel="([^"]+)"', page) == [
        f"recordings/{first_id}/a.mp4",
        f"recordings/{second_id}/b.mp4",
    ]
    assert re.findall(r'<li data-start="(-?[0-9.]+)">', page)[:2] == ["-0.800", "3.400"]


def test_no_other_recording_plays_against_the_transcript_of_one_not_archived() -> None:
    page, manifest = two_recordings_page("ffffffff-first", "00000000-second", first_archived=False)
    assert manifest["timeBase"]["recordingId"] == "ffffffff-first"
    assert "<video" not in page
    assert "<audio" not in page
    assert "(ffffffff-first) is not archived" in page
    assert 'href="recordings/00000000-second/b.mp4"' in page


def test_markdown_subset_escapes_first() -> None:
    assert markdown_to_html("## A <b>\n- **x** and `<i>`\n\ntext *em*") == (
        "<h4>A &lt;b&gt;</h4>\n<ul>\n<li><strong>x</strong> and <code>&lt;i&gt;</code></li>\n</ul>\n"
        "<p>text <em>em</em></p>"
    )
    assert "[a](javascript:x)" in markdown_to_html("[a](javascript:x)")  # links stay text
