"""More execution environments for the queue consumers: a child process that polls the same queues
with the same handlers, beside the local stack's own pollers.

Lambda runs each consumer in up to ``maxConcurrency`` environments at once, each with its own
memory (``shared.fanout.routing``). Local mode's own process gives each function one environment:
the handlers keep module state (batch processors, clients, caches) that one invocation at a time
may use, so two threads cannot share it. A child process is an environment of its own, as a Lambda
instance is: it imports the handlers afresh and shares nothing with its parent but the queues,
the tables and the bucket (moto's server). SQS hands each message to one receiver, so the
consumers' idempotency and the record's conditional writes are what keep concurrent
environments apart, as they are deployed.

The child inherits the stack's environment variables (the functions' settings), reads what it
polls as one JSON line on stdin, prints ``ready`` once its pollers run, and stops when its stdin
closes, so it never outlives the stack that started it. ``LocalSettings.consumer_processes`` asks
for them (``python -m bench.load --consumer-processes``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import IO, Any

from local.children import end_child, process_cpu_seconds
from local.names import REGION
from local.write_counter import COUNT_WRITES_ENV, WriteCounter

log = logging.getLogger("meeting_vault.local")


@dataclass(frozen=True)
class PolledQueue:
    route: str  # the ConsumerRoute's name
    queue_url: str
    queue_arn: str


def serve(queues: list[PolledQueue], endpoint: str, out: IO[str]) -> None:
    """Poll ``queues`` until stdin closes (the parent stopped, or died); ``out`` is the line to
    the parent."""
    import boto3

    from local.lambda_runtime import load_handler
    from local.pollers import QueuePoller
    from shared.fanout.routing import REBUILDS, ROUTES

    counter = WriteCounter().install() if os.environ.get(COUNT_WRITES_ENV) else None
    routes = {route.name: route for route in (*ROUTES, REBUILDS)}
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )
    pollers = [
        QueuePoller(
            route=routes[queue.route],
            handler=load_handler(routes[queue.route].lambda_handler),
            sqs=sqs,
            queue_url=queue.queue_url,
            queue_arn=queue.queue_arn,
            region=REGION,
        )
        for queue in queues
    ]
    for poller in pollers:
        poller.start()
    print("ready", file=out, flush=True)
    try:
        sys.stdin.read()
    finally:
        for poller in pollers:
            poller.request_stop()
        for poller in pollers:
            poller.join(timeout=10)
        # What this environment did, for the parent (``ConsumerProcess.processed``).
        report = {
            "processed": {p.route.name: p.processed for p in pollers if p.processed},
            "writes": counter.to_dict() if counter else None,
        }
        print(json.dumps(report), file=out, flush=True)


class ConsumerProcess:
    """:meth:`start` returns once the child's pollers run; :meth:`stop` lets each finish its batch."""

    def __init__(self, queues: list[PolledQueue], endpoint: str) -> None:
        self.queues = queues
        self.endpoint = endpoint
        self._process: subprocess.Popen[str] | None = None
        self.processed: dict[str, int] = {}  # messages handled per route, known once stopped
        self.writes: dict[str, Any] | None = None  # what it wrote (``COUNT_WRITES_ENV``), once stopped

    def start(self) -> ConsumerProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.consumer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdin is not None
        assert process.stdout is not None
        spec = {"endpoint": self.endpoint, "queues": [asdict(q) for q in self.queues]}
        process.stdin.write(json.dumps(spec) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise OSError(f"a consumer process did not start: {line.strip() or 'no output'}")
        return self

    def cpu_seconds(self) -> float | None:
        """CPU seconds the child has used so far (None: not running, or not known)."""
        return process_cpu_seconds(self._process.pid) if self._process is not None else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # Each poller finishes its batch (a long poll: up to 1 s), then the child reports.
        last = end_child(process, timeout=30).strip().splitlines()
        if not last:
            return
        try:
            report = json.loads(last[-1])
            self.processed = {str(k): int(v) for k, v in report["processed"].items()}
            self.writes = report.get("writes")
        except (ValueError, KeyError, AttributeError, TypeError):
            log.warning("a consumer process ended without its report: %r", last[-1][:200])


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # The functions log to stdout (Powertools), as on Lambda: here that is stderr, so that stdout
    # carries only what the parent reads.
    out, sys.stdout = sys.stdout, sys.stderr
    spec: dict[str, Any] = json.loads(sys.stdin.readline())
    serve([PolledQueue(**q) for q in spec["queues"]], spec["endpoint"], out)


if __name__ == "__main__":
    main()
