from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.archive import fetch as artifact_fetch
from shared.archive.fetch import ArtifactFetcher, ArtifactGone, Link, NoDownloadUrl
from shared.archive.transfer import TransferRequest
from shared.archive.url_policy import UrlPolicy
from shared.core.exceptions import NotMediaError, RealtimeKitNotFound, SourceExpired

NOW = datetime(2026, 6, 5, 12, tzinfo=UTC)


class FakeTransfer:
    def __init__(self, refuse: set[str], error_pages: set[str] | None = None) -> None:
        self.refuse = refuse
        self.error_pages = error_pages or set()  # answer 200 with an HTML page
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, request: TransferRequest, **kwargs: Any) -> str:
        self.calls.append((request.url, kwargs["config"]))
        if request.url in self.refuse:
            raise SourceExpired("expired", 403)
        if request.url in self.error_pages:
            raise NotMediaError("source sent an HTML/XML page, not a file: b'<html>Link expired'")
        return f"copied {request.url}"


@pytest.fixture
def transfer(monkeypatch: pytest.MonkeyPatch) -> FakeTransfer:
    fake = FakeTransfer(refuse={"https://old"}, error_pages={"https://page"})
    monkeypatch.setattr(artifact_fetch, "transfer_to_s3", fake)
    return fake


def fetcher() -> ArtifactFetcher:
    return ArtifactFetcher(s3_client=None, policy=UrlPolicy.production(), clock=lambda: NOW)


def request_for(url: str) -> TransferRequest:
    return TransferRequest(url=url, bucket="b", key="k")


@pytest.mark.parametrize(
    ("link", "usable"),
    [
        (Link("https://x", NOW + timedelta(days=1)), True),
        (Link("https://x", None), True),
        (Link("https://x", NOW + timedelta(minutes=4)), False),  # would expire mid-download
        (Link("https://x", NOW - timedelta(seconds=1)), False),
        (Link(None, NOW + timedelta(days=1)), False),
        (Link("https://x", datetime(2026, 6, 6)), True),  # naive: read as UTC
    ],
)
def test_link_usability(link: Link, usable: bool) -> None:
    assert link.usable(NOW) is usable


def test_valid_url_is_used_without_asking_the_rest_api(transfer: FakeTransfer) -> None:
    f = fetcher()
    assert (
        f.copy(Link("https://fresh"), lambda: pytest.fail("no refresh expected"), request_for)
        == "copied https://fresh"
    )
    assert f.refreshes == 0


def test_refused_url_is_refreshed_once(transfer: FakeTransfer) -> None:
    f = fetcher()
    assert f.copy(Link("https://old"), lambda: Link("https://new"), request_for) == "copied https://new"
    assert [url for url, _ in transfer.calls] == ["https://old", "https://new"]
    assert f.refreshes == 1


def test_second_refusal_is_not_retried_again(transfer: FakeTransfer) -> None:
    with pytest.raises(SourceExpired):
        fetcher().copy(Link("https://old"), lambda: Link("https://old"), request_for)
    assert len(transfer.calls) == 2


def test_error_page_instead_of_the_file_is_refreshed_once(transfer: FakeTransfer) -> None:
    f = fetcher()
    assert f.copy(Link("https://page"), lambda: Link("https://new"), request_for) == "copied https://new"
    assert [url for url, _ in transfer.calls] == ["https://page", "https://new"]
    assert f.refreshes == 1


def test_error_page_again_after_the_refresh_fails(transfer: FakeTransfer) -> None:
    f = fetcher()
    with pytest.raises(NotMediaError):
        f.copy(Link("https://page"), lambda: Link("https://page"), request_for)
    assert len(transfer.calls) == 2
    assert f.refreshes == 1


def test_file_realtimekit_no_longer_has_is_gone(transfer: FakeTransfer) -> None:
    def refresh() -> Link:
        raise RealtimeKitNotFound("Recording not found", status=404)

    with pytest.raises(ArtifactGone, match="no longer has"):
        fetcher().copy(Link(None), refresh, request_for)


def test_rest_api_without_url_is_a_clear_error(transfer: FakeTransfer) -> None:
    with pytest.raises(NoDownloadUrl):
        fetcher().copy(Link(None), lambda: Link(None), request_for)


def test_finish_by_gives_transfers_a_budget_before_the_lambda_timeout(transfer: FakeTransfer) -> None:
    f = fetcher()
    f.copy(Link("https://fresh"), lambda: Link(None), request_for)
    assert transfer.calls[-1][1].time_budget is None
    f.finish_by(900, margin=30)
    f.copy(Link("https://fresh"), lambda: Link(None), request_for)
    assert 869 < transfer.calls[-1][1].time_budget <= 870
