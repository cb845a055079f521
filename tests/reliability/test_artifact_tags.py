"""Every object the consumers write carries its artifact type as the S3 tag the lifecycle rules
per type filter on (``artifact-type``; infra/storage.py), multipart recordings included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.core.artifact_types import ARTIFACT_TYPE_TAG, ARTIFACT_TYPES, artifact_type_of
from tests.reliability.harness import Servers, running_pipeline


@pytest.fixture(autouse=True)
def _leave_the_request_log_as_found(servers: Servers) -> Iterator[None]:
    """Other scenarios count the session's file requests: take back the ones made here."""
    before = len(servers.files.requests)
    yield
    del servers.files.requests[before:]


def test_every_archived_object_is_tagged_with_its_artifact_type(servers: Servers) -> None:
    with running_pipeline(servers) as pipeline:
        for payload in servers.webhooks():
            assert pipeline.deliver(payload) == 202
        pipeline.pump()
        s3 = pipeline.client("s3")
        tags: dict[str, dict[str, str]] = {}
        for key in pipeline.objects():
            tag_set = s3.get_object_tagging(Bucket=pipeline.names.bucket, Key=key)["TagSet"]
            tags[key] = {tag["Key"]: tag["Value"] for tag in tag_set}
    assert tags
    untagged = [key for key, found in tags.items() if ARTIFACT_TYPE_TAG not in found]
    assert untagged == []
    assert all(found[ARTIFACT_TYPE_TAG] == artifact_type_of(key) for key, found in tags.items())
    # the sample meeting has every type, and the multipart recording kept its checksum tag too
    assert {found[ARTIFACT_TYPE_TAG] for found in tags.values()} == set(ARTIFACT_TYPES)
    recording = next(k for k, found in tags.items() if found[ARTIFACT_TYPE_TAG] == "recording")
    assert "sha256" in tags[recording]


def test_layout_prefixes_match_the_modules_that_write_them() -> None:
    from shared.archive.keys import MEETINGS_PREFIX, UNATTRIBUTED_PREFIX
    from shared.core import artifact_types
    from shared.search.index import INDEX_PREFIX

    assert artifact_types.MEETINGS_PREFIX == MEETINGS_PREFIX
    assert artifact_types.UNATTRIBUTED_PREFIX == UNATTRIBUTED_PREFIX
    assert artifact_types.SEARCH_INDEX_PREFIX == INDEX_PREFIX
    assert artifact_type_of(f"{INDEX_PREFIX}date=2026-06-03/s-1.jsonl") == "transcript"
