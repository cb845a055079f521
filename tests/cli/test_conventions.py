"""The same conventions on every command: -h, --json where it reads, --profile/--region, no unused
options, no API token flag, shell completion, and error hints that match the target."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import main
from tests.cli.conftest import Env

OPERATOR_COMMANDS = [
    "connect",
    "backfill",
    "sessions",
    "show",
    "get",
    "replay",
    "redrive",
    "status",
    "forget",
]
READING_COMMANDS = ["sessions", "show", "get", "redrive", "status", "forget"]


def options_of(name: str) -> set[str]:
    command = main.commands[name]
    return {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}


@pytest.mark.parametrize("name", [*main.commands, None])
def test_dash_h_is_help_everywhere(name: str | None) -> None:
    result = CliRunner().invoke(main, [name, "-h"] if name else ["-h"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


@pytest.mark.parametrize("name", READING_COMMANDS)
def test_every_reading_command_has_json(name: str) -> None:
    assert "--json" in options_of(name)


@pytest.mark.parametrize("name", OPERATOR_COMMANDS)
def test_every_operator_command_takes_profile_and_region_and_no_token_flag(name: str) -> None:
    options = options_of(name)
    assert {"--profile", "--region", "--stack", "--local", "--endpoint"} <= options
    assert "--api-token" not in options


def test_options_a_command_does_not_use_are_not_offered() -> None:
    with_webhook = {name for name in OPERATOR_COMMANDS if "--webhook-url" in options_of(name)}
    assert with_webhook == {"connect", "replay"}  # the two commands that call the webhook
    assert "--max" not in options_of("redrive")  # SQS move tasks move everything
    assert {name for name in OPERATOR_COMMANDS if "--account-id" in options_of(name)} == {
        "connect",
        "backfill",
    }


def test_shell_completion_script_is_printed() -> None:
    result = CliRunner().invoke(
        main, [], prog_name="meeting-vault", env={"_MEETING_VAULT_COMPLETE": "bash_source"}
    )
    assert result.exit_code == 0
    assert "_meeting_vault_completion" in result.output
    completions = CliRunner().invoke(
        main,
        [],
        prog_name="meeting-vault",
        env={
            "_MEETING_VAULT_COMPLETE": "bash_complete",
            "COMP_WORDS": "meeting-vault sta",
            "COMP_CWORD": "1",
        },
    )
    assert "status" in completions.output


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS reached on a closed loopback port, one attempt: fails fast, nothing leaves the machine."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "MEETING_VAULT_ENDPOINT", "MEETING_VAULT_STACK"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("nowhere")
def test_an_unreachable_deployed_stack_gets_no_local_mode_hint() -> None:
    result = CliRunner().invoke(main, ["status", "--stack", "S", "--region", "us-east-1"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach http://127.0.0.1:9")
    assert "check the network, --region and AWS_ENDPOINT_URL" in result.output
    assert "meeting-vault dev" not in result.output


@pytest.mark.usefixtures("nowhere")
def test_an_unreachable_local_mode_is_told_to_start_dev() -> None:
    result = CliRunner().invoke(main, ["status", "--endpoint", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "is `meeting-vault dev` running" in result.output


def test_profile_picks_the_aws_named_profile(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile archive-ops]\nregion = eu-west-1\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    result = env.run("status", "--profile", "archive-ops")
    assert result.exit_code == 1
    assert "stack MeetingVault not found in eu-west-1" in result.output  # the profile's region was used
    assert env.run("status", "--profile", "archive-ops", "--region", "us-east-1").exit_code == 0
    missing = env.run("status", "--profile", "no-such-profile")
    assert missing.exit_code == 1
    assert "could not be found: check ~/.aws/config, or pass another --profile" in missing.output
