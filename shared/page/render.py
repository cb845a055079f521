"""``index.html`` of a session, from its manifest and derived files.

Media are referred to by paths relative to the session folder (``recordings/{id}/x.mp4``,
``transcript/transcript.vtt``), so the page works wherever the folder is served: ``meeting-vault
dev``, a downloaded copy, or S3 with presigned URLs passed in the fragment (``meeting-vault open``)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.page.assets import CONTENT_SECURITY_POLICY, SCRIPT, STYLE
from shared.page.markdown import markdown_to_html, text_to_html

PAGE_NAME = "index.html"
PAGE_CONTENT_TYPE = "text/html; charset=utf-8"
CAPTIONS = "transcript/transcript.vtt"
_VIDEO_KINDS = ("recording",)
_AUDIO_KINDS = ("recording_audio",)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes < 10 else f"{minutes} min"


def _when(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.strftime("%a %d %b %Y, %H:%M UTC")


def _colour(person_id: object) -> str:
    index = person_id if isinstance(person_id, int) else sum(map(ord, str(person_id)))
    return f"hsl({(index * 137) % 360} 62% 52%)"


@dataclass(frozen=True)
class Media:
    path: str  # relative to the session folder
    content_type: str
    kind: str  # "video" | "audio"
    recording: str  # the recording id (from the artifact's name, else the file's folder)


@dataclass(frozen=True)
class PageInputs:
    """What the page shows: the manifest (``session.json`` as a dict), the derived documents that
    exist (parsed JSON), and the summary text with its format."""

    manifest: Mapping[str, Any]
    transcript: list[dict[str, Any]] | None = None
    timeline: list[dict[str, Any]] | None = None
    chat: list[dict[str, Any]] | None = None
    summary: str | None = None
    summary_is_markdown: bool = True
    captions: bool = False  # transcript/transcript.vtt exists

    @classmethod
    def from_files(
        cls, manifest: Mapping[str, Any], files: Mapping[str, bytes], summary: tuple[str, bool] | None
    ) -> PageInputs:
        def doc(path: str) -> list[dict[str, Any]] | None:
            data = files.get(path)
            return json.loads(data) if data is not None else None

        return cls(
            manifest=manifest,
            transcript=doc("transcript/transcript.json"),
            timeline=doc("transcript/speaker_timeline.json"),
            chat=doc("chat/chat.json"),
            summary=summary[0] if summary else None,
            summary_is_markdown=summary[1] if summary else True,
            captions=CAPTIONS in files,
        )


def _recording_id(artifact: Mapping[str, Any], path: str) -> str:
    """The recording a file belongs to: ``recording/{id}/video|audio`` names it; else its folder."""
    parts = str(artifact.get("name") or "").split("/")
    if len(parts) == 3 and parts[0] == "recording" and parts[1]:
        return parts[1]
    return path.rsplit("/", 1)[0]


def played_recording(manifest: Mapping[str, Any]) -> str | None:
    """The recording the transcript's times count from (``timeBase.recordingId``), if known."""
    base = manifest.get("timeBase")
    recording_id = base.get("recordingId") if isinstance(base, Mapping) else None
    return recording_id if isinstance(recording_id, str) and recording_id else None


def session_media(manifest: Mapping[str, Any]) -> list[Media]:
    """Archived recordings, by recording: the composite file first, then its audio-only file. The
    recording the transcript's times count from (``timeBase.recordingId``) comes first."""
    meeting = manifest.get("meeting") or {}
    session = manifest.get("session") or {}
    prefix = f"meetings/{meeting.get('id')}/sessions/{session.get('id')}/"
    found: list[Media] = []
    for artifact in manifest.get("artifacts") or []:
        key = artifact.get("key") or ""
        if artifact.get("state") != "archived" or not key.startswith(prefix):
            continue
        kind = artifact.get("kind")
        if kind in _VIDEO_KINDS or kind in _AUDIO_KINDS:
            path = key.removeprefix(prefix)
            found.append(
                Media(
                    path=path,
                    content_type=str(artifact.get("content_type") or ""),
                    kind="video" if kind in _VIDEO_KINDS else "audio",
                    recording=_recording_id(artifact, path),
                )
            )
    played = played_recording(manifest)
    found.sort(key=lambda m: (m.recording != played, m.recording, m.kind != "video", m.path))
    return found


