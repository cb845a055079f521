"""Transfer benchmark: HTTP source -> S3, our engine against two baselines and the ceiling.

Generated files are served by the local HTTP source (tests/support/http_source.py) and copied into
moto's S3 server; both run in their own processes so their memory is not counted as ours. Every
method runs in a fresh child process, which reports its wall time and its peak RSS (VmHWM):

- engine          shared.archive.transfer.transfer_to_s3, default TransferConfig (8 MiB parts, CRC32 part checksums)
- engine-ranged   the same with parallel ranged GETs (range_streams=True)
- engine:k=v:...  a variant with TransferConfig fields overridden, to compare settings in one run,
                  e.g. ``engine:concurrency=4:part_checksum=SHA256`` (also ``engine-ranged:...``)
- upload_fileobj  boto3 s3.upload_fileobj(urllib3 response), boto3's default TransferConfig
- naive           read the whole body, then one put_object
- source-only     read the HTTP body and drop it (the read side alone)
- s3-only         multipart-upload the same bytes from a local file, written the way the engine
                  writes: the part size it picks for the size, the same parts in flight (concurrency
                  uploading, concurrency + 2 alive) and part checksum; no source, no stream hash.
                  ``s3-only:k=v:...`` takes the same overrides as an engine variant.

Each child also reports its CPU time (user + sys, all threads) spent in the measured section.
ceiling = the slower of source-only and s3-only (for ``engine:k=v`` the ``s3-only:k=v`` of the same
settings when it ran). Targets: engine peak RSS flat in file size (largest
within 1.2x of smallest), engine throughput >= upload_fileobj and >= 0.5 x ceiling.

Usage: python -m bench.transfer [--sizes 64M,512M,2G] [--quick] [--repeat 1] [--methods ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
BUCKET = "bench"
PART = 8 * MiB
METHODS = ("engine", "engine-ranged", "upload_fileobj", "naive", "source-only", "s3-only")


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def human(size: int) -> str:
    for unit, factor in (("G", 1024 * MiB), ("M", MiB), ("K", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# ------------------------------------------------------------------------------------------- child


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=16),
    )


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the whole process: every thread
    return usage.ru_utime + usage.ru_stime


def engine_config(method: str) -> Any:
    """``engine[-ranged][:field=value...]`` or ``s3-only[:field=value...]`` -> TransferConfig."""
    from shared.archive.transfer import TransferConfig

    name, *overrides = method.split(":")
    fields: dict[str, Any] = {"range_streams": name == "engine-ranged"}
    for item in overrides:
        field_name, _, value = item.partition("=")
        fields[field_name] = int(value) if value.isdigit() else value
    return TransferConfig(**fields)


def run_child(method: str, url: str, endpoint: str, key: str, path: str) -> dict[str, Any]:
    """Runs in a fresh interpreter; everything imported before the clock starts."""
    import http.client
    from urllib.parse import urlsplit

    import urllib3

    from shared.archive.transfer import TransferRequest, transfer_to_s3
    from shared.archive.url_policy import UrlPolicy

    s3 = s3_client(endpoint)
    s3.list_buckets()  # warm the connection pool and the endpoint resolver
    baseline = current_rss_mib()
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    size = 0
    if method.startswith("engine"):
        config = engine_config(method)
        result = transfer_to_s3(
            TransferRequest(url=url, bucket=BUCKET, key=key),
            s3_client=s3,
            policy=UrlPolicy.local(),
            config=config,
        )
        size = result.size
    elif method == "upload_fileobj":
        pool = urllib3.PoolManager()
        response = pool.request("GET", url, preload_content=False)
        s3.upload_fileobj(response, BUCKET, key)
        response.release_conn()
    elif method == "naive":
        data = urllib3.PoolManager().request("GET", url).data
        size = len(data)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        del data
    elif method == "source-only":
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        conn.request("GET", parts.path)
        body = conn.getresponse()
        buf = memoryview(bytearray(MiB))
        while n := body.readinto(buf):
            size += n
    elif method.startswith("s3-only"):
        size = upload_file_parts(s3, key, Path(path), engine_config(method))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mib": peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "size": size,
    }


def upload_file_parts(s3: Any, key: str, path: Path, config: Any) -> int:
    """The S3 write side alone, written the way the engine writes: the part size it would choose
    for this size (``TransferConfig.part_size_for``), one reader handing parts in order to
    ``concurrency`` upload threads with at most ``concurrency + 2`` parts alive, the same per-part
    checksum; the bytes come from a local file instead of the HTTP source (no stream SHA-256)."""
    import threading

    from shared.archive.transfer import _part_checksum

    algorithm, member = config.part_checksum, f"Checksum{config.part_checksum}"
    size = path.stat().st_size
    part_size = config.part_size_for(size)
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm=algorithm)["UploadId"]
    permits = threading.Semaphore(config.concurrency + 2)

    def one(number: int, body: bytes) -> dict[str, Any]:
        try:
            checksum = _part_checksum(algorithm, body)
            response = s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **{member: checksum}
            )
            return {"PartNumber": number, "ETag": response["ETag"], member: checksum}
        finally:
            permits.release()

    futures = []
    with ThreadPoolExecutor(config.concurrency) as pool, path.open("rb") as file:
        number = 0
        while True:
            permits.acquire()
            body = file.read(part_size)
            if not body and number:
                permits.release()
                break
            number += 1
            futures.append(pool.submit(one, number, body))
            if len(body) < part_size:
                break
        parts = [future.result() for future in futures]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return size


# ------------------------------------------------------------------------------------------ parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def generate(path: Path, size: int) -> str:
    """Random-looking bytes, fast: one random MiB, each copy stamped with its index."""
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as file:
        written, index = 0, 0
        while written < size:
            chunk = (index.to_bytes(8, "big") + block[8:])[: size - written]
            file.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            index += 1
    return digest.hexdigest()


class Servers:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[Any]] = []

    def __enter__(self) -> Servers:
        source = subprocess.Popen(
            [sys.executable, "-m", "tests.support.http_source", "--root", str(self.root)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(source)
        line = source.stdout.readline() if source.stdout else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"http source did not start: {line!r}")
        self.source_url = f"http://127.0.0.1:{int(line.split()[1])}"
        port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(moto)
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        s3_client(self.endpoint).create_bucket(Bucket=BUCKET)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)


def process_cpu_seconds(pid: int) -> float:
    """user + sys of another process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(method: str, servers: Servers, name: str, size: int, expected_sha: str) -> dict[str, Any]:
    key = f"{method}/{name}"
    s3_cpu_before = process_cpu_seconds(servers.procs[1].pid)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.transfer",
            "--child",
            method,
            "--url",
            f"{servers.source_url}/{name}",
            "--endpoint",
            servers.endpoint,
            "--key",
            key,
            "--path",
            str(servers.root / name),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{method} {name} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # The S3 server's CPU while this child ran (incl. process start-up, which is idle time for it).
    result["s3_cpu_seconds"] = process_cpu_seconds(servers.procs[1].pid) - s3_cpu_before
    if method != "source-only":
        s3 = s3_client(servers.endpoint)
        head = s3.head_object(Bucket=BUCKET, Key=key)
        if head["ContentLength"] != size:
            raise RuntimeError(f"{method}: S3 holds {head['ContentLength']} bytes, expected {size}")
        if method.startswith("engine"):
            tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}
            sha = tags.get("sha256") or head["Metadata"].get("sha256")
            if sha != expected_sha:
                raise RuntimeError(f"{method}: sha256 {sha} != {expected_sha}")
        s3.delete_object(Bucket=BUCKET, Key=key)  # keep moto's memory down
    result["mib_s"] = size / MiB / result["seconds"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="HTTP -> S3 transfer benchmark")
    parser.add_argument("--sizes", default="64M,512M,2G")
    parser.add_argument("--quick", action="store_true", help="8M,64M: a smoke run for CI")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per method and size (interleaved); the median is reported"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where to generate files (default: tmp)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.url, args.endpoint, args.key, args.path)))
        return

    sizes = [parse_size(s) for s in ("8M,64M" if args.quick else args.sizes).split(",")]
    methods = [m for m in args.methods.split(",") if m]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-transfer-") as tmp:
        root = Path(tmp)
        hashes = {size: generate(root / f"file-{human(size)}.bin", size) for size in sizes}
        with Servers(root) as servers:
            for size in sizes:
                name = f"file-{human(size)}.bin"
                runs: dict[str, list[dict[str, Any]]] = {method: [] for method in methods}
                for _ in range(args.repeat):  # interleaved, so drift in the servers hits every method
                    for method in methods:
                        run = measure(method, servers, name, size, hashes[size])
                        runs[method].append(run)
                        print(
                            f"  {human(size):>5} {method:<15} {run['mib_s']:8.1f} MiB/s "
                            f"peak RSS {run['peak_rss_mib']:7.1f} MiB "
                            f"CPU {run['cpu_seconds'] / (size / 1024 / MiB):5.2f} s/GiB "
                            f"S3 server CPU {run['s3_cpu_seconds'] / (size / 1024 / MiB):5.2f} s/GiB",
                            file=sys.stderr,
                            flush=True,
                        )
                for method, samples in runs.items():
                    speeds = sorted(r["mib_s"] for r in samples)
                    results[(method, size)] = {
                        "mib_s": statistics.median(speeds),
                        "spread": f"{speeds[0]:.0f}-{speeds[-1]:.0f}",
                        "peak_rss_mib": max(r["peak_rss_mib"] for r in samples),
                        "cpu_s_gib": statistics.median(r["cpu_seconds"] for r in samples)
                        / (size / 1024 / MiB),
                    }
    print(report(results, sizes, methods))


