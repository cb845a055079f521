"""This process's peak resident set, in MiB.

``VmHWM`` from ``/proc/self/status`` where there is one (Linux): it belongs to the process's own
memory map, so a child started from a big parent (a pytest worker holding 700 MiB) reports its own
peak. ``getrusage``'s ``ru_maxrss`` does not: Linux carries it over from the parent through fork and
exec, so a small child of a big worker would report the worker's peak."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> int:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
