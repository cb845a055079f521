"""Operator CLI on a big archive: ``sessions --since 7d --limit 50``, ``show`` and ``status`` at 100
and at 10,000 sessions, next to a ``list_objects_v2`` of the same prefix (``meetings/``, every page)
timed in the same run: the least the old listing (one S3 listing, then one object per session) did.

Everything runs in moto (in-process): the resources local mode provisions, a CloudFormation stack
naming them as ``cdk deploy`` would, and N sessions as the recorder leaves them (the listing items in
the sessions table and a ``session.json`` per session in the bucket), started over the last 30 days,
1 in 50 with a failed artifact. Each command runs through click's runner, wall time, median of
``--runs``.

Targets: ``sessions`` and ``show`` cost the same at 100 and 10,000 sessions (within 1.5x), and
``sessions`` answers in under 1 s. moto runs with local mode's speed-ups (``local.moto_speedups``):
plain moto answers an index Query by sorting every item of the table (DynamoDB reads only the index
partition asked for), so its share of these figures grew with the table. With them moto still
filters every item and sorts the whole index partition (DynamoDB reads only the page), so some
growth remains; the items each command reads are printed too: that count is what DynamoDB bills
and what stays flat.

Usage: python -m bench.cli [--sizes 100,10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MEETING_VAULT_ENDPOINT", "MEETING_VAULT_STACK"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from moto import mock_aws  # noqa: E402

from cli.main import main as cli_main  # noqa: E402
from cli.target import output_label  # noqa: E402
from local.names import LocalNames  # noqa: E402
from local.stack import provision_resources  # noqa: E402
from shared.archive.keys import session_prefix  # noqa: E402
from shared.fanout.routing import ROUTES  # noqa: E402
from shared.session.listing import summarize  # noqa: E402
from shared.session.store import SessionStore  # noqa: E402

STACK = "MeetingVault"


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


def manifest(index: int, count: int, now: datetime) -> dict[str, Any]:
    started = now - timedelta(seconds=index * 30 * 86400 // count)  # spread over the last 30 days
    failed = index % 50 == 0
    artifacts: list[dict[str, Any]] = [
        {"name": "recording/r/video", "kind": "recording", "state": "archived", "key": "k", "bytes": 1}
    ]
    if failed:
        artifacts.append({"name": "chat/source", "kind": "chat_source", "state": "failed", "reason": "empty"})
    return {
        "schema": "meeting-vault/session@1",
        "meeting": {"id": f"meeting-{index % 200:03d}", "title": f"Sync {index}"},
        "session": {
            "id": f"session-{index:05d}",
            "startedAt": started.isoformat().replace("+00:00", "Z"),
            "endedAt": (started + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
            "durationSeconds": 1800.0,
            "state": "ended",
        },
        "participants": [{"id": "1"}, {"id": "2"}, {"id": "3"}],
        "recordings": [],
        "artifacts": artifacts,
        "artifactCounts": {"archived": 1, "failed": int(failed)},
        "derivedFiles": [],
        "events": {"count": 0, "byType": {}},
    }


class _CapturedWrites:
    """Stands in for the DynamoDB client of ``SessionStore.put_summary``: keeps the items it writes."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.items.append(Item)
        return {}


def load(names: LocalNames, count: int) -> None:
    """The items ``SessionStore.put_summary`` writes (computed by it) and a session.json per session,
    put straight into moto's backends: loading 10,000 sessions through the API takes longer than the
    benchmark itself, and what is measured is reading them. (Before any query: what the moto
    speed-ups keep for index queries is dropped by DynamoDB requests, which these writes are not.)"""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    now = datetime.now(UTC)
    captured = _CapturedWrites()
    store = SessionStore(names.sessions_table, captured)
    dynamodb = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    s3 = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for index in range(count):
        document = manifest(index, count, now)
        store.put_summary(summarize(document, now=now))
        key = session_prefix(document["meeting"]["id"], document["session"]["id"]) + "session.json"
        s3.put_object(names.bucket, key, json.dumps(document).encode())
    for item in captured.items:
        dynamodb.put_item(names.sessions_table, item)


