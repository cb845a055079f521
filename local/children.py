"""What local mode does with its child processes (moto's server, consumer processes): each runs
until its stdin closes, so ending one is closing its stdin and waiting; and, for benchmarks, the
CPU time one has used."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def end_child(process: subprocess.Popen[str], *, timeout: float) -> str:
    """Close the child's stdin (its signal to stop), wait up to ``timeout`` seconds (then kill it),
    and return what it wrote to stdout meanwhile."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stdout is None:
        return ""
    try:
        return process.stdout.read()
    finally:
        process.stdout.close()


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds process ``pid`` has used so far; None where the OS does not
    say (read from ``/proc``, so Linux only) or the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # After the command's closing parenthesis: state is field 3, utime 14 and stime 15 (proc(5)).
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
