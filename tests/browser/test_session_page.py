"""The session page of the demo session, in headless Chromium, served by local mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import webvtt

from local.sample_meeting import Person, SampleMeeting
from tests.browser.conftest import HOSTILE, ArchivedSessions, session_outputs


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.1)


def open_page(browser: Any, url: str) -> None:
    browser.get(url)
    # The player has loaded its metadata (duration known) and the captions track its cues.
    wait_for(
        lambda: browser.execute_script(
            "var p = document.getElementById('player'); return p && p.readyState >= 1;"
        )
    )


def test_page_loads_with_player_and_captions(
    browser: Any, archived: ArchivedSessions, output_dir: Path
) -> None:
    open_page(browser, archived.page_url(archived.demo))
    assert browser.title == archived.demo.title
    assert browser.find_element("id", "title").text == archived.demo.title
    vtt = archived.read(archived.demo, "transcript/transcript.vtt").decode()
    expected = len(webvtt.from_string(vtt).captions)
    cues = wait_for(
        lambda: browser.execute_script(
            "var t = document.getElementById('player').textTracks[0];"
            "return t && t.cues && t.cues.length ? t.cues.length : 0;"
        )
    )
    assert cues == expected == 7
    # The player plays the archived audio-only file: the sample's MP4 is not a real video.
    source = browser.execute_script("return document.getElementById('player').currentSrc")
    assert source.endswith("weekly-sync-audio.mp3")
    assert browser.execute_script("return document.getElementById('player').duration") > 40
    shot = output_dir / "session-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clicking_the_third_line_seeks_and_highlights_it(browser: Any, archived: ArchivedSessions) -> None:
    open_page(browser, archived.page_url(archived.demo))
    lines = browser.find_elements("css selector", "#transcript li")
    third = lines[2]
    start = float(third.get_attribute("data-start"))
    assert (
        start == 9.8
    )  # the sample transcript's third utterance, 11.8 s into a session whose recording began at 2 s
    third.click()
    wait_for(
        lambda: (
            abs(browser.execute_script("return document.getElementById('player').currentTime") - start) < 0.3
        )
    )
    assert "current" in third.get_attribute("class")
    # Playing moves the highlight on with the media.
    browser.execute_script("var p = document.getElementById('player'); p.currentTime = 23.5; p.play();")
    wait_for(lambda: "current" in lines[4].get_attribute("class"))
    browser.execute_script("document.getElementById('player').pause()")
    assert "current" not in third.get_attribute("class")


def test_hostile_names_render_as_text(browser: Any, archived: ArchivedSessions, output_dir: Path) -> None:
    browser.get(archived.page_url(archived.hostile))
    wait_for(lambda: browser.execute_script("return document.readyState === 'complete'"))
    assert browser.find_element("id", "title").text == f"Sync {HOSTILE}"
    assert browser.execute_script("return window.__owned === undefined")
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    people = [li.text for li in browser.find_elements("css selector", "#people li")]
    assert f"Mallory {HOSTILE}" in people
    speakers = {el.text for el in browser.find_elements("css selector", "#transcript .who")}
    assert f"Mallory {HOSTILE}" in speakers
    failed = browser.find_element("css selector", "#artifacts td.failed").find_element("xpath", "..").text
    assert HOSTILE in failed
    browser.save_screenshot(str(output_dir / "hostile-session-page.png"))


def test_archive_server_answers_ranges(archived: ArchivedSessions) -> None:
    import urllib.request

    prefix = f"meetings/{archived.demo.meeting_id}/sessions/{archived.demo.session_id}/"
    key = next(k for k, _ in archived.stack.list_archive(prefix) if k.endswith("-audio.mp3"))
    request = urllib.request.Request(archived.stack.archive_url(key), headers={"Range": "bytes=100-199"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 206
        assert response.headers["Content-Range"].startswith("bytes 100-199/")
        assert response.read() == archived.stack.read_object(key)[100:200]


def test_a_long_unbroken_name_does_not_widen_the_page(browser: Any, tmp_path: Path, output_dir: Path) -> None:
    # A 211-character name without a break opportunity: in the participants, the timeline's legend,
    # the transcript and the chat, it wraps instead of pushing the page wider than the window.
    name = "Bartholomew" + "X" * 200
    alice, jose, chen = SampleMeeting.people
    meeting = SampleMeeting(
        people=(Person(name, alice.user_id, alice.custom_participant_id, alice.peer_ids), jose, chen)
    )
    page = tmp_path / "index.html"
    page.write_bytes(session_outputs(meeting).files["index.html"][0])
    browser.set_window_size(1280, 900)
    try:
        browser.get(page.as_uri())
        wait_for(lambda: browser.execute_script("return document.readyState === 'complete'"))
        assert len(browser.find_element("css selector", "#people li").text) == len(name)
        widths = browser.execute_script(
            "var d = document.documentElement, r = {page: [d.scrollWidth, d.clientWidth]};"
            "['#people', '#timeline + .legend', '#transcript', '#chat'].forEach(function(s){"
            "  var e = document.querySelector(s); r[s] = [e.scrollWidth, e.clientWidth]; });"
            "return r;"
        )
        assert widths["page"][1] <= 1280
        for part, (scroll_width, client_width) in widths.items():
            assert scroll_width <= client_width, (part, widths)
        browser.save_screenshot(str(output_dir / "long-name-session-page.png"))
    finally:
        browser.set_window_size(1400, 1000)