def stack_outputs(names: LocalNames, queue_urls: dict[str, str], dlq_urls: dict[str, str]) -> None:
    outputs = {
        "WebhookUrl": "https://example.invalid/webhooks/realtimekit",
        "ArchiveBucketName": names.bucket,
        "SessionsTableName": names.sessions_table,
        "IdempotencyTableName": names.idempotency_table,
        "EventBusName": names.bus,
    }
    for route in ROUTES:
        outputs[f"{output_label(route.name)}QueueUrl"] = queue_urls[route.name]
        outputs[f"{output_label(route.name)}DeadLetterQueueUrl"] = dlq_urls[route.name]
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))


def timed(action: Callable[[], Any], runs: int) -> float:
    action()  # warm: imports, clients, moto's first request
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_cli(*args: str) -> Callable[[], None]:
    def action() -> None:
        result = CliRunner().invoke(cli_main, list(args))
        if result.exit_code not in (0, 1) or (
            result.exception and not isinstance(result.exception, SystemExit)
        ):
            raise RuntimeError(f"{args}: {result.output}") from result.exception

    return action


def dynamodb_items_read(action: Callable[[], None]) -> int:
    """Items the command's DynamoDB calls returned (Query pages: what DynamoDB reads and bills)."""
    counted = [0]
    original = boto3.session.Session.client

    def counting(self: boto3.session.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        made = original(self, service, *args, **kwargs)  # type: ignore[call-overload]
        if service == "dynamodb":
            made.meta.events.register(
                "after-call.dynamodb",
                lambda parsed, **_: counted.__setitem__(0, counted[0] + int(parsed.get("ScannedCount", 0))),
            )
        return made

    boto3.session.Session.client = counting  # type: ignore[method-assign]
    try:
        action()
    finally:
        boto3.session.Session.client = original  # type: ignore[method-assign]
    return counted[0]


def measure(count: int, runs: int) -> dict[str, float]:
    names = LocalNames()
    with mock_aws():
        resources = provision_resources(client, names, api_token="bench")
        stack_outputs(names, resources.queue_urls, resources.dlq_urls)
        started = time.perf_counter()
        load(names, count)
        loaded = time.perf_counter() - started
        s3 = client("s3")

        def list_prefix() -> None:
            for _ in s3.get_paginator("list_objects_v2").paginate(Bucket=names.bucket, Prefix="meetings/"):
                pass

        sessions = run_cli("sessions", "--since", "7d", "--limit", "50", "--json")
        show = run_cli("show", f"session-{count // 2:05d}", "--json")
        status = run_cli("status", "--json")
        return {
            "load": loaded,
            "list_objects_v2": timed(list_prefix, runs),
            "sessions": timed(sessions, runs),
            "show": timed(show, runs),
            "status": timed(status, runs),
            "sessions_items": dynamodb_items_read(sessions),
            "show_items": dynamodb_items_read(show),
            "status_items": dynamodb_items_read(status),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from local import moto_speedups

    # moto as local mode runs it: an index Query sorts only its index partition, not the table.
    print("moto speed-ups: " + ", ".join(moto_speedups.apply()))
    sizes = [int(size) for size in args.sizes.split(",")]
    results = {size: measure(size, args.runs) for size in sizes}
    small, big = results[sizes[0]], results[sizes[-1]]
    print(f"sessions in the archive        {'':>2}" + "".join(f"{size:>12,}" for size in sizes) + "   ratio")
    for label, key in (
        ("list_objects_v2 meetings/ (all)", "list_objects_v2"),
        ("sessions --since 7d --limit 50", "sessions"),
        ("show SESSION_ID", "show"),
        ("status", "status"),
    ):
        cells = "".join(f"{results[size][key] * 1000:>9.1f} ms" for size in sizes)
        print(f"{label:<32}{cells}   {big[key] / small[key]:5.2f}x")
    for label, key in (
        ("  items read: sessions", "sessions_items"),
        ("  items read: show", "show_items"),
        ("  items read: status", "status_items"),
    ):
        print(f"{label:<32}" + "".join(f"{int(results[size][key]):>12}" for size in sizes))
    print("(load time: " + ", ".join(f"{size:,}: {results[size]['load']:.0f} s" for size in sizes) + ")")
    verdict = {
        "sessions within 1.5x": big["sessions"] / small["sessions"] <= 1.5,
        "show within 1.5x": big["show"] / small["show"] <= 1.5,
        "sessions < 1 s": big["sessions"] < 1.0,
    }
    print("targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in verdict.items()))


if __name__ == "__main__":
    main()
