"""`meeting-vault open`: a presigned page URL whose fragment carries presigned media URLs; the
stored page holds neither."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from local.standin import RealtimeKitStandin
from shared.archive.keys import session_prefix
from tests.cli.conftest import MEETING, Env, archive_sample_meeting, cli_env

PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)


@pytest.fixture(scope="module")
def archived(running_standin: RealtimeKitStandin) -> Iterator[Env]:
    with pytest.MonkeyPatch.context() as monkeypatch, cli_env(running_standin, monkeypatch) as made:
        archive_sample_meeting(made)
        yield made


def test_open_prints_a_presigned_page_with_presigned_media(archived: Env) -> None:
    result = archived.run("open", MEETING.session_id, "--expires", "900")
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    page_part, _, fragment = url.partition("#media=")
    parts = urlsplit(page_part)
    assert parts.netloc == f"{archived.stack.names.bucket}.s3.amazonaws.com"  # virtual-hosted: one origin
    assert parts.path == f"/{PREFIX}index.html"
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["900"]
    assert "X-Amz-Signature" in query
    media = json.loads(unquote(fragment))
    assert sorted(media) == [
        f"recordings/{MEETING.recording_id}/weekly-sync-audio.mp3",
        f"recordings/{MEETING.recording_id}/weekly-sync.mp4",
        "transcript/transcript.vtt",
    ]
    for path, signed in media.items():
        assert urlsplit(signed).netloc == parts.netloc
        assert parse_qs(urlsplit(signed).query)["X-Amz-Expires"] == ["900"]
        # Each presigned URL fetches its object (moto checks the request like S3 would route it).
        assert (
            requests.get(signed, timeout=10).content
            == archived.stack.client("s3")
            .get_object(Bucket=archived.stack.names.bucket, Key=PREFIX + path)["Body"]
            .read()
        )
    page = requests.get(page_part, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "X-Amz-" not in page.text  # the stored page holds no URL and no credential
    assert f'data-rel="recordings/{MEETING.recording_id}/weekly-sync.mp4"' in page.text
    assert "valid for 900 s" in result.stderr


def test_open_refuses_a_bad_expiry_and_an_unknown_session(archived: Env) -> None:
    assert archived.run("open", MEETING.session_id, "--expires", "700000").exit_code == 2
    result = archived.run("open", "no-such-session")
    assert result.exit_code != 0
    assert "session no-such-session is not in the sessions index" in result.output
