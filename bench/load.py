"""Load test of the local stack, loopback only: N signed webhooks from S concurrent senders covering
M sessions, each session's lifecycle (started, joins, leaves, recording states, ended).

Reports the accepted rate while sending, p50/p99 acknowledgement latency (POST to 202), and whether
every distinct body was archived exactly once under ``events/`` (one object and one S3 version per
body: no loss, no duplicate write), with the time the consumers took to drain.

Local mode gives each consumer one execution environment (``local.lambda_runtime``; more with
``--consumer-processes``) and the webhook endpoint four (``LocalSettings.ingest_environments``), all
in one process that shares the cores and the GIL with the senders (moto runs in a child process),
so the figures bound this machine's local mode, not a deployment where each concurrent invocation
has its own Lambda environment.

It also counts, through a botocore event hook on every client of the process (the consumers' and
moto's clients alike), the S3 PUTs and DynamoDB writes per webhook, and the bytes they wrote. The
drain includes the delayed rebuild requests (docs/rebuilds.md): the files are final when it ends.

``--growth`` then measures the bytes one session writes as it grows (20, 200 and 2,000 events): the
real recorder and rebuild code against in-process moto, the session's events spread over a meeting
of fixed length, rebuild requests delivered when their delay (the window) is due on a simulated
clock. The baseline, measured in the same run, rebuilds after every change as the pipeline used to.

Usage: python -m bench.load [--webhooks 2000] [--senders 50] [--sessions 100] [--timeout 600]
       [--rebuild-window 1] [--consumer-processes 0] [--growth] [--growth-window 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from local.moto_process import TIMINGS_ENV
from local.signing import WebhookSigner
from local.stack import LocalNames, LocalSettings, LocalStack
from local.write_counter import COUNT_WRITES_ENV, WriteCounter
from shared.ingest.envelope import build_detail
from shared.session.intake import raw_event_key

ORGANIZER = {"id": "c94c437b-592a-4a39-b9e2-47ef1451e43b", "name": "Load test"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_webhooks(index: int, count: int) -> list[dict[str, Any]]:
    """``count`` distinct webhook bodies of one session, in lifecycle order."""
    meeting_id, session_id = f"load-meeting-{index:04d}", f"load-session-{index:04d}"
    start = datetime(2026, 6, 3, 9, 0, tzinfo=UTC) + timedelta(minutes=index)
    meeting = {
        "id": meeting_id,
        "sessionId": session_id,
        "title": f"Load {index}",
        "status": "LIVE",
        "startedAt": _iso(start),
        "createdAt": _iso(start),
        "organizedBy": ORGANIZER,
    }
    bodies: list[dict[str, Any]] = [{"event": "meeting.started", "meeting": meeting}]
    recording = {
        "id": f"rec-{index:04d}",
        "recordingId": f"rec-{index:04d}",
        "meetingId": meeting_id,
        "roomUUID": session_id,
        "startedTime": _iso(start),
    }
    bodies.append(
        {
            "event": "recording.statusUpdate",
            "meeting": meeting,
            "recording": {**recording, "status": "RECORDING"},
        }
    )
    people = max(1, (count - 4) // 2)
    for p in range(people):
        participant = {
            "peerId": f"peer-{index}-{p}",
            "userDisplayName": f"Person {p}",
            "customParticipantId": f"user-{p}",
            "joinedAt": _iso(start + timedelta(seconds=p)),
        }
        bodies.append({"event": "meeting.participantJoined", "meeting": meeting, "participant": participant})
        left = {**participant, "leftAt": _iso(start + timedelta(minutes=30, seconds=p))}
        bodies.append({"event": "meeting.participantLeft", "meeting": meeting, "participant": left})
    end = start + timedelta(minutes=31)
    bodies.append(
        {
            "event": "recording.statusUpdate",
            "meeting": meeting,
            "recording": {**recording, "status": "UPLOADING", "stoppedTime": _iso(end), "fileSize": 1000},
        }
    )
    bodies.append(
        {
            "event": "meeting.ended",
            "meeting": {**meeting, "endedAt": _iso(end)},
            "reason": "ALL_PARTICIPANTS_LEFT",
        }
    )
    return bodies[:count]


def workload(webhooks: int, sessions: int) -> list[bytes]:
    per_session = -(-webhooks // sessions)
    bodies = [
        json.dumps(body, separators=(",", ":")).encode()
        for i in range(sessions)
        for body in session_webhooks(i, per_session)
    ][:webhooks]
    # Interleave sessions, as concurrent meetings would.
    order = sorted(range(len(bodies)), key=lambda i: (i % per_session, i))
    return [bodies[i] for i in order]


@dataclass
class LoadReport:
    webhooks: int
    senders: int
    sessions: int
    accepted: int
    send_seconds: float
    latencies_ms: list[float]
    drain_seconds: float
    expected_keys: int
    archived_keys: int
    archived_versions: int
    missing: int
    dead_letters: dict[str, int]
    s3_puts: int = 0
    s3_put_bytes: int = 0
    dynamodb_writes: int = 0
    rebuild_window_seconds: int = 0
    puts_by_file: dict[str, int] = field(default_factory=dict)
    # CPU seconds moto's server spent per AWS operation: (calls, seconds), most expensive first.
    moto_cpu: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Messages still queued when the drain timeout ran out (empty: drained).
    left_over: dict[str, int] = field(default_factory=dict)
    # CPU seconds from the first webhook sent to the end of the drain: this process (the senders,
    # the API stand-in, every function) and moto's server process (None: the OS did not say).
    cpu_seconds_here: float = 0.0
    cpu_seconds_aws: float | None = None
    cpu_seconds_consumers: float | None = None  # the consumer processes (None: none were run)
    consumer_processes: int = 0
    processed_by_consumer_processes: int = 0
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def s3_puts_per_webhook(self) -> float:
        return self.s3_puts / self.webhooks if self.webhooks else 0.0

    @property
    def dynamodb_writes_per_webhook(self) -> float:
        return self.dynamodb_writes / self.webhooks if self.webhooks else 0.0

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.send_seconds if self.send_seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0

    @property
    def exactly_once(self) -> bool:
        return (
            self.missing == 0
            and self.archived_keys == self.expected_keys
            and self.archived_versions == self.expected_keys
            and not self.dead_letters
        )

    def cpu_line(self, drain_target_seconds: float = 60.0) -> str:
        """CPU per webhook, against what draining in ``drain_target_seconds`` on this machine's
        cores could spend at most (every core busy the whole time)."""
        per = 1000 / max(1, self.webhooks)
        here = self.cpu_seconds_here * per
        budget = self.cores * drain_target_seconds * per
        if self.cpu_seconds_aws is None or (self.consumer_processes and self.cpu_seconds_consumers is None):
            # No total from a part that was not measured.
            return f"CPU per webhook: {here:.1f} ms in this process (the child processes: not measured here)"
        aws = self.cpu_seconds_aws * per
        parts = [f"{here:.1f} ms in this process: senders, API, functions"]
        total = here + aws
        if self.cpu_seconds_consumers is not None:  # measured (there are consumer processes)
            consumers = self.cpu_seconds_consumers * per
            total += consumers
            parts.append(f"{consumers:.1f} ms in {self.consumer_processes} consumer processes")
        parts.append(f"{aws:.1f} ms in moto's server")
        return (
            f"CPU per webhook: {total:.1f} ms ({'; '.join(parts)}); a {drain_target_seconds:.0f} s "
            f"drain on {self.cores} cores allows at most {budget:.1f} ms"
        )

    def cost_lines(self) -> list[str]:
        """Where the PUTs went, where the CPU went, and where moto's went (the stand-in, not the
        functions)."""
        puts = ", ".join(
            f"{name} {count}" for name, count in sorted(self.puts_by_file.items(), key=lambda i: -i[1])
        )
        lines = [f"S3 PUTs by file: {puts}", self.cpu_line()]
        if self.moto_cpu:
            total = sum(seconds for _, seconds in self.moto_cpu.values())
            top = ", ".join(
                f"{name} {count}x {1000 * seconds / max(1, count):.1f} ms"
                for name, (count, seconds) in list(self.moto_cpu.items())[:6]
            )
            lines.append(f"moto's server CPU: {total:.1f} s in requests; most: {top}")
        return lines

    def summary(self) -> str:
        return (
            f"{self.webhooks} webhooks, {self.senders} senders, {self.sessions} sessions: "
            f"{self.accepted} accepted ({self.accepted_per_second:.0f}/s), "
            f"ack p50 {self.percentile(0.5):.0f} ms p99 {self.percentile(0.99):.0f} ms, "
            f"archived {self.archived_keys}/{self.expected_keys} keys in {self.archived_versions} versions "
            f"({'exactly once' if self.exactly_once else 'NOT exactly once'}), "
            + (
                f"drained in {self.drain_seconds:.1f} s; "
                if not self.left_over
                else f"NOT drained after {self.drain_seconds:.1f} s (still queued: {self.left_over}); "
            )
            + (
                f"{self.processed_by_consumer_processes} messages handled in "
                f"{self.consumer_processes} consumer processes; "
                if self.consumer_processes
                else ""
            )
            + f"{self.s3_puts_per_webhook:.2f} S3 PUTs and {self.dynamodb_writes_per_webhook:.2f} DynamoDB writes "
            f"per webhook, {self.s3_put_bytes / max(1, self.sessions) / 1024:.1f} KiB written per session "
            f"(rebuild window {self.rebuild_window_seconds} s)"
        )


def _post(url: str, body: bytes, signer: WebhookSigner) -> tuple[int, float]:
    headers = {
        "content-type": "application/json",
        "rtk-signature": signer.sign(body),
        "rtk-uuid": str(uuid.uuid4()),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = int(response.status)
            response.read()
    except urllib.error.HTTPError as error:
        status = int(error.code)
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def _spent(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


def run_load(
    *,
    webhooks: int,
    senders: int,
    sessions: int,
    timeout: float = 600.0,
    rebuild_window_seconds: int | None = None,
    consumer_processes: int = 0,
) -> LoadReport:
    counter = WriteCounter().install()
    signer = WebhookSigner.generate()
    bodies = workload(webhooks, sessions)
    expected = {
        raw_event_key(
            build_detail(
                b, received_at=datetime.now(UTC), delivery_id=None, webhook_id=None, signature_header="x"
            )
        )
        for b in bodies
    }
    # Own resource names: moto's state is per process, and another local stack may have run in it.
    names = LocalNames(prefix=f"load-{uuid.uuid4().hex[:8]}")
    settings = LocalSettings(public_key_pem=signer.public_pem())
    if rebuild_window_seconds is not None:
        settings.rebuild_window_seconds = rebuild_window_seconds
    settings.consumer_processes = consumer_processes
    timings = Path(tempfile.mkdtemp(prefix="load-moto-")) / "timings.tsv"
    os.environ[TIMINGS_ENV] = str(timings)  # read by moto's server process as it starts
    os.environ[COUNT_WRITES_ENV] = "1"  # read by each consumer process as it starts
    try:
        stack = LocalStack(settings, names).start()
    finally:
        os.environ.pop(TIMINGS_ENV, None)
        os.environ.pop(COUNT_WRITES_ENV, None)
    try:
        url = stack.webhook_url
        puts_before, bytes_before, writes_before = counter.snapshot()
        cpu_before, aws_cpu_before = time.process_time(), stack.aws_cpu_seconds()
        consumers_cpu_before = stack.consumer_processes_cpu_seconds()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            results = list(pool.map(lambda body: _post(url, body, signer), bodies))
        send_seconds = time.perf_counter() - started
        try:
            depths = stack.wait_idle(timeout=timeout, settle=1.0)
        except TimeoutError:  # report what was done, and what was still queued
            depths = stack.queue_depths()
        drain_seconds = time.perf_counter() - started
        cpu_here = time.process_time() - cpu_before
        cpu_aws = _spent(aws_cpu_before, stack.aws_cpu_seconds())
        cpu_consumers = _spent(consumers_cpu_before, stack.consumer_processes_cpu_seconds())
        puts_after, bytes_after, writes_after = counter.snapshot()
        archived = {key for key, _ in stack.list_archive("meetings/") if "/events/" in key}
        s3 = stack.client("s3")
        versions = 0
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=stack.names.bucket, Prefix="meetings/"
        ):
            versions += sum(1 for v in page.get("Versions", []) if "/events/" in v["Key"])
    finally:
        stack.stop()
    processed_elsewhere = sum(stack.processed_elsewhere.values())
    # The consumer processes handled no message before the first webhook was sent (there was none),
    # so all they wrote belongs to this run.
    elsewhere = WriteCounter()
    for counts in stack.writes_elsewhere:
        elsewhere.add(counts)
    if consumer_processes and len(stack.writes_elsewhere) != consumer_processes:
        raise RuntimeError("a consumer process did not report what it wrote; the counts would be short")
    puts_by_file = dict(counter.puts_by_file)
    for name, count in elsewhere.puts_by_file.items():
        puts_by_file[name] = puts_by_file.get(name, 0) + count
    moto_cpu = {}
    if timings.exists():  # written when the stack stopped its moto server
        for line in timings.read_text().splitlines():
            name, calls, seconds = line.split("\t")
            moto_cpu[name] = (int(calls), float(seconds))
        shutil.rmtree(timings.parent, ignore_errors=True)
    return LoadReport(
        webhooks=len(bodies),
        senders=senders,
        sessions=sessions,
        accepted=sum(1 for status, _ in results if status == 202),
        send_seconds=send_seconds,
        latencies_ms=[latency for status, latency in results if status == 202],
        drain_seconds=drain_seconds,
        expected_keys=len(expected),
        archived_keys=len(archived & expected),
        archived_versions=versions,
        missing=len(expected - archived),
        dead_letters={name: d["dlq"] for name, d in depths.items() if d["dlq"]},
        s3_puts=puts_after - puts_before + elsewhere.s3_puts,
        s3_put_bytes=bytes_after - bytes_before + elsewhere.s3_bytes,
        dynamodb_writes=writes_after - writes_before + elsewhere.dynamodb_writes,
        rebuild_window_seconds=settings.rebuild_window_seconds,
        puts_by_file=puts_by_file,
        moto_cpu=moto_cpu,
        cpu_seconds_here=cpu_here,
        cpu_seconds_aws=cpu_aws,
        cpu_seconds_consumers=cpu_consumers,
        consumer_processes=consumer_processes,
        processed_by_consumer_processes=processed_elsewhere,
        left_over={
            name: d["visible"] + d["in_flight"] + d.get("delayed", 0)
            for name, d in depths.items()
            if d["visible"] + d["in_flight"] + d.get("delayed", 0)
        },
    )


# -- bytes per session as sessions grow ---------------------------------------------------------------
GROWTH_SIZES = (20, 200, 2000)
MEETING_SECONDS = 30 * 60  # every session of the growth run lasts half an hour


@dataclass
class GrowthPoint:
    events: int
    window_seconds: int
    rebuilds: int
    s3_puts: int
    s3_bytes: int  # everything the session wrote: raw bodies and derived files
    dynamodb_writes: int
    seconds: float


class _SimulatedClock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


class _DueRequests:
    """Rebuild requests kept until their delay is due on the simulated clock (SQS DelaySeconds)."""

    def __init__(self, clock: _SimulatedClock) -> None:
        self._clock = clock
        self.due: list[tuple[float, str, str, bool]] = []

    def request(self, meeting_id: str, session_id: str, *, delay_seconds: int, recheck: bool = False) -> None:
        self.due.append((self._clock.now + delay_seconds, meeting_id, session_id, recheck))
        self.due.sort()


def session_growth(events: int, *, window_seconds: int | None) -> GrowthPoint:
    """One session of ``events`` webhooks over ``MEETING_SECONDS``, through the real intake, recorder
    and rebuild code on in-process moto. ``window_seconds=None``: the baseline, a rebuild after every
    change (what every webhook used to cost)."""
    from moto import mock_aws

    from local import moto_speedups
    from local.stack import provision_resources
    from shared.adapters.s3 import ArchiveStore
    from shared.session.intake import take_in_event
    from shared.session.recorder import SessionRecorder
    from shared.session.store import SessionStore

    bodies = [json.dumps(b, separators=(",", ":")).encode() for b in session_webhooks(0, events)]
    # Local mode's moto, in this process: a rebuild's query reads the session's partition rather
    # than sorting the whole table (every event of every session measured so far).
    moto_speedups.apply()
    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        names = LocalNames(prefix=f"growth-{uuid.uuid4().hex[:8]}")
        provision_resources(lambda service: session.client(service), names, api_token="unused")  # type: ignore[call-overload]
        counter = WriteCounter().install(session)
        clock = _SimulatedClock()
        requests = _DueRequests(clock)
        store = SessionStore(names.sessions_table, session.client("dynamodb"))
        archive = ArchiveStore(names.bucket, session.client("s3"))
        recorder = SessionRecorder(
            store,
            archive,
            requests=requests if window_seconds is not None else None,
            window_seconds=window_seconds or 0,
            clock=clock,
        )
        start, rebuilds = clock.now, 0

        def run_due(until: float) -> int:
            done = 0
            while requests.due and requests.due[0][0] <= until:
                due, meeting_id, session_id, recheck = requests.due.pop(0)
                clock.now = max(clock.now, due)
                done += 0 if recorder.rebuild(meeting_id, session_id, recheck=recheck).skipped else 1
            return done

        started = time.perf_counter()
        for k, body in enumerate(bodies):
            moment = start + k * MEETING_SECONDS / len(bodies)
            rebuilds += run_due(moment)
            clock.now = moment
            detail = build_detail(
                body, received_at=datetime.now(UTC), delivery_id=None, webhook_id=None, signature_header="x"
            )
            take_in_event(detail, store=archive, recorder=recorder)
        rebuilds += run_due(float("inf"))
        if window_seconds is None:
            rebuilds = len(bodies)
        puts, put_bytes, writes = counter.snapshot()
        return GrowthPoint(
            events=len(bodies),
            window_seconds=window_seconds or 0,
            rebuilds=rebuilds,
            s3_puts=puts,
            s3_bytes=put_bytes,
            dynamodb_writes=writes,
            seconds=time.perf_counter() - started,
        )


def growth_table(
    window_seconds: int, *, sizes: tuple[int, ...] = GROWTH_SIZES, baseline_up_to: int = 200
) -> str:
    lines = [
        f"bytes per session, {MEETING_SECONDS // 60}-minute sessions, rebuild window {window_seconds} s "
        f"(baseline: a rebuild after every change, up to {baseline_up_to} events; it grows as N^2)",
        "  events  rebuilds  S3 PUTs  bytes written  baseline bytes  ratio to previous size",
    ]
    previous: GrowthPoint | None = None
    for size in sizes:
        point = session_growth(size, window_seconds=window_seconds)
        base = session_growth(size, window_seconds=None) if size <= baseline_up_to else None
        ratio = f"{point.s3_bytes / previous.s3_bytes:.1f}x" if previous else "-"
        lines.append(
            f"  {point.events:6d}  {point.rebuilds:8d}  {point.s3_puts:7d}  {point.s3_bytes:13,d}  "
            f"{(f'{base.s3_bytes:,d}' if base else 'not run'):>14}  {ratio:>8}"
        )
        previous = point
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the consumers get to drain")
    parser.add_argument(
        "--rebuild-window", type=int, default=None, help="seconds (default: local mode's, 1 s)"
    )
    parser.add_argument(
        "--consumer-processes",
        type=int,
        default=0,
        help="child processes that each add one execution environment per consumer (default: none)",
    )
    parser.add_argument("--growth", action="store_true", help="also measure bytes per session as it grows")
    parser.add_argument(
        "--growth-window", type=int, default=30, help="the growth run's window (deployed: 30 s)"
    )
    parser.add_argument("--growth-only", action="store_true", help="only the growth measurement")
    args = parser.parse_args()
    if args.growth or args.growth_only:
        print(growth_table(args.growth_window))
        if args.growth_only:
            return
    report = run_load(
        webhooks=args.webhooks,
        senders=args.senders,
        sessions=args.sessions,
        timeout=args.timeout,
        rebuild_window_seconds=args.rebuild_window,
        consumer_processes=args.consumer_processes,
    )
    print(f"load: {report.summary()}")
    for line in report.cost_lines():
        print(f"  {line}")
    if not report.exactly_once or report.accepted != report.webhooks:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