def media_paths(manifest: Mapping[str, Any], captions: bool) -> list[str]:
    """Every relative path the page loads or links (what ``meeting-vault open`` presigns)."""
    return [m.path for m in session_media(manifest)] + ([CAPTIONS] if captions else [])


def _relative_start(word: Mapping[str, Any]) -> float | None:
    stamp = word.get("start_timestamp") or {}
    value = stamp.get("relative")
    return float(value) if isinstance(value, int | float) else None


def _player(inputs: PageInputs) -> str:
    media = session_media(inputs.manifest)
    if not media:
        return '<p class="none">No recording was archived for this session.</p>'
    links = "".join(
        f'<li><a data-rel="{_e(m.path)}" href="{_e(m.path)}" download>{_e(m.path)}</a> ({_e(m.kind)})</li>'
        for m in media
    )
    played = played_recording(inputs.manifest)
    if played is not None and media[0].recording != played:
        # The transcript's times (captions, seeking) count from a recording that is not archived:
        # another recording would play out of step with them, so none is played.
        return (
            f'<p class="none">The recording the transcript is timed against ({_e(played)}) is not archived; '
            f'the other recordings are listed below.</p><ul class="legend">{links}</ul>'
        )
    # The recording the transcript's times count from (else the first one) plays; all are linked.
    playing = [m for m in media if m.recording == media[0].recording]
    # A <video> also plays an audio-only file, and shows the captions over it. The audio file
    # follows the composite one as a fallback source (a codec the browser lacks, a damaged file).
    tag = "video" if any(m.kind == "video" for m in playing) or inputs.captions else "audio"
    sources = "".join(
        f'<source data-rel="{_e(m.path)}" src="{_e(m.path)}" type="{_e(m.content_type.split(";")[0])}">'
        for m in playing
    )
    track = (
        f'<track kind="captions" data-rel="{CAPTIONS}" src="{CAPTIONS}" srclang="en" label="Transcript" default>'
        if inputs.captions
        else ""
    )
    return (
        f'<{tag} id="player" controls preload="metadata" playsinline>{sources}{track}</{tag}>'
        f'<ul class="legend">{links}</ul>'
    )


def _timeline(inputs: PageInputs) -> str:
    runs = inputs.timeline or []
    if not runs:
        return ""
    ends: list[float] = []
    for run in runs:
        start = _relative_start(run) or 0.0
        end = (run.get("end_timestamp") or {}).get("relative")
        ends.append(float(end) if isinstance(end, int | float) else start)
    # The bar spans the transcript (a meeting's silent tail would squeeze every run to the left).
    total = max([*ends, (_relative_start(runs[-1]) or 0.0) + 5.0, 1.0])
    segments = []
    people: dict[object, str] = {}
    for index, run in enumerate(runs):
        start = _relative_start(run) or 0.0
        end = ends[index]
        if end <= start:  # no end times in the source: the run lasts until the next one starts
            following = _relative_start(runs[index + 1]) if index + 1 < len(runs) else None
            end = following if following is not None and following > start else start + 5.0
        person = run.get("participant") or {}
        name = person.get("name") or f"Participant {person.get('id')}"
        people.setdefault(person.get("id"), name)
        segments.append(
            f'<button type="button" class="seg" data-start="{start:.3f}" '
            f'style="left:{100 * start / total:.3f}%;width:{100 * (end - start) / total:.3f}%;'
            f'background:{_colour(person.get("id"))}" title="{_e(name)} {clock(start)}"></button>'
        )
    legend = "".join(
        f'<li><i style="background:{_colour(pid)}"></i>{_e(name)}</li>' for pid, name in people.items()
    )
    return (
        f'<div id="timeline" data-total="{total:.3f}" aria-label="Who spoke when">'
        f'{"".join(segments)}<span class="cursor"></span></div><ul class="legend">{legend}</ul>'
    )


