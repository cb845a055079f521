"""Download URLs outside the allowlist are refused (private ranges, link-local metadata addresses,
redirects to them, plain http in production), and object keys are built only from validated ids."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.archive.keys import event_key, safe_file_name, session_prefix
from shared.archive.small_download import download_bytes
from shared.archive.transfer import TransferConfig
from shared.archive.url_policy import UrlPolicy
from shared.core.exceptions import DownloadRefused
from tests.support.figures import hostile_examples, record_figure
from tests.support.http_source import HttpSource

PROPERTY = settings(max_examples=hostile_examples(ci=300, full=1_100), deadline=None, derandomize=True)
ALLOWED = ("*.realtime.cloudflare.com",)
NON_PUBLIC_V4 = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
NON_PUBLIC_V6 = ["::1/128", "fe80::/10", "fc00::/7", "ff00::/8"]


@st.composite
def non_public_address(draw: st.DrawFn) -> str:
    network = ipaddress.ip_network(draw(st.sampled_from(NON_PUBLIC_V4 + NON_PUBLIC_V6)))
    offset = draw(st.integers(0, network.num_addresses - 1))
    address = network.network_address + offset
    if draw(st.booleans()) and address.version == 4:  # the same address hidden as IPv4-mapped IPv6
        return f"::ffff:{address}"
    return str(address)


def test_allowed_hosts_resolving_to_non_public_addresses_are_refused(
    record_property: Callable[[str, object], None],
) -> None:
    tried = accepted = 0

    @PROPERTY
    @given(address=non_public_address(), sub=st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True))
    def check(address: str, sub: str) -> None:
        nonlocal tried, accepted
        tried += 1
        policy = UrlPolicy(allowed_hosts=ALLOWED, resolver=lambda host, port: [address])
        try:
            policy.check(f"https://{sub}.realtime.cloudflare.com/recording.mp4")
        except DownloadRefused:
            return
        accepted += 1
        raise AssertionError(f"{sub} resolving to {address} was accepted")

    check()
    record_figure(record_property, "hostile url policy", examples=tried, accepted=accepted)


def test_literal_ips_and_foreign_hosts_are_refused(record_property: Callable[[str, object], None]) -> None:
    tried = accepted = 0

    @PROPERTY
    @given(
        host=st.one_of(
            non_public_address().map(lambda a: f"[{a}]" if ":" in a else a),
            st.sampled_from(
                [
                    "169.254.169.254",
                    "metadata.google.internal",
                    "localhost",
                    "realtime.cloudflare.com.evil.io",
                ]
            ),
            st.from_regex(r"[a-z]{1,10}\.(com|net|internal)", fullmatch=True),
        ),
        scheme=st.sampled_from(["https", "http", "ftp", "file", "gopher"]),
    )
    def check(host: str, scheme: str) -> None:
        nonlocal tried, accepted
        tried += 1
        try:
            UrlPolicy.production(ALLOWED).check(f"{scheme}://{host}/latest/meta-data/")
        except DownloadRefused:
            return
        accepted += 1
        raise AssertionError(f"{scheme}://{host} was accepted")

    check()
    record_figure(record_property, "hostile url policy", examples=tried, accepted=accepted)


def test_plain_http_is_refused_in_production() -> None:
    policy = UrlPolicy(allowed_hosts=ALLOWED, resolver=lambda host, port: ["104.16.132.229"])
    with pytest.raises(DownloadRefused, match="https"):
        policy.check("http://files.realtime.cloudflare.com/r.mp4")
    assert policy.check("https://files.realtime.cloudflare.com/r.mp4").addresses == ("104.16.132.229",)


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/internal",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_redirects_to_metadata_or_private_addresses_are_refused(target: str) -> None:
    with HttpSource() as source:
        url = source.redirect("/transcript.csv", target)
        with pytest.raises(DownloadRefused):
            download_bytes(
                url,
                policy=UrlPolicy.local(),  # loopback (the source) allowed, nothing else private
                config=TransferConfig(max_attempts=1, sleep=lambda _: None),
                accept=("text/csv",),
            )


ids = st.one_of(
    st.text(max_size=140),
    st.sampled_from(["..", ".", "../../etc/passwd", "a/../../b", "a/b", "%2e%2e", "a\x00b", "-x", "ok..no"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
)


def test_event_keys_never_escape_their_folder(record_property: Callable[[str, object], None]) -> None:
    tried, escaped = 0, []

    @PROPERTY
    @given(
        meeting_id=ids,
        session_id=ids,
        event=st.one_of(st.none(), st.text(max_size=100)),
        digest=st.text("0123456789abcdef", min_size=16, max_size=64),
    )
    def check(meeting_id: str, session_id: str, event: str | None, digest: str) -> None:
        nonlocal tried
        tried += 1
        key = event_key(
            meeting_id=meeting_id,
            session_id=session_id,
            event=event,
            digest=digest,
            event_time=datetime.now(UTC),
        )
        parts = key.split("/")
        try:
            assert all(part not in {"", ".", ".."} for part in parts)
            assert key.startswith(("meetings/", "unattributed/events/"))
            if key.startswith("meetings/"):
                assert parts[0:5] == ["meetings", meeting_id, "sessions", session_id, "events"]
                assert len(parts) == 6
                assert session_prefix(meeting_id, session_id) == "/".join(parts[:4]) + "/"
        except AssertionError:
            escaped.append(key)
            raise

    check()
    record_figure(record_property, "hostile url policy", examples=tried, accepted=len(escaped))


def test_file_names_from_senders_are_one_harmless_segment(
    record_property: Callable[[str, object], None],
) -> None:
    tried, escaped = 0, []

    @PROPERTY
    @given(
        name=st.one_of(
            st.text(max_size=300),
            st.sampled_from(["../../x.mp4", "..", "/etc/passwd", "a\\..\\b.mp4", " . "]),
        )
    )
    def check(name: str) -> None:
        nonlocal tried
        tried += 1
        safe = safe_file_name(name, fallback="recording.mp4")
        harmless = (
            "/" not in safe
            and "\\" not in safe
            and safe not in {"", ".", ".."}
            and not safe.startswith(".")
            and len(safe) <= 200
        )
        if not harmless:
            escaped.append(safe)
        assert harmless, safe

    check()
    record_figure(record_property, "hostile url policy", examples=tried, accepted=len(escaped))
