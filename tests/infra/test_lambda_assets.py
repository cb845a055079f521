"""The Lambda assets, built without Docker, hold everything the handlers import.

The deployed layer is aarch64/CPython 3.11, so its compiled modules (pydantic_core, cryptography,
cffi) cannot load on this machine. The import test therefore builds the SAME locked requirement
set for this machine (x86_64, this interpreter's version) and imports each handler in a fresh
interpreter whose only import paths are: the code asset, that layer, a directory with just the
packages the Lambda runtime provides (boto3, botocore, s3transfer), and the standard library.
Then it checks that every distribution the import loaded from the layer is also in the aarch64
layer. Both deployed assets ship bytecode compiled by the build interpreter when it is the
runtime's CPython version (hash-based, unchecked .pyc): the bytecode tests check that. The first run
downloads wheels from PyPI (~60 MB); later runs reuse build/lambda."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_assets import (
    BUILD_ROOT,
    RUNTIME_PROVIDED_PACKAGES,
    BytecodePlan,
    LambdaAssetDirs,
    build_lambda_assets,
    build_layer,
    bytecode_plan,
)
from infra.lambda_defaults import RUNTIME_PYTHON_VERSION
from shared.fanout.routing import INGEST_HANDLER, ROUTES

pytestmark = pytest.mark.downloads

HANDLER_MODULES = [INGEST_HANDLER.rsplit(".", 1)[0], *(route.handler_module for route in ROUTES)]
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
HOST_PLATFORM = "x86_64-manylinux2014"
ELF_MACHINE_AARCH64 = 183
RUNTIME_PY_TAG = "cp" + RUNTIME_PYTHON_VERSION.replace(".", "")  # "cp311"
PYC_FLAGS_UNCHECKED_HASH = 0b01  # PEP 552: bit 0 hash-based, bit 1 check_source (off)
INGEST_MODULE = INGEST_HANDLER.rsplit(".", 1)[0]

# Runs in a fresh interpreter started with -S -E (no site-packages, no PYTHON* variables) in an
# empty directory; argv: module, then the allowed import roots.
IMPORT_PROBE = r"""
import importlib, json, sys, sysconfig
module, roots = sys.argv[1], sys.argv[2:]
stdlib = [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")]
sys.path[:] = roots + [p for p in sys.path if p and any(p.startswith(s) for s in stdlib) or p.endswith(".zip")]
importlib.import_module(module)
getattr(sys.modules[module], "handler")
loaded = {}
for name, mod in list(sys.modules.items()):
    path = getattr(mod, "__file__", None)
    if path:
        loaded[name] = path
print(json.dumps({"path": sys.path, "loaded": loaded}))
"""


@dataclass(frozen=True)
class HostAssets:
    deployed: LambdaAssetDirs  # what the stack ships: aarch64, the runtime's Python
    host_layer: Path  # the same locked set for this machine, for the import test
    runtime_provided: Path  # boto3/botocore/s3transfer as the Lambda runtime would provide


@pytest.fixture(scope="module")
def assets() -> HostAssets:
    deployed = build_lambda_assets(python_version=RUNTIME_PYTHON_VERSION)
    host_layer, _ = build_layer(
        python_version=HOST_PYTHON,
        platform=HOST_PLATFORM,
        target=BUILD_ROOT / f"test-layer-x86_64-py{HOST_PYTHON}",
    )
    runtime_provided, _ = build_layer(
        python_version=HOST_PYTHON,
        platform=HOST_PLATFORM,
        target=BUILD_ROOT / f"test-runtime-provided-x86_64-py{HOST_PYTHON}",
        only=RUNTIME_PROVIDED_PACKAGES,
    )
    return HostAssets(deployed, host_layer, runtime_provided)


def top_level_names(site: Path) -> set[str]:
    """Importable top-level names in a site directory (packages, modules, extension modules)."""
    names = set()
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", ".egg-info")) or entry.name in {"bin", "__pycache__"}:
            continue
        names.add(entry.name.split(".", 1)[0])
    return names


def deployed_bytecode_plan() -> BytecodePlan:
    plan = bytecode_plan(RUNTIME_PYTHON_VERSION)
    if plan is None:
        pytest.skip(
            f"this interpreter cannot compile for Python {RUNTIME_PYTHON_VERSION}: assets ship no bytecode"
        )
    return plan


def bytecode_mismatches(root: Path, plan: BytecodePlan | None) -> dict[str, list[str]]:
    """Compiled files other than exactly one ``__pycache__/<stem>.<tag>.pyc`` per ``.py`` (none
    without a plan): stray (another version, an optimization level, no source) and missing."""
    expected = set()
    if plan is not None:
        expected = {
            source.parent / "__pycache__" / f"{source.stem}.{plan.cache_tag}.pyc"
            for source in root.rglob("*.py")
        }
    compiled = {p for p in root.rglob("*") if p.suffix in {".pyc", ".pyo"}}
    caches = set(root.rglob("__pycache__"))
    return {
        "stray": sorted(str(p.relative_to(root)) for p in compiled - expected),
        "missing": sorted(str(p.relative_to(root)) for p in expected - compiled),
        "stray cache dirs": sorted(
            str(p.relative_to(root)) for p in caches - {pyc.parent for pyc in expected}
        ),
    }


def test_code_asset_holds_only_functions_and_shared(assets: HostAssets) -> None:
    """Sources, and the bytecode compiled for the runtime: no tests, no other caches."""
    code = assets.deployed.code
    assert {entry.name for entry in code.iterdir()} == {"functions", "shared"}
    plan = bytecode_plan(RUNTIME_PYTHON_VERSION)
    assert bytecode_mismatches(code, plan) == {"stray": [], "missing": [], "stray cache dirs": []}
    for module in HANDLER_MODULES:
        assert (code / (module.replace(".", "/") + ".py")).is_file(), module


def test_layer_leaves_out_what_the_runtime_provides(assets: HostAssets) -> None:
    names = top_level_names(assets.deployed.layer / "python")
    assert names.isdisjoint(RUNTIME_PROVIDED_PACKAGES)
    assert {"aws_lambda_powertools", "pydantic", "pydantic_core", "cryptography"} <= names


def test_layer_extensions_are_built_for_lambda_arm64(assets: HostAssets) -> None:
    extensions = list((assets.deployed.layer / "python").rglob("*.so"))
    assert extensions, "pydantic_core and cryptography ship compiled modules"
    assert RUNTIME_PY_TAG == "cp311"
    py_tag = "cpython-311"
    for extension in extensions:
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", extension
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, extension
        assert py_tag in extension.name or ".abi3." in extension.name, extension


def test_layer_wheels_are_tagged_for_the_runtime(assets: HostAssets) -> None:
    """Every installed wheel is pure Python, cp311 for aarch64, or abi3 (from a CPython <= 3.11)."""
    wrong = {}
    for wheel in (assets.deployed.layer / "python").glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        assert tags, wheel
        for tag in tags:
            python, abi, platform = tag.split("-")
            if abi == "none" and platform == "any":
                continue
            ok_python = python == RUNTIME_PY_TAG or (
                abi == "abi3" and python.startswith("cp3") and int(python[3:]) <= int(RUNTIME_PY_TAG[3:])
            )
            if not (ok_python and abi in {RUNTIME_PY_TAG, "abi3"} and platform.endswith("aarch64")):
                wrong[wheel.parent.name] = tag
    assert wrong == {}


def test_layer_holds_exactly_the_runtime_bytecode(assets: HostAssets) -> None:
    plan = deployed_bytecode_plan()
    layer = assets.deployed.layer / "python"
    assert bytecode_mismatches(layer, plan) == {"stray": [], "missing": [], "stray cache dirs": []}


def pyc_problem(source: Path, plan: BytecodePlan) -> str | None:
    """Why ``source``'s shipped bytecode would not be used as is by the runtime, or None."""
    pyc = source.parent / "__pycache__" / f"{source.stem}.{plan.cache_tag}.pyc"
    if not pyc.is_file():
        return "no pyc"
    header = pyc.read_bytes()[:16]
    if header[:4] != importlib.util.MAGIC_NUMBER:
        return f"magic {header[:4]!r}"
    flags = int.from_bytes(header[4:8], "little")
    if flags != PYC_FLAGS_UNCHECKED_HASH:
        return f"flags {flags:#04b} (want 0b01: hash-based, unchecked)"
    if header[8:16] != importlib.util.source_hash(source.read_bytes()):
        return "source hash does not match the shipped source"
    return None


def test_ingest_imports_ship_unchecked_hash_bytecode(assets: HostAssets, tmp_path: Path) -> None:
    """Every module the ingest handler imports from the assets has a cpython-311 pyc that matches
    its source and is never re-validated (the cold start neither compiles nor stats sources)."""
    plan = deployed_bytecode_plan()
    assert plan.cache_tag == "cpython-311"
    code, layer = assets.deployed.code, assets.deployed.layer / "python"
    for required in (code / "shared" / "ingest" / "ack.py", code / "functions" / "ingest" / "handler.py"):
        assert pyc_problem(required, plan) is None, required
    assert pyc_problem(layer / "pydantic" / "main.py", plan) is None

    probe = run_import_probe(assets, INGEST_MODULE, tmp_path)
    host_layer = assets.host_layer / "python"
    imported = [Path(path) for path in probe["loaded"].values() if path.endswith(".py")]
    from_code = [code / p.relative_to(code) for p in imported if p.is_relative_to(code)]
    # The import ran on this machine's copy of the layer: the same files are in the deployed one.
    from_layer = [layer / p.relative_to(host_layer) for p in imported if p.is_relative_to(host_layer)]
    assert code / "shared" / "ingest" / "ack.py" in from_code
    assert layer / "cryptography" / "__about__.py" in from_layer  # the RSA verify; pydantic is off the path
    problems = {str(source): pyc_problem(source, plan) for source in from_code + from_layer}
    assert {source: problem for source, problem in problems.items() if problem} == {}


def test_layer_versions_match_the_lock(assets: HostAssets) -> None:
    lock = (Path(__file__).resolve().parents[2] / "uv.lock").read_text()
    for dist_info in (assets.deployed.layer / "python").glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        normalized = name.lower().replace("_", "-")
        assert f'name = "{normalized}"\nversion = "{version}"' in lock, dist_info.name


def run_import_probe(assets: HostAssets, module: str, cwd: Path) -> dict[str, Any]:
    code, layer, provided = (
        assets.deployed.code,
        assets.host_layer / "python",
        assets.runtime_provided / "python",
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "asset-test",
        "POWERTOOLS_METRICS_NAMESPACE": "AssetTest",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-B", "-c", IMPORT_PROBE, module, str(code), str(layer), str(provided)],
        cwd=cwd,  # an empty directory: the repo's own packages are not importable from here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return probe


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_handler_imports_from_the_assets_alone(assets: HostAssets, module: str, tmp_path: Path) -> None:
    code, layer, provided = (
        assets.deployed.code,
        assets.host_layer / "python",
        assets.runtime_provided / "python",
    )
    probe = run_import_probe(assets, module, tmp_path)
    roots = (str(code), str(layer), str(provided))
    stdlib_prefix = str(Path(os.__file__).parent)
    outside = {
        name: path
        for name, path in probe["loaded"].items()
        if not path.startswith(roots) and not path.startswith(stdlib_prefix)
    }
    assert outside == {}, "modules loaded from outside the assets"
    loaded_code = {name.split(".")[0] for name, path in probe["loaded"].items() if path.startswith(str(code))}
    assert loaded_code <= {"functions", "shared"}
    # Every third-party top-level package the handler needed is in the deployed (aarch64) layer too.
    from_layer = {
        Path(path).relative_to(layer).parts[0].split(".", 1)[0]
        for path in probe["loaded"].values()
        if path.startswith(str(layer))
    }
    assert from_layer, "the handler imports third-party packages from the layer"
    missing = from_layer - top_level_names(assets.deployed.layer / "python")
    assert missing == set()


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_top_levels(tree: ast.AST) -> set[str]:
    """Absolute imports anywhere in a module, including inside functions (lazy imports), except
    in ``if TYPE_CHECKING:`` blocks."""
    names: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return names


def test_every_import_in_the_code_asset_resolves_in_the_deployed_assets(assets: HostAssets) -> None:
    """Covers lazy imports inside functions too, which importing the handlers does not execute."""
    available = (
        {"functions", "shared"}
        | top_level_names(assets.deployed.layer / "python")
        | set(RUNTIME_PROVIDED_PACKAGES)
        | set(sys.stdlib_module_names)
    )
    unresolved = {}
    for source in assets.deployed.code.rglob("*.py"):
        missing = imported_top_levels(ast.parse(source.read_text(), str(source))) - available
        if missing:
            unresolved[str(source.relative_to(assets.deployed.code))] = sorted(missing)
    assert unresolved == {}