def _transcript(inputs: PageInputs) -> str:
    if inputs.transcript is None:
        return '<p class="none">No transcript was archived for this session.</p>'
    items = []
    for entry in inputs.transcript:
        words = entry.get("words") or [{}]
        start = _relative_start(words[0])
        name = (entry.get("participant") or {}).get("name") or "Unknown speaker"
        text = " ".join(str(w.get("text") or "") for w in words)
        attr = f' data-start="{start:.3f}"' if start is not None else ""
        items.append(
            f'<li{attr}><span class="time">{clock(start)}</span>'
            f'<span><span class="who">{_e(name)}</span><span class="text">{_e(text)}</span></span></li>'
        )
    return f'<ol id="transcript">{"".join(items)}</ol>'


def _chat(inputs: PageInputs) -> str:
    if inputs.chat is None:
        return '<p class="none">No chat was archived for this session.</p>'
    if not inputs.chat:
        return '<p class="none">The chat is empty.</p>'
    items = []
    for message in inputs.chat:
        who = message.get("display_name") or (message.get("participant") or {}).get("name") or "Unknown"
        body = message.get("text")
        if body is None and message.get("file"):
            file = message.get("file") or {}
            body = f"[{message.get('type') or 'file'}] {file.get('name') or file.get('url') or ''}"
        at = message.get("created_at") or ""
        items.append(
            f'<li><span class="time">{_e(at[11:19] if len(at) >= 19 else at)}</span> '
            f'<span class="who">{_e(who)}</span><span class="text">{_e(body or "")}</span></li>'
        )
    return f'<ul id="chat">{"".join(items)}</ul>'


def _summary(inputs: PageInputs) -> str:
    if inputs.summary is None:
        return '<p class="none">No summary was archived for this session.</p>'
    body = markdown_to_html(inputs.summary) if inputs.summary_is_markdown else text_to_html(inputs.summary)
    return f'<div id="summary">{body}</div>'


def _artifacts(manifest: Mapping[str, Any]) -> str:
    rows = []
    for artifact in manifest.get("artifacts") or []:
        state = str(artifact.get("state") or "")
        detail = ": ".join(str(x) for x in (artifact.get("reason"), artifact.get("message")) if x)
        size = artifact.get("bytes")
        rows.append(
            f'<tr><td>{_e(artifact.get("name"))}</td><td class="{_e(state)}">{_e(state)}</td>'
            f"<td>{_e(f'{size:,} bytes' if isinstance(size, int) else '')}</td><td>{_e(detail)}</td></tr>"
        )
    if not rows:
        return '<p class="none">No artifact has been archived yet.</p>'
    return (
        '<table id="artifacts"><thead><tr><th>Artifact</th><th>State</th><th>Size</th><th>Reason</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _participants(manifest: Mapping[str, Any]) -> str:
    people = manifest.get("participants") or []
    if not people:
        return '<p class="none">No participant is known.</p>'
    items = "".join(
        f"<li>{_e(p.get('name') or 'Participant ' + str(p.get('id')))}{' (host)' if p.get('is_host') else ''}</li>"
        for p in people
    )
    return f'<ul id="people">{items}</ul>'


def render_session_page(inputs: PageInputs) -> bytes:
    manifest = inputs.manifest
    meeting = manifest.get("meeting") or {}
    session = manifest.get("session") or {}
    title = meeting.get("title") or meeting.get("roomName") or "Untitled meeting"
    meta = [
        _when(session.get("startedAt")),
        _duration(session.get("durationSeconds")),
        f"{len(manifest.get('participants') or [])} participants",
        f"session {session.get('id')}" if session.get("id") else None,
        "live" if session.get("state") == "live" else None,
    ]
    timeline = _timeline(inputs)
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">
<title>{_e(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1 id="title">{_e(title)}</h1>
<div class="meta">{"".join(f"<span>{_e(part)}</span>" for part in meta if part)}</div>
</header>
<main>
<div>
<section id="recording"><h2>Recording</h2>{_player(inputs)}{timeline}</section>
<section><h2>Transcript</h2>{_transcript(inputs)}</section>
</div>
<div>
<section><h2>Summary</h2>{_summary(inputs)}</section>
<section><h2>Participants</h2>{_participants(manifest)}</section>
<section><h2>Chat</h2>{_chat(inputs)}</section>
<section><h2>Artifacts</h2>{_artifacts(manifest)}</section>
</div>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
    return page.encode("utf-8")
