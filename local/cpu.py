"""CPU time of local mode's child processes (moto's server, consumer processes), for benchmarks."""

from __future__ import annotations

import os
from pathlib import Path


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
