"""moto's server in a process of its own, so AWS's stand-in does not share a GIL with the functions.

Local mode runs every function, every queue poller and the API in one Python process. With moto's
server in that process too, a load of a few thousand webhooks kept one core busy and left the
other idle: about half of the CPU went to moto answering requests (routing each one, walking queue
messages). In a child process it has a core of its own.

Requests reach moto through ``local.moto_wsgi.ThinApp``: moto's own dispatcher, app, rule and
callback, without Flask's per-request contexts (about a fifth of the server's CPU); with
``moto_speedups``' JSON serializer, 28% less server CPU per webhook (``bench.moto_server``).

The child prints ``ready <port>`` once it answers requests, and runs until its stdin closes, so it
never outlives the local stack that started it (even one killed without a chance to clean up).

``python -m local.moto_process --host 127.0.0.1 --port 0``
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from local import moto_speedups
from local.children import end_child, process_cpu_seconds

# Long polls hold a thread each for up to a second (one per queue poller), so leave room for them.
THREADS = 32
TIMINGS_ENV = "MEETING_VAULT_MOTO_TIMINGS"
# Speed-ups to leave out, comma-separated names (``moto_speedups.apply``): for benchmarks and for
# the tests that compare answers with and without them.
SKIP_ENV = "MEETING_VAULT_MOTO_SKIP"
# Set (to anything but "" or "0"): the server checks each speed-up that can be checked against what
# moto computes without it, per request, and answers 500 on a difference (tests use it).
VERIFY_ENV = "MEETING_VAULT_MOTO_VERIFY"


class OperationTimings:
    """CPU time moto's server spent per AWS operation (``MEETING_VAULT_MOTO_TIMINGS=<file>``: the
    table is written there when the server stops). ``bench.load`` prints it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, list[float]] = {}

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def timed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            started = time.thread_time()
            try:
                return app(environ, start_response)
            finally:
                spent = time.thread_time() - started
                name = operation_name(environ)
                with self._lock:
                    entry = self.calls.setdefault(name, [0, 0.0])
                    entry[0] += 1
                    entry[1] += spent

        return timed

    def table(self) -> str:
        rows = sorted(self.calls.items(), key=lambda item: -item[1][1])
        return "".join(f"{name}\t{int(count)}\t{seconds:.3f}\n" for name, (count, seconds) in rows)


def operation_name(environ: dict[str, Any]) -> str:
    """The AWS operation of a request: its X-Amz-Target (JSON protocols), else S3's method and
    whether it named an object."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "/").strip("/")
    return f"s3 {environ.get('REQUEST_METHOD', '?')} {'object' if '/' in path else 'bucket'}"


def build_app(skip: frozenset[str] = frozenset(), *, verify: bool = False) -> Callable[..., Any]:
    """moto's server app (``moto_speedups.apply`` first): its ``DomainDispatcherApplication``,
    answered through ``local.moto_wsgi.ThinApp`` unless ``skip`` names "thin-wsgi"."""
    from moto.moto_server import werkzeug_app

    dispatcher = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    if "thin-wsgi" in skip:
        return dispatcher
    from local.moto_wsgi import ThinApp

    return ThinApp(dispatcher, verify=verify)


def serve(host: str, port: int, out: IO[str] = sys.stdout) -> None:
    from waitress.server import create_server

    logging.getLogger("waitress").setLevel(logging.ERROR)
    skip = frozenset(filter(None, os.environ.get(SKIP_ENV, "").split(",")))
    verify = os.environ.get(VERIFY_ENV, "") not in ("", "0")
    moto_speedups.apply(skip, verify=verify)  # before the app is built: one wraps create_backend_app
    app = build_app(skip, verify=verify)
    timings_path = os.environ.get(TIMINGS_ENV)
    timings = OperationTimings() if timings_path else None
    # waitress rather than moto's own werkzeug server: werkzeug's development server closes every
    # connection after one response, so each AWS call paid a new TCP connection and a new thread
    # on both sides. waitress keeps connections alive and serves them from a fixed pool of threads.
    # Binding happens here, so a taken port fails now.
    server = create_server(
        timings.wrap(app) if timings else app,
        host=host,
        port=port,
        threads=THREADS,
        connection_limit=1000,
        channel_timeout=300,
        clear_untrusted_proxy_headers=True,
    )
    thread = threading.Thread(target=server.run, name="moto-server", daemon=True)
    thread.start()
    out.write(f"ready {server.effective_port}\n")
    out.flush()
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        server.close()
        if timings and timings_path:
            Path(timings_path).write_text(timings.table())


class MotoProcess:
    """Start with :meth:`start`; ``endpoint`` is then moto's URL; :meth:`stop` ends the child."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host = host
        self.port = port
        self.endpoint = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> MotoProcess:
        process = subprocess.Popen(  # noqa: S603 - our own module, with our own interpreter
            [sys.executable, "-m", "local.moto_process", "--host", self.host, "--port", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            raise OSError(f"moto's server did not start (port {self.port}): {line.strip() or 'no output'}")
        self.port = int(line.split()[1])
        self.endpoint = f"http://{self.host}:{self.port}"
        return self

    def cpu_seconds(self) -> float | None:
        """CPU seconds the server's process has used so far (None: not running, or not known)."""
        return process_cpu_seconds(self._process.pid) if self._process is not None else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            end_child(process, timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        serve(args.host, args.port)
    except OSError as error:  # the port is taken: say so on the line the parent reads
        print(f"failed {error}", flush=True)
        raise SystemExit(1) from error


if __name__ == "__main__":
    main()
