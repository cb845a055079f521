"""``meeting-vault open``: the URL of a session's page (``index.html``, written beside
``session.json``).

Local mode serves the archive over HTTP (``meeting-vault dev``), where the page's relative media
paths just work. A deployed bucket is private: the page and every file it loads are presigned
(SigV4, ``--expires``), and the media URLs travel in the page URL's fragment
(``#media=<URI-encoded JSON>``), which browsers never send to a server. The stored page is never
changed and never holds a URL or a credential."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from cli.errors import CliError
from cli.inspect import _locate, load_manifest
from cli.target import Target
from shared.archive.keys import session_prefix
from shared.page.render import CAPTIONS, PAGE_NAME, media_paths

DEFAULT_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 7 * 24 * 3600  # SigV4's limit for presigned URLs
DEFAULT_LOCAL_ARCHIVE_URL = "http://127.0.0.1:8081"


def _presigning_client(target: Target) -> Any:
    """SigV4 and, for AWS, virtual-hosted URLs: the page and its media share one origin (the bucket's
    host), so the captions track loads without CORS."""
    import boto3
    from botocore.config import Config

    region = target.region or target.client("s3").meta.region_name
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if target.endpoint_url else {"addressing_style": "virtual"},
    )
    options: dict[str, Any] = {"config": config, "region_name": region}
    if target.endpoint_url:
        options["endpoint_url"] = target.endpoint_url
    return boto3.client("s3", **options)


def presigned_page_url(
    s3: Any, bucket: str, prefix: str, paths: list[str], *, expires: int
) -> tuple[str, dict[str, str]]:
    """The presigned URL of the page with the presigned media in its fragment, and those media URLs."""

    def sign(key: str) -> str:
        url: str = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )
        return url

    media = {path: sign(prefix + path) for path in paths}
    fragment = quote(json.dumps(media, separators=(",", ":")), safe="")
    return f"{sign(prefix + PAGE_NAME)}#media={fragment}", media


def open_command(
    target: Target,
    reference: str,
    *,
    expires: int,
    archive_url: str | None,
    echo: Callable[[str], None],
    note: Callable[[str], None] = lambda _: None,
) -> str:
    if not 1 <= expires <= MAX_EXPIRY_SECONDS:
        raise CliError(f"--expires must be between 1 and {MAX_EXPIRY_SECONDS} seconds (7 days)")
    meeting_id, session_id = _locate(target, reference)
    s3 = target.client("s3")
    prefix = session_prefix(meeting_id, session_id)
    manifest = load_manifest(s3, target.bucket, meeting_id, session_id)
    derived = {str(d.get("path")) for d in manifest.get("derivedFiles") or []}
    if PAGE_NAME not in derived:
        raise CliError(
            f"session {meeting_id}/{session_id} has no {PAGE_NAME} yet (it is written with session.json; "
            "`meeting-vault replay --session ...` rebuilds an older session's files)"
        )
    if target.local:
        url = f"{(archive_url or DEFAULT_LOCAL_ARCHIVE_URL).rstrip('/')}/{quote(prefix + PAGE_NAME)}"
        echo(url)
        return url
    paths = media_paths(manifest, captions=CAPTIONS in derived)
    url, _ = presigned_page_url(_presigning_client(target), target.bucket, prefix, paths, expires=expires)
    echo(url)
    note(
        f"valid for {expires} s: the page and {len(paths)} media files are presigned (media URLs in the "
        "fragment); URLs signed with temporary credentials stop working when those expire"
    )
    return url
