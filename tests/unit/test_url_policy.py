"""The download URL policy: allowlist, scheme, and the SSRF guard on resolved addresses."""

from __future__ import annotations

import pytest

from shared.archive.url_policy import DEFAULT_ALLOWED_HOSTS, UrlPolicy, host_matches
from shared.core.exceptions import DownloadRefused


def resolver_for(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


PUBLIC = resolver_for(
    {
        "bucket.r2.cloudflarestorage.com": ["104.18.1.1"],
        "recordings.dyte.io": ["2606:4700::6810:1"],
        "rebind.dyte.io": ["104.18.1.1", "10.0.0.7"],
        "metadata.dyte.io": ["169.254.169.254"],
        "internal.dyte.io": ["192.168.1.20"],
        "cgnat.dyte.io": ["100.64.3.4"],
        "mapped.dyte.io": ["::ffff:127.0.0.1"],
        "loop.dyte.io": ["127.0.0.1"],
        "nowhere.dyte.io": [],
    }
)


# The hosts of these examples: the default list plus a widened one (the deploy setting's way).
HOSTS = (*DEFAULT_ALLOWED_HOSTS, "*.dyte.io")


def production(**kwargs) -> UrlPolicy:
    return UrlPolicy(resolver=PUBLIC, **{"allowed_hosts": HOSTS, **kwargs})


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        ("a.r2.cloudflarestorage.com", "*.r2.cloudflarestorage.com", True),
        ("x.y.r2.cloudflarestorage.com", "*.r2.cloudflarestorage.com", True),
        ("r2.cloudflarestorage.com", "*.r2.cloudflarestorage.com", False),
        ("evilr2.cloudflarestorage.com", "*.r2.cloudflarestorage.com", False),
        ("r2.cloudflarestorage.com.evil.com", "*.r2.cloudflarestorage.com", False),
        ("API.Dyte.IO.", "api.dyte.io", True),
        ("api.dyte.io", "dyte.io", False),
    ],
)
def test_host_matching(host: str, pattern: str, matches: bool) -> None:
    assert host_matches(host, pattern) is matches


def test_allowed_https_url_returns_checked_addresses() -> None:
    checked = production().check("https://bucket.r2.cloudflarestorage.com/rec/a.mp4?X-Amz-Signature=abc")

    assert checked.host == "bucket.r2.cloudflarestorage.com"
    assert checked.port == 443
    assert checked.target == "/rec/a.mp4?X-Amz-Signature=abc"
    assert checked.addresses == ("104.18.1.1",)
    assert checked.host_header == "bucket.r2.cloudflarestorage.com"


def test_public_ipv6_is_allowed() -> None:
    assert production().check("https://recordings.dyte.io/x").addresses == ("2606:4700::6810:1",)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://bucket.r2.cloudflarestorage.com/a", "https"),
        ("ftp://bucket.r2.cloudflarestorage.com/a", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://example.com/a.mp4", "allowlist"),
        ("https://r2.cloudflarestorage.com.evil.com/a", "allowlist"),
        ("https://user:pw@bucket.r2.cloudflarestorage.com/a", "credentials"),
        ("https:///a", "no host"),
        ("https://bucket.r2.cloudflarestorage.com:99999/a", "malformed"),
        ("https://bucket.r2.cloudflarestorage.com:8443/a", "port 8443"),
        ("https://bucket.r2.cloudflarestorage.com:22/a", "port 22"),
    ],
)
def test_refuses_url_outside_policy(url: str, reason: str) -> None:
    with pytest.raises(DownloadRefused, match=reason):
        production().check(url)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("metadata.dyte.io", "link-local"),
        ("internal.dyte.io", "private"),
        ("cgnat.dyte.io", "CGNAT"),
        ("mapped.dyte.io", "loopback"),
        ("loop.dyte.io", "loopback"),
        ("rebind.dyte.io", "private"),  # one bad address among good ones is enough
    ],
)
def test_refuses_allowed_host_resolving_to_internal_address(host: str, kind: str) -> None:
    with pytest.raises(DownloadRefused, match=kind):
        production().check(f"https://{host}/file.mp4")


@pytest.mark.parametrize(
    "literal",
    [
        "10.0.0.1",
        "172.16.5.5",
        "192.168.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "[fe80::1]",
        "[::1]",
    ],
)
def test_refuses_private_ip_literal_even_when_allowlisted(literal: str) -> None:
    policy = production(allowed_hosts=(literal.strip("[]"),))
    with pytest.raises(DownloadRefused, match="address"):
        policy.check(f"https://{literal}/x")


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(DownloadRefused, match="no address"):
        production().check("https://nowhere.dyte.io/x")


def test_local_policy_allows_http_loopback_only() -> None:
    policy = UrlPolicy.local()
    checked = policy.check("http://127.0.0.1:8123/a?b=1")
    assert (checked.scheme, checked.port, checked.addresses, checked.host_header) == (
        "http",
        8123,
        ("127.0.0.1",),
        "127.0.0.1:8123",
    )
    with pytest.raises(DownloadRefused, match="allowlist"):
        policy.check("http://example.com/a")
    with pytest.raises(DownloadRefused, match="private"):
        UrlPolicy.local(("10.0.0.1",)).check("http://10.0.0.1/a")


def test_from_env_reads_allowlist() -> None:
    policy = UrlPolicy.from_env({"DOWNLOAD_HOST_ALLOWLIST": " *.example.org , files.example.net ,"})
    assert policy.allowed_hosts == ("*.example.org", "files.example.net")
    assert not policy.allow_http
    assert not policy.allow_loopback
    assert UrlPolicy.from_env({}).allowed_hosts == DEFAULT_ALLOWED_HOSTS
    local = UrlPolicy.from_env({}, local=True)
    assert local.allow_http
    assert local.allow_loopback
    assert "127.0.0.1" in local.allowed_hosts


@pytest.mark.parametrize(
    "host",
    [
        "my-bucket.s3.amazonaws.com",
        "anyone.s3.eu-west-1.amazonaws.com",
        "ec2-3-3-3-3.compute-1.amazonaws.com",
        "recordings.dyte.io",
        "example.com",
    ],
)
def test_default_allowlist_is_realtimekit_hosts_only(host: str) -> None:
    policy = UrlPolicy(resolver=lambda host, port: ["104.18.1.1"])
    with pytest.raises(DownloadRefused, match="allowlist"):
        policy.check(f"https://{host}/recording.mp4")
    assert DEFAULT_ALLOWED_HOSTS == ("*.realtime.cloudflare.com", "*.r2.cloudflarestorage.com")


def test_a_widened_allowlist_admits_the_exact_host_on_443_only() -> None:
    policy = UrlPolicy.production((*DEFAULT_ALLOWED_HOSTS, "my-bucket.s3.eu-west-1.amazonaws.com"))
    policy = UrlPolicy(allowed_hosts=policy.allowed_hosts, resolver=lambda host, port: ["52.1.2.3"])
    assert policy.check("https://my-bucket.s3.eu-west-1.amazonaws.com/r.mp4").port == 443
    with pytest.raises(DownloadRefused, match="allowlist"):
        policy.check("https://other.s3.eu-west-1.amazonaws.com/r.mp4")
    with pytest.raises(DownloadRefused, match="port"):
        policy.check("https://my-bucket.s3.eu-west-1.amazonaws.com:444/r.mp4")
