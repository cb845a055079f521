"""The operator CLI against local mode, as a user runs it next to `meeting-vault dev`: moto's
server as AWS (``--endpoint``), the webhook over HTTP, the RealtimeKit stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState, install
from shared.adapters.realtimekit import WEBHOOK_EVENTS
from tests.conftest import EVENTS_DIR


def test_connect_replay_and_sessions_in_local_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = WebhookSigner.generate()
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(signer.private_pem())
    with (
        RealtimeKitStandin(signer) as standin,
        LocalStack(LocalSettings(public_key_pem=signer.public_pem())) as stack,
    ):
        rest = StandinRestState(api_token=stack.settings.realtimekit_api_token)  # the local secret's value
        install(standin, rest)
        monkeypatch.setenv("MEETING_VAULT_ENDPOINT", stack.aws_endpoint)
        monkeypatch.setenv("MEETING_VAULT_WEBHOOK_URL", stack.webhook_url)
        monkeypatch.setenv("REALTIMEKIT_API_BASE_URL", standin.api_base_url)
        for name in ("REALTIMEKIT_ACCOUNT_ID", "REALTIMEKIT_APP_ID", "REALTIMEKIT_API_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        runner = CliRunner()

        connected = runner.invoke(main, ["connect"])
        assert connected.exit_code == 0, connected.output
        assert connected.output.startswith(
            f"local mode at {stack.aws_endpoint}: webhook URL {stack.webhook_url}"
        )
        [webhook] = rest.webhooks.values()
        assert (webhook.url, sorted(webhook.events)) == (stack.webhook_url, sorted(WEBHOOK_EVENTS))

        files = [str(EVENTS_DIR / name) for name in ("meeting_started.json", "participant_joined.json")]
        replayed = runner.invoke(
            main, ["replay", "--private-key-file", str(key_file), *[a for f in files for a in ("--file", f)]]
        )
        assert replayed.exit_code == 0, replayed.output
        assert f"replaying to {stack.webhook_url} (signed)" in replayed.output
        assert replayed.output.splitlines()[-1] == "replayed 2 events"
        stack.wait_idle(timeout=30)

        listed = runner.invoke(main, ["sessions", "--json"])
        assert listed.exit_code == 0, listed.output
        [row] = json.loads(listed.output)["sessions"]
        assert (row["meetingId"], row["sessionId"], row["participants"]) == (
            "50c8940e-1b97-402a-97d6-2708b7feca41",
            "05e57591-d89e-45c9-ae44-08dc1eaad0e0",
            1,
        )
        bodies = {stack.read_object(k) for k, _ in stack.list_archive() if "/events/" in k}
        assert bodies == {Path(f).read_bytes() for f in files}

        status = runner.invoke(main, ["status"])
        assert status.exit_code == 0, status.output
        assert status.output.splitlines()[-1].startswith("healthy: no dead letters, no failed artifacts")
