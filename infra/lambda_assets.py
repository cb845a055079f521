"""Build the Lambda assets without Docker: a dependency layer of manylinux wheels for the target
platform, and a code directory holding only ``functions/`` and ``shared/``.

The layer is pinned by ``uv.lock`` (``uv export --frozen``) and installed with ``uv pip install
--python-platform ... --only-binary :all: --no-deps``: wheels only, so nothing is compiled on this
machine and the result does not depend on its OS or CPU. A stamp file holding the hash of the lock
file, the platform and the Python version lets a rebuild be skipped.

boto3, botocore and s3transfer are left out: the Lambda Python runtime ships them, and they would
add ~33 MB (unzipped) to a layer that is ~90 MB already (the cloudflare SDK is 57 MB of it; the
limit is 250 MB). The runtime's copy is somewhat older than our lock; the functions use only
long-stable client calls."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_ROOT = REPO_ROOT / "build" / "lambda"
CODE_PACKAGES = ("functions", "shared")
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer")
LAMBDA_PLATFORM_ARM64 = "aarch64-manylinux2014"


class AssetBuildError(RuntimeError):
    """The uv binary is missing or an export/install failed; the message says which command."""


@dataclass(frozen=True)
class LambdaAssetDirs:
    code: Path  # holds functions/ and shared/: the function code asset
    layer: Path  # holds python/<packages>: the layer asset (Lambda mounts it at /opt/python)
    layer_hash: str  # hash of lock + platform + Python version: a stable CDK asset hash


def find_uv() -> str:
    """``$UV``, then ``uv`` on PATH, then the repo's bootstrapped copy."""
    candidates = [os.environ.get("UV"), shutil.which("uv"), str(REPO_ROOT / ".tools" / "bin" / "uv")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise AssetBuildError("uv not found: set UV=/path/to/uv or put uv on PATH")


def _run(command: Sequence[str]) -> str:
    # The command is ours: uv's path and fixed arguments, never shell-interpreted.
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise AssetBuildError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout


def export_requirements(*, uv: str, only: Sequence[str] | None = None) -> str:
    """The locked runtime requirements (``[project] dependencies``, no extras, no dev group)
    without the runtime-provided packages; with ``only``, just those packages instead."""
    command = [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-header"]
    if only is None:
        for package in RUNTIME_PROVIDED_PACKAGES:
            command += ["--no-emit-package", package]
    text = _run(command)
    if only is None:
        return text
    wanted = {name.lower() for name in only}
    return "".join(line + "\n" for line in text.splitlines() if line.split("==")[0].strip().lower() in wanted)


def _fingerprint(*parts: str) -> str:
    digest = hashlib.sha256()
    digest.update((REPO_ROOT / "uv.lock").read_bytes())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


@contextmanager
def _build_lock() -> Iterator[None]:
    """Serialize builds (pytest-xdist workers, a synth running next to the tests)."""
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with (BUILD_ROOT / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp_of(target: Path) -> Path:
    """Next to the asset directory, not in it: the stamp is not deployed."""
    return target.with_name(target.name + ".stamp")


def _is_current(target: Path, fingerprint: str) -> bool:
    stamp = _stamp_of(target)
    return target.is_dir() and stamp.is_file() and stamp.read_text().strip() == fingerprint


def _replace_dir(built: Path, target: Path, fingerprint: str) -> None:
    _stamp_of(target).unlink(missing_ok=True)
    if target.exists():
        shutil.rmtree(target)
    built.rename(target)
    _stamp_of(target).write_text(fingerprint + "\n")


def build_layer(
    *,
    python_version: str,
    platform: str = LAMBDA_PLATFORM_ARM64,
    target: Path | None = None,
    only: Sequence[str] | None = None,
) -> tuple[Path, str]:
    """Install the locked wheels into ``<target>/python``; returns (target, fingerprint).
    Skipped when the stamp next to ``target`` matches. Needs PyPI (or uv's cache) on a rebuild."""
    target = target or BUILD_ROOT / "layer"
    uv = find_uv()
    fingerprint = _fingerprint(platform, python_version, ",".join(only or ()), "no-deps-v1")
    if _is_current(target, fingerprint):
        return target, fingerprint
    with _build_lock():
        if _is_current(target, fingerprint):
            return target, fingerprint
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=BUILD_ROOT))
        staging.chmod(0o755)
        try:
            requirements = staging / "requirements.txt"
            requirements.write_text(export_requirements(uv=uv, only=only))
            _run(
                [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python-platform",
                    platform,
                    "--python-version",
                    python_version,
                    "--only-binary",
                    ":all:",
                    "--no-deps",  # the export is the complete, locked set
                    "--target",
                    str(staging / "python"),
                    "-r",
                    str(requirements),
                ]
            )
            requirements.unlink()
            _replace_dir(staging, target, fingerprint)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target, fingerprint


def _code_files() -> list[Path]:
    files = []
    for package in CODE_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            relative = path.relative_to(REPO_ROOT).parts
            if path.is_file() and not _excluded_from_code(relative):
                files.append(path)
    return files


def _excluded_from_code(parts: tuple[str, ...]) -> bool:
    name = parts[-1]
    return (
        bool({"__pycache__", "tests"} & set(parts))
        or name.endswith((".pyc", ".pyo"))
        or name.startswith("test_")
    )


def build_code(*, target: Path | None = None) -> Path:
    """Copy ``functions/`` and ``shared/`` (no caches, no tests). Skipped when the stamp (a hash of
    every copied file's path and bytes) matches: an unchanged tree is never swapped out from under
    a test or synth that is reading it."""
    target = target or BUILD_ROOT / "code"
    digest = hashlib.sha256()
    files = _code_files()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    fingerprint = digest.hexdigest()[:32]
    with _build_lock():
        if _is_current(target, fingerprint):
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=BUILD_ROOT))
        staging.chmod(0o755)
        try:
            for path in files:
                destination = staging / path.relative_to(REPO_ROOT)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
            _replace_dir(staging, target, fingerprint)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def build_lambda_assets(*, python_version: str) -> LambdaAssetDirs:
    layer, layer_hash = build_layer(python_version=python_version)
    return LambdaAssetDirs(code=build_code(), layer=layer, layer_hash=layer_hash)
