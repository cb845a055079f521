"""`meeting-vault connect` and the CLI's error lines, through the entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from local.standin_rest import StandinWebhook
from shared.adapters.realtimekit import WEBHOOK_EVENTS
from tests.cli.conftest import WEBHOOK_URL, Env

COMMANDS = ["connect", "backfill", "sessions", "show", "get", "replay", "redrive", "status", "dev", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert f"Usage: main {command}" in result.output or f"Usage: meeting-vault {command}" in result.output


def test_connect_creates_the_webhook_then_a_second_run_changes_nothing(env: Env) -> None:
    first = env.run("connect")
    assert first.exit_code == 0, first.output
    assert "create webhook 'meeting-vault'" in first.output
    [webhook] = env.rest.webhooks.values()
    assert (webhook.url, webhook.name, webhook.enabled) == (WEBHOOK_URL, "meeting-vault", True)
    assert sorted(webhook.events) == sorted(WEBHOOK_EVENTS)
    assert len(WEBHOOK_EVENTS) == 9
    updated_at = webhook.updated_at

    second = env.run("connect")
    assert second.exit_code == 0, second.output
    assert "nothing to change" in second.output
    assert list(env.rest.webhooks.values()) == [webhook]
    assert webhook.updated_at == updated_at
    assert len(env.requests("POST", "/webhooks")) == 1
    assert env.requests("PATCH") == []


def test_connect_updates_a_webhook_that_misses_events(env: Env) -> None:
    env.rest.webhooks["w-1"] = StandinWebhook(
        id="w-1", name="old", url=WEBHOOK_URL, events=["meeting.started", "meeting.ended"], enabled=False
    )
    result = env.run("connect")
    assert result.exit_code == 0, result.output
    assert "update webhook w-1 ('old')" in result.output
    assert "+meeting.transcript" in result.output
    assert "enabled: False -> True" in result.output
    webhook = env.rest.webhooks["w-1"]
    assert (sorted(webhook.events), webhook.enabled, webhook.name) == (
        sorted(WEBHOOK_EVENTS),
        True,
        "meeting-vault",
    )
    assert len(env.rest.webhooks) == 1


def test_connect_dry_run_changes_nothing(env: Env) -> None:
    result = env.run("connect", "--dry-run")
    assert result.exit_code == 0
    assert "would create webhook 'meeting-vault' -> " + WEBHOOK_URL in result.output
    assert env.rest.webhooks == {}
    assert env.requests("POST") == []


def test_a_token_without_permission_is_one_line_and_exit_1(env: Env) -> None:
    env.rest.inject_error(403, "Forbidden: the token lacks Realtime permission")
    result = env.run("connect")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: RealtimeKit list webhooks: HTTP 403")
    assert "'Realtime'" in result.stderr
    assert "Traceback" not in result.output


def test_a_wrong_token_from_the_environment_is_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTIMEKIT_API_TOKEN", "not-the-token")
    result = env.run("connect")
    assert result.exit_code == 1
    assert "HTTP 401" in result.output


def test_the_api_token_is_not_an_option(env: Env) -> None:
    """A flag shows in `ps` and in shell history: the token comes from the environment or the secret."""
    for command in ("connect", "backfill"):
        result = env.run(command, "--api-token", "x")
        assert result.exit_code == 2
        assert "No such option" in result.output
        assert "--api-token" in result.output


def test_a_missing_stack_is_one_line_and_exit_1(env: Env) -> None:
    result = env.run("connect", "--stack", "NoSuchStack")
    assert result.exit_code == 1
    assert result.output == (
        "Error: stack NoSuchStack not found in us-east-1: deploy it with `cdk deploy`, or pass "
        "--stack NAME / --region, or --local for local mode\n"
    )


def test_missing_aws_credentials_are_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    result = CliRunner().invoke(main, ["sessions"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no AWS credentials found")
    assert result.output.count("\n") == 1


def test_an_unreachable_local_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = CliRunner().invoke(main, ["status", "--endpoint", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach http://127.0.0.1:9")
