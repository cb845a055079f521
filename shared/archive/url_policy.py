"""Which URLs the downloader may fetch (host allowlist + SSRF guard).

Download URLs arrive inside webhook bodies and REST answers. Even signed ones must not turn a worker
into a proxy for the VPC, the instance metadata service (169.254.169.254) or anything else the Lambda
can reach, so every URL (and every redirect hop) is checked here before a socket is opened:

- scheme ``https`` on port 443 (``http`` and other ports only when the policy allows them: local mode);
- host in the allowlist: exact names, or ``*.suffix`` patterns that match any subdomain of ``suffix``;
- every address the host resolves to is public: private, loopback, link-local, reserved, multicast,
  unspecified and shared (CGNAT) ranges are refused, loopback being allowed only in local mode.

The transfer engine connects to the address returned by :meth:`UrlPolicy.check` instead of resolving
the name again, so a DNS answer cannot change between the check and the connection (rebinding).
Pure except for the resolver, which is injectable.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.core.exceptions import DownloadRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

ALLOWLIST_ENV = "DOWNLOAD_HOST_ALLOWLIST"

# Where RealtimeKit hands out recording / transcript / summary / chat download URLs: its own hosts
# and the Cloudflare R2 storage it keeps artifacts in (reference section 4: "stored via R2"). Nothing
# else: ``*.amazonaws.com`` would match any S3 bucket and any EC2 host of anyone. A recording that
# RealtimeKit uploads to your own bucket (``storage_config``) or a legacy Dyte host needs its exact
# host added with the deploy setting ``downloadHostAllowlist`` (DOWNLOAD_HOST_ALLOWLIST), e.g.
# ``my-bucket.s3.eu-west-1.amazonaws.com`` (docs/ingest.md, "Download allowlist").
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "*.realtime.cloudflare.com",
    "*.r2.cloudflarestorage.com",
)
HTTPS_PORT = 443
LOCAL_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to (IPv4 and IPv6), in resolver order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadRefused(f"cannot resolve download host {host!r}: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed the policy, with the addresses to connect to (all of them checked)."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default_port = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default_port else f"{host}:{self.port}"


def _normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def host_matches(host: str, pattern: str) -> bool:
    """``pattern`` is an exact host or ``*.suffix`` (any subdomain of suffix, not suffix itself)."""
    host, pattern = _normalize_host(host), _normalize_host(pattern)
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _address_problem(address: IPAddress, *, allow_loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_reserved:
        return "reserved"
    if address in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (CGNAT)"
    if address.is_private or not address.is_global:
        return "private"
    return None


@dataclass(frozen=True)
class UrlPolicy:
    """Allowlist + address rules. ``production()`` and ``local()`` build the two usual policies."""

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_http: bool = False
    allow_loopback: bool = False
    allow_any_port: bool = False  # production: https on 443 only
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    @classmethod
    def production(cls, allowed_hosts: Iterable[str] | None = None) -> UrlPolicy:
        hosts = DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else tuple(allowed_hosts)
        return cls(allowed_hosts=hosts)

    @classmethod
    def local(cls, allowed_hosts: Iterable[str] = LOCAL_ALLOWED_HOSTS) -> UrlPolicy:
        """Local mode: plain http to loopback (the RealtimeKit stand-in, test servers)."""
        return cls(
            allowed_hosts=tuple(allowed_hosts), allow_http=True, allow_loopback=True, allow_any_port=True
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, local: bool = False) -> UrlPolicy:
        """``DOWNLOAD_HOST_ALLOWLIST`` is a comma-separated list of hosts / ``*.suffix`` patterns."""
        raw = environ.get(ALLOWLIST_ENV, "")
        hosts = tuple(h.strip() for h in raw.split(",") if h.strip())
        if local:
            return cls.local(hosts or LOCAL_ALLOWED_HOSTS)
        return cls.production(hosts or None)

    def check(self, url: str) -> CheckedUrl:
        """Return the checked URL with its addresses, or raise :class:`DownloadRefused`."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise DownloadRefused(f"malformed download URL: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise DownloadRefused(f"download URL scheme {scheme!r} is not allowed")
        if scheme == "http" and not self.allow_http:
            raise DownloadRefused("download URL must use https")
        if parts.username is not None or parts.password is not None:
            raise DownloadRefused("download URL must not carry credentials")
        host = _normalize_host(parts.hostname or "")
        if not host:
            raise DownloadRefused("download URL has no host")
        if not any(host_matches(host, pattern) for pattern in self.allowed_hosts):
            raise DownloadRefused(f"download host {host!r} is not in the allowlist")
        port = port or (HTTPS_PORT if scheme == "https" else 80)
        if port != HTTPS_PORT and not self.allow_any_port:
            raise DownloadRefused(f"download URL port {port} is not allowed (https on {HTTPS_PORT} only)")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = [str(literal)] if literal is not None else list(self.resolver(host, port))
        if not addresses:
            raise DownloadRefused(f"download host {host!r} resolves to no address")
        for raw in addresses:
            try:
                address = ipaddress.ip_address(raw.split("%", 1)[0])
            except ValueError as exc:
                raise DownloadRefused(f"download host {host!r} resolved to {raw!r}: {exc}") from exc
            problem = _address_problem(address, allow_loopback=self.allow_loopback)
            if problem:
                raise DownloadRefused(
                    f"download host {host!r} resolves to {problem} address {address}; refusing to fetch"
                )
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        return CheckedUrl(
            url=url, scheme=scheme, host=host, port=port, target=target, addresses=tuple(addresses)
        )
