"""docs/deploy.md's table of what each function may do is the default template's role policies,
rendered: a grant added, removed or widened without the doc fails here. Regenerate the table with
``python -m tests.infra.test_grants_doc`` (prints it) and paste it between the markers.

The claims the doc makes in prose about the table are checked here too."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.infra.conftest import REPO_ROOT, Synthesized, synthesize

DOC = REPO_ROOT / "docs" / "deploy.md"
BEGIN, END = "<!-- grants:begin -->", "<!-- grants:end -->"
_HASH = re.compile(r"[0-9A-F]{8}$")
XRAY = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}  # every function, on "*"


def _name(logical_id: str) -> str:
    return _HASH.sub("", logical_id)


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return ", ".join(_render(n) for n in node)
    if "Ref" in node:
        ref = node["Ref"]
        return f"<{ref.removeprefix('AWS::')}>" if ref.startswith("AWS::") else _name(ref)
    if "Fn::GetAtt" in node:
        return _name(node["Fn::GetAtt"][0])
    if "Fn::Join" in node:
        return "".join(_render(part) for part in node["Fn::Join"][1])
    raise ValueError(f"cannot render {node}")


def _statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    role = resources[role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def function_label(function: dict[str, Any], logical_id: str) -> str:
    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    service = variables.get("POWERTOOLS_SERVICE_NAME")
    return str(service).removeprefix("meeting-vault-") if service else _name(logical_id)


def grants_of(resources: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """function label -> sorted (resource, actions) rows, X-Ray left out."""
    table: dict[str, list[tuple[str, str]]] = {}
    for logical_id, function in resources.items():
        if function["Type"] != "AWS::Lambda::Function":
            continue
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        rows: dict[str, set[str]] = {}
        for statement in _statements(resources, role_id):
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if set(actions) <= XRAY:
                continue
            for target in targets:
                rows.setdefault(_render(target), set()).update(actions)
        managed = resources[role_id]["Properties"].get("ManagedPolicyArns", [])
        for arn in managed:
            rows.setdefault("(managed policy)", set()).add(_render(arn).rsplit("/", 1)[-1])
        table[function_label(function, logical_id)] = sorted(
            (resource, ", ".join(sorted(actions))) for resource, actions in rows.items()
        )
    return dict(sorted(table.items()))


def render_table(resources: dict[str, Any]) -> str:
    lines = ["| function | resource | actions |", "|---|---|---|"]
    for function, rows in grants_of(resources).items():
        lines += [f"| {function} | `{resource}` | {actions} |" for resource, actions in rows]
    return "\n".join(lines)


def documented_table() -> str:
    text = DOC.read_text()
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()


def test_the_documented_grants_are_the_templates(synthesized: Synthesized) -> None:
    assert documented_table() == render_table(synthesized.resources), (
        "docs/deploy.md's grants table differs from the template: run "
        "`python -m tests.infra.test_grants_doc` and paste its output between the markers"
    )


def _who_may(synthesized: Synthesized, action: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for function, rows in grants_of(synthesized.resources).items():
        for resource, actions in rows:
            if action in actions.split(", "):
                found.setdefault(function, set()).add(resource)
    return found


def test_the_prose_claims_about_the_table(synthesized: Synthesized) -> None:
    assert _who_may(synthesized, "dynamodb:Scan") == {}
    assert _who_may(synthesized, "dynamodb:DeleteItem") == {
        **{f: {"StorageIdempotency"} for f in ("recordings", "transcripts", "summaries", "chat")},
        "rebuilds": {"StorageSessions"},
        "reconcile": {"StorageSessions"},
    }
    assert set(_who_may(synthesized, "s3:DeleteObject")) == {"recordings", "transcripts", "summaries", "chat"}
    assert {"botevents", "botaudio"} <= set(_who_may(synthesized, "s3:AbortMultipartUpload"))
    assert _who_may(synthesized, "s3:DeleteObjectVersion") == {}
    assert _who_may(synthesized, "dynamodb:BatchGetItem") == {"sessions": {"StorageSessions"}}
    assert _who_may(synthesized, "dynamodb:BatchWriteItem") == {"rebuilds": {"StorageSessions"}}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as root:
        sys.stdout.write(render_table(synthesize(Path(root), {}).resources) + "\n")
