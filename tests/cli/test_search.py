"""`meeting-vault search`: the index written by the pipeline, searched with DuckDB from the bucket
and with Athena (moto: it records the query and returns the rows we give it; it runs no SQL)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from cli.search import copy_index, duckdb_search
from local.standin import RealtimeKitStandin
from shared.search.query import RESULT_COLUMNS, SearchQuery, athena_parameters, search_sql
from tests.cli.conftest import MEETING, Env, archive_sample_meeting, cli_env, create_stack_outputs

INDEX_KEY = f"index/utterances/date=2026-06-03/{MEETING.session_id}.jsonl"


@pytest.fixture(scope="module")
def archived(running_standin: RealtimeKitStandin) -> Iterator[Env]:
    with pytest.MonkeyPatch.context() as monkeypatch, cli_env(running_standin, monkeypatch) as made:
        archive_sample_meeting(made)
        yield made


def test_the_pipeline_writes_one_row_per_utterance(archived: Env) -> None:
    s3 = archived.stack.client("s3")
    body = s3.get_object(Bucket=archived.stack.names.bucket, Key=INDEX_KEY)["Body"].read()
    rows = [json.loads(line) for line in body.decode().splitlines()]
    # Seconds from the recording's start (it began 2 s into the session: the first words precede it).
    assert [row["start_s"] for row in rows] == [-0.8, 3.4, 9.8, 15.25, 20.9, 29.4, 36.6]
    assert {row["session_id"] for row in rows} == {MEETING.session_id}
    assert rows[0]["speaker"] == "Alice Ng"


def test_duckdb_over_the_bucket(archived: Env, tmp_path: Path) -> None:
    s3 = archived.stack.client("s3")
    copied = copy_index(s3, archived.stack.names.bucket, tmp_path, since=None)
    assert copied > 0
    hits = duckdb_search(tmp_path, SearchQuery("numbers"))
    assert [(h.speaker, h.start_s) for h in hits] == [("José Müller", 3.4), ("Alice Ng", 15.25)]
    assert copy_index(s3, archived.stack.names.bucket, tmp_path / "later", since=date(2026, 6, 4)) == 0


def test_athena_runs_the_same_sql_in_the_stack_workgroup(archived: Env) -> None:
    stack = archived.stack
    outputs = create_stack_outputs(stack, name="MeetingVaultSearch")
    outputs |= {"SearchWorkGroup": "MeetingVault-search", "SearchDatabase": "meetingvault_search"}
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack.client("cloudformation").create_stack(StackName="WithSearch", TemplateBody=json.dumps(template))
    athena = stack.client("athena")
    athena.create_work_group(Name="MeetingVault-search")
    row = ("2026-06-03", MEETING.meeting_id, MEETING.session_id, MEETING.title, "2026-06-03T10:00:00Z")
    row += ("José Müller", "5.4", "Morning! I have the numbers from last week, finally.", "k/index.html")
    results = {
        "results": [
            {
                "rows": [
                    {"Data": [{"VarCharValue": v} for v in RESULT_COLUMNS]},
                    {"Data": [{"VarCharValue": v} for v in row]},
                ],
                "column_info": [{"Name": name, "Type": "varchar"} for name in RESULT_COLUMNS],
            }
        ]
    }
    answer = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=results, timeout=10
    )
    assert answer.status_code == 201

    result = archived.run("search", "numbers", "--speaker", "josé", "--stack", "WithSearch", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"2026-06-03 10:00  {MEETING.title}  {MEETING.meeting_id}/{MEETING.session_id}",
        "  [00:05] José Müller: Morning! I have the numbers from last week, finally.",
    ]
    assert "1 matching lines; Athena workgroup MeetingVault-search" in result.stderr
    [execution_id] = athena.list_query_executions(WorkGroup="MeetingVault-search")["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    sql, parameters = search_sql(SearchQuery("numbers", speaker="josé", limit=5))
    assert execution["Query"] == sql  # the SQL DuckDB runs, unchanged
    assert execution["QueryExecutionContext"]["Database"] == "meetingvault_search"
    assert execution.get("ExecutionParameters", athena_parameters(parameters)) == athena_parameters(
        parameters
    )


def test_search_refuses_an_empty_phrase(archived: Env, tmp_path: Path) -> None:
    result = archived.run("search", " ", "--index-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "the search phrase is empty" in result.output
