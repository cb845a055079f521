"""Operator CLI start-up: ``meeting-vault --help`` against ``import boto3`` alone, both measured in
this run, each sample a fresh interpreter (wall time, as an operator waits for it).

Target: ``--help`` under 0.4 s on the project's 2-core machine. The boto3 import is printed next to it
as the yardstick: a CLI that loaded boto3 (or the cloudflare SDK, or moto) for ``--help`` could not
be faster than it.

Usage: python -m bench.startup [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HELP = "from cli.main import main\nmain(['--help'], prog_name='meeting-vault')"
BOTO3 = "import boto3"


def wall_seconds(code: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    wall_seconds("pass", 2)  # warm the file cache for both
    # Interleaved, so that a noisy moment costs both sides alike.
    help_samples: list[float] = []
    boto_samples: list[float] = []
    for _ in range(args.runs):
        help_samples += wall_seconds(HELP, 1)
        boto_samples += wall_seconds(BOTO3, 1)
    bare = statistics.median(wall_seconds("pass", args.runs))
    cli, boto = statistics.median(help_samples), statistics.median(boto_samples)
    print(f"interpreter start alone      {bare * 1000:7.0f} ms (median of {args.runs})")
    print(f"python -c 'import boto3'     {boto * 1000:7.0f} ms")
    print(
        f"meeting-vault --help         {cli * 1000:7.0f} ms   target < 400 ms: {'met' if cli < 0.4 else 'MISSED'}"
    )
    print(f"ratio --help / boto3 import  {cli / boto:7.2f}")


if __name__ == "__main__":
    main()
