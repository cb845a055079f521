"""The meeting-bot endpoint in the synthesized template: route, function, secret, grants."""

from __future__ import annotations

from tests.infra.conftest import Synthesized


def _policies_of(synthesized: Synthesized, function: object) -> list[dict]:
    role_id = synthesized.logical_id(function.role)  # type: ignore[attr-defined]
    statements = []
    for resource in synthesized.template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_post_webhooks_meeting_bot_on_the_same_api_goes_to_its_function(synthesized: Synthesized) -> None:
    bot = synthesized.stack.meeting_bot
    method = synthesized.resources[synthesized.logical_id(bot.webhook_method)]["Properties"]
    assert method["HttpMethod"] == "POST"
    assert method["RestApiId"] == {"Ref": synthesized.logical_id(synthesized.stack.ingest.api)}
    resource = synthesized.resources[method["ResourceId"]["Ref"]]["Properties"]
    assert resource["PathPart"] == "meeting-bot"
    function_id = synthesized.logical_id(bot.function)
    assert any(function_id in str(part) for part in method["Integration"]["Uri"]["Fn::Join"][1])
    env = synthesized.resources[function_id]["Properties"]["Environment"]["Variables"]
    assert env["BOT_CREDENTIALS_SECRET_ARN"] == {"Ref": synthesized.logical_id(bot.credentials)}
    assert env["BOT_FRAME_INTERVAL_SECONDS"] == "10.0"


def test_credentials_live_in_secrets_manager_with_a_generated_token(synthesized: Synthesized) -> None:
    secret = synthesized.resources[synthesized.logical_id(synthesized.stack.meeting_bot.credentials)]
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "token"
    assert generated["SecretStringTemplate"] == '{"signingSecrets": []}'


def test_bot_function_reads_its_secret_and_puts_only_under_archive_prefixes(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    statements = _policies_of(synthesized, stack.meeting_bot.function)
    secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    assert [s["Resource"] for s in secret_reads] == [
        {"Ref": synthesized.logical_id(stack.meeting_bot.credentials)}
    ]
    puts = [s for s in statements if "s3:PutObject" in _actions(s)]
    rendered = str([s["Resource"] for s in puts])
    assert "/meetings/*" in rendered
    assert "/unattributed/*" in rendered
    assert not any("s3:GetObject" in a for s in statements for a in _actions(s))
    # The RealtimeKit ingest function cannot read the bot's credentials.
    rtk = _policies_of(synthesized, stack.ingest.function)
    bot_secret = {"Ref": synthesized.logical_id(stack.meeting_bot.credentials)}
    assert not any(s.get("Resource") == bot_secret for s in rtk)


def test_audio_consumer_sends_its_timers_to_its_own_queue(synthesized: Synthesized) -> None:
    consumer = synthesized.stack.workers.consumers["botaudio"]
    env = synthesized.resources[synthesized.logical_id(consumer.function)]["Properties"]["Environment"][
        "Variables"
    ]
    assert env["BOT_AUDIO_QUEUE_URL"] == {"Ref": synthesized.logical_id(consumer.queue)}
    assert env["BOT_AUDIO_QUIET_SECONDS"] == "600"
    statements = _policies_of(synthesized, consumer.function)
    sends = [s for s in statements if "sqs:SendMessage" in _actions(s)]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [synthesized.logical_id(consumer.queue), "Arn"]}]


def test_access_logs_record_the_resource_path_not_the_query_string(synthesized: Synthesized) -> None:
    """The URL token rides in the query string: the access log format must not contain it."""
    stages = synthesized.template.find_resources("AWS::ApiGateway::Stage")
    (stage,) = stages.values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    assert "$context.resourcePath" in log_format
    assert "$context.path" not in log_format
    assert "querystring" not in log_format.lower()
    assert stage["Properties"]["MethodSettings"][0]["DataTraceEnabled"] is False