def report(results: dict[tuple[str, int], dict[str, Any]], sizes: list[int], methods: list[str]) -> str:
    lines = [
        f"cpu cores: {os.cpu_count()}; source and S3 (moto) servers in their own processes; "
        "peak RSS = VmHWM of the child that ran the method (Python + boto3 baseline included)",
        "",
        "| size | method | MiB/s (median) | min-max | peak RSS MiB | CPU s/GiB (median) |",
        "|---:|:---|---:|---:|---:|---:|",
    ]
    for size in sizes:
        for method in methods:
            r = results.get((method, size))
            if r:
                lines.append(
                    f"| {human(size)} | {method} | {r['mib_s']:.1f} | {r['spread']} | {r['peak_rss_mib']:.1f} "
                    f"| {r['cpu_s_gib']:.2f} |"
                )
    lines += ["", "| size | engine | ceiling MiB/s | engine / ceiling | engine / upload_fileobj |"]
    lines.append("|---:|:---|---:|---:|---:|")
    for size in sizes:
        get = {m: results[(m, size)]["mib_s"] for m in methods if (m, size) in results}
        if "source-only" not in get:
            continue
        for engine in (m for m in methods if m.startswith("engine") and m in get):
            settings = engine.partition(":")[2]
            writer = f"s3-only:{settings}" if settings and f"s3-only:{settings}" in get else "s3-only"
            if writer not in get:
                continue
            ceiling = min(get["source-only"], get[writer])
            vs_fileobj = f"{get[engine] / get['upload_fileobj']:.2f}" if "upload_fileobj" in get else "-"
            lines.append(
                f"| {human(size)} | {engine} | {ceiling:.1f} | {get[engine] / ceiling:.2f} | {vs_fileobj} |"
            )
    if "engine" in methods and len(sizes) > 1:
        large = results[("engine", sizes[-1])]["peak_rss_mib"]
        ratios = [
            f"{human(sizes[-1])} / {human(size)}: {large / results[('engine', size)]['peak_rss_mib']:.2f}"
            for size in sizes[:-1]
        ]
        lines += ["", f"engine peak RSS {'; '.join(ratios)} (target: largest / smallest <= 1.2)"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
