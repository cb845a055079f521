"""Build the Lambda assets without Docker: a dependency layer of manylinux wheels for the target
platform, and a code directory holding only ``functions/`` and ``shared/``.

The layer is pinned by ``uv.lock`` (``uv export --frozen``) and installed with ``uv pip install
--python-platform ... --only-binary :all: --no-deps``: wheels only, so no native code is built on
this machine and the result does not depend on its OS or CPU. A stamp file holding the hash of the
lock file, the platform, the Python version and the bytecode plan lets a rebuild be skipped.

boto3, botocore and s3transfer are left out: the Lambda Python runtime ships them, and they would
add ~33 MB (unzipped) to a layer that is ~110 MB already (~40 MB of it bytecode; the cloudflare
SDK is 73 MB of it; the limit is 250 MB). The runtime's copy is somewhat older than our lock; the functions use only
long-stable client calls.

Both assets ship bytecode: Lambda mounts them read-only (/opt, /var/task), so without ``.pyc``
files every cold start compiles every module it imports from them (the ingest function's first
request, measured on x86_64 CPython 3.11: 0.63 s from sources, 0.34 s with the shipped bytecode).
A ``.pyc`` only loads in the interpreter version that wrote it, so the assets are compiled only
when the build runs on CPython of the runtime's version (``bytecode_plan``); otherwise they are
built without bytecode and a warning says so. The pycs are hash-based and unchecked: valid
whatever the file mtimes in the zip, never re-validated."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
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
# Where Lambda mounts the assets: compiled code objects name their source file under these paths.
LAYER_MOUNT = "/opt/python"
CODE_MOUNT = "/var/task"

# The interpreter running the build; its bytecode is only usable by the same minor version.
BUILD_PYTHON_IMPLEMENTATION = sys.implementation.name
BUILD_PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
BUILD_CACHE_TAG = sys.implementation.cache_tag  # "cpython-311": the pyc name's tag
BYTECODE_IMPLEMENTATION = "cpython"  # the Lambda runtimes are CPython
BYTECODE_INVALIDATION_MODE = "unchecked-hash"  # no mtime check: zip mtimes do not matter
BYTECODE_FORMAT = "bytecode-v1"  # bump to rebuild every asset when the compile step changes


class AssetBuildError(RuntimeError):
    """The uv binary is missing or an export/install failed; the message says which command."""


@dataclass(frozen=True)
class LambdaAssetDirs:
    code: Path  # holds functions/ and shared/: the function code asset
    layer: Path  # holds python/<packages>: the layer asset (Lambda mounts it at /opt/python)
    layer_hash: str  # hash of lock + platform + Python version + bytecode plan: a stable CDK asset hash


@dataclass(frozen=True)
class BytecodePlan:
    """Compile with this interpreter (it is the runtime's version) into ``__pycache__/*.<cache_tag>.pyc``."""

    cache_tag: str  # e.g. "cpython-311"

    @property
    def fingerprint(self) -> str:
        return f"{BYTECODE_FORMAT}:{self.cache_tag}:{BYTECODE_INVALIDATION_MODE}"


NO_BYTECODE_FINGERPRINT = f"{BYTECODE_FORMAT}:none"
_warned_about_bytecode: set[str] = set()


def bytecode_plan(python_version: str) -> BytecodePlan | None:
    """The one place that decides whether the assets for ``python_version`` ("3.11") ship bytecode:
    only when the build interpreter is CPython of that same version. Otherwise ``None``, and a
    warning on stderr (once per process): the functions work, their cold starts compile from source."""
    if BUILD_PYTHON_IMPLEMENTATION == BYTECODE_IMPLEMENTATION and python_version == BUILD_PYTHON_VERSION:
        return BytecodePlan(cache_tag=BUILD_CACHE_TAG)
    if python_version not in _warned_about_bytecode:
        _warned_about_bytecode.add(python_version)
        print(
            f"WARNING: building the Lambda assets for Python {python_version} WITHOUT bytecode: the build "
            f"runs on {BUILD_PYTHON_IMPLEMENTATION} {BUILD_PYTHON_VERSION}, whose .pyc files Python "
            f"{python_version} cannot load. The functions work, but every cold start compiles its "
            f"modules from source (~0.3 s more for the ingest function). Build with CPython "
            f"{python_version} to ship bytecode.",
            file=sys.stderr,
        )
    return None


def compile_bytecode(source_root: Path, *, deployed_as: str) -> None:
    """Compile every ``.py`` under ``source_root`` with this interpreter (``bytecode_plan`` said it
    is the runtime's version). ``deployed_as`` replaces ``source_root`` in the recorded source paths,
    so tracebacks name the file as Lambda mounts it and the bytes do not depend on the build dir."""
    _run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            BYTECODE_INVALIDATION_MODE,
            "-s",
            str(source_root),
            "-p",
            deployed_as,
            str(source_root),
        ]
    )


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
    bytecode = bytecode_plan(python_version)
    fingerprint = _fingerprint(
        platform,
        python_version,
        ",".join(only or ()),
        "no-deps-v1",
        bytecode.fingerprint if bytecode else NO_BYTECODE_FINGERPRINT,
    )
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
            if bytecode:
                compile_bytecode(staging / "python", deployed_as=LAYER_MOUNT)
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


def build_code(*, python_version: str, target: Path | None = None) -> Path:
    """Copy ``functions/`` and ``shared/`` (no caches, no tests) and compile them for
    ``python_version`` when ``bytecode_plan`` allows. Skipped when the stamp (a hash of every copied
    file's path and bytes, and of the bytecode plan) matches: an unchanged tree is never swapped out
    from under a test or synth that is reading it."""
    target = target or BUILD_ROOT / "code"
    bytecode = bytecode_plan(python_version)
    digest = hashlib.sha256()
    digest.update((bytecode.fingerprint if bytecode else NO_BYTECODE_FINGERPRINT).encode() + b"\0")
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
            if bytecode:
                compile_bytecode(staging, deployed_as=CODE_MOUNT)
            _replace_dir(staging, target, fingerprint)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def build_lambda_assets(*, python_version: str) -> LambdaAssetDirs:
    layer, layer_hash = build_layer(python_version=python_version)
    return LambdaAssetDirs(code=build_code(python_version=python_version), layer=layer, layer_hash=layer_hash)
