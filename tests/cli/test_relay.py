"""`meeting-vault relay start|list|stop` against a deployed-like stack on moto."""

from __future__ import annotations

import json

import pytest

from local.lambda_runtime import invoke, load_handler
from local.relay import RELAY_HANDLER, provision_relay
from shared import wiring
from tests.cli.conftest import Env

URL = "wss://bot.example.test/ws/read-only?token=s3cr3t-t0ken"


def requests_on_the_bus(env: Env) -> list[dict]:
    sqs = env.stack.client("sqs")
    url = sqs.get_queue_url(QueueName=env.stack.names.relay_requests_queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_start_keeps_the_url_in_a_secret_and_requests_the_relay_on_the_bus(env: Env) -> None:
    provision_relay(env.stack.client, env.stack.names)
    result = env.run("relay", "start", "--websocket-url", URL, "--meeting-id", "m-7", "--title", "Standup")
    assert result.exit_code == 0, result.output
    assert "s3cr3t" not in result.output
    relay_id = result.output.split()[1]
    (request,) = requests_on_the_bus(env)
    assert request["source"] == "meeting-vault"
    assert request["detail-type"] == "relay.requested"
    assert request["detail"] == {
        "relayId": relay_id,
        "meetingId": "m-7",
        "sessionId": relay_id,
        "title": "Standup",
        "secretId": f"meeting-vault/relay/{relay_id}",
    }
    assert "s3cr3t" not in json.dumps(request)
    secret = env.stack.client("secretsmanager").get_secret_value(SecretId=f"meeting-vault/relay/{relay_id}")
    assert secret["SecretString"] == URL


def test_list_and_stop(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_TABLE", env.stack.names.relay_table)
    wiring.reset()
    provision_relay(env.stack.client, env.stack.names)
    assert env.run("relay", "list").output.strip() == "no relays"
    started = env.run("relay", "start", "--websocket-url", URL, "--meeting-id", "m-8")
    relay_id = started.output.split()[1]
    (request,) = requests_on_the_bus(env)
    # The state machine's first step, as the rule would start it:
    invoke(load_handler(RELAY_HANDLER), {"action": "begin", **request["detail"]}, function_name="relay")
    listed = env.run("relay", "list", "--json")
    assert [(r["relayId"], r["status"]) for r in json.loads(listed.output)] == [(relay_id, "running")]
    stopped = env.run("relay", "stop", relay_id)
    assert stopped.exit_code == 0, stopped.output
    assert "stop requested" in stopped.output
    table = env.run("relay", "list").output.splitlines()
    assert table[1].split()[:3] == [relay_id, "m-8", "stop_requested"]
    again = env.run("relay", "stop", relay_id)
    assert "is not running (stop_requested)" in again.output


def test_start_refuses_a_url_that_is_not_a_websocket(env: Env) -> None:
    provision_relay(env.stack.client, env.stack.names)
    result = env.run("relay", "start", "--websocket-url", "https://example.test/x", "--meeting-id", "m-9")
    assert result.exit_code == 1
    assert "ws:// or wss://" in result.output
    assert requests_on_the_bus(env) == []
