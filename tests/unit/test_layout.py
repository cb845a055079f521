"""The layout holds: no import cycle inside ``shared/``, wiring at the edge, and the operator CLI
free of local emulation. Checked from the modules' own import statements (every ``import`` and
``from ... import``, at any depth, except those under ``if TYPE_CHECKING:``)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(root: Path) -> dict[str, Path]:
    return {module_name(p): p for p in root.rglob("*.py")}


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    out: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:  # the project uses absolute imports only
                raise AssertionError(f"relative import in {path}")
            base = node.module or ""
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        out.update(name for name in names if name in known)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = all_modules(root)
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """GIVEN a -> b -> c -> a THEN the checker reports it (the real check below can fail)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_shared_has_no_import_cycle() -> None:
    graph = import_graph(SHARED)
    assert len(graph) > 30  # the whole package was read
    assert find_cycle(graph) is None


def test_nothing_in_the_domain_imports_the_wiring_back() -> None:
    graph = import_graph(SHARED)
    offenders = {
        module: sorted(m for m in imported if m.startswith("shared.wiring"))
        for module, imported in graph.items()
        if not module.startswith("shared.wiring")
    }
    assert {module: found for module, found in offenders.items() if found} == {}


def test_shared_imports_none_of_the_other_top_level_packages() -> None:
    outside = ("functions", "infra", "cli", "local", "tests", "bench", "moto")
    offenders = []
    for path in SHARED.rglob("*.py"):
        for node in _runtime_imports(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            offenders += [(module_name(path), n) for n in names if n.split(".")[0] in outside]
    assert offenders == []


def test_every_capability_folder_says_what_it_owns() -> None:
    for init in SHARED.rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring, f"{init.relative_to(REPO)} has no docstring"


LOCAL_EMULATION = [
    "moto",
    "werkzeug",
    "flask",
    "local.stack",
    "local.standin",
    "local.standin_rest",
    "local.demo",
    "local.moto_process",
    "waitress",
]

PROBE = """
import json, sys
from cli.main import main
try:
    main(sys.argv[1:], prog_name="meeting-vault")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": [m for m in json.loads(HEAVY) if m in sys.modules]}))
"""

# Every command that targets a deployed stack. The endpoint is a closed port on loopback, so each
# fails fast with its one-line error after loading everything it needs; nothing leaves the machine.
DEPLOYED_COMMANDS = [
    ["--help"],
    ["connect", "--dry-run", "--stack", "S", "--region", "us-east-1"],
    ["backfill", "--stack", "S", "--region", "us-east-1"],
    ["sessions", "--stack", "S", "--region", "us-east-1"],
    ["show", "5e55a0d1", "--stack", "S", "--region", "us-east-1"],
    ["get", "5e55a0d1", "--out", "/tmp/meeting-vault-layout-test", "--stack", "S", "--region", "us-east-1"],
    ["replay", "--session", "5e55a0d1", "--stack", "S", "--region", "us-east-1"],
    ["redrive", "--dry-run", "--stack", "S", "--region", "us-east-1"],
    ["status", "--stack", "S", "--region", "us-east-1"],
    ["forget", "--session", "m/s", "--yes", "--stack", "S", "--region", "us-east-1"],
]


def run_cli(args: list[str]) -> dict[str, object]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "HOME": "/tmp",
    }
    code = f"HEAVY = {json.dumps(json.dumps(LOCAL_EMULATION))}\n" + PROBE
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip(), out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_operator_commands_load_no_local_emulation() -> None:
    """`meeting-vault --help` and every command that targets a stack import neither moto nor a stand-in."""
    results = {" ".join(args[:1]): run_cli(args) for args in DEPLOYED_COMMANDS}
    assert {cmd: r["loaded"] for cmd, r in results.items()} == {cmd: [] for cmd in results}
    assert results["--help"]["code"] in (0, None)
    # The others reached AWS (and failed on the closed port) rather than stopping at their options.
    assert all(r["code"] == 1 for cmd, r in results.items() if cmd != "--help"), results


def test_the_local_commands_do_load_the_emulation() -> None:
    """The probe can see an import: ``demo --help`` is cheap, so load the module the way ``dev`` does."""
    result = run_cli(["--help"])
    assert result["loaded"] == []
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, local.dev; print('local.stack' in sys.modules)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)},
    )
    assert probe.stdout.strip() == "True", probe.stderr
