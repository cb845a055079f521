"""The live relay in the synthesized template: the state machine chains the relay function's steps,
starts on relay.requested, and nothing in the template or the state machine's input holds a socket
URL (the input carries the secret's name only)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from tests.infra.conftest import Synthesized


def _machine(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, machine),) = (
        (k, v) for k, v in synth.resources.items() if v["Type"] == "AWS::StepFunctions::StateMachine"
    )
    return logical_id, machine


def _definition(machine: dict[str, Any]) -> dict[str, Any]:
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "ARN" for p in parts)
    return json.loads(text)


def test_the_state_machine_chains_overlapping_legs(synthesized: Synthesized) -> None:
    _, machine = _machine(synthesized)
    states = _definition(machine)["States"]
    assert _definition(machine)["StartAt"] == "Begin"
    assert states["StartLeg"]["Parameters"]["InvocationType"] == "Event"  # the chain does not wait for a leg
    assert states["StartLeg"]["Next"] == "WaitForHandoff"
    assert states["WaitForHandoff"]["SecondsPath"] == "$.waitSeconds"
    assert states["Check"]["Next"] == "Done?"
    choice = states["Done?"]
    assert choice["Default"] == "StartLeg"
    assert choice["Choices"][0]["Next"] == "WaitForLastLeg"
    assert states["WaitForLastLeg"]["Next"] == "Finalize"
    actions = {
        name: state["Parameters"].get("Payload", state["Parameters"]).get("action")
        for name, state in states.items()
        if state["Type"] == "Task"
    }
    assert actions == {"Begin": "begin", "StartLeg": "leg", "Check": "check", "Finalize": "finalize"}


def test_relay_requested_starts_it_with_ids_and_the_secret_name_only(synthesized: Synthesized) -> None:
    machine_id, _ = _machine(synthesized)
    synthesized.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["meeting-vault"], "detail-type": ["relay.requested"]},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Ref": machine_id},
                        "InputTransformer": Match.object_like(
                            {
                                "InputPathsMap": {
                                    "detail-relayId": "$.detail.relayId",
                                    "detail-meetingId": "$.detail.meetingId",
                                    "detail-sessionId": "$.detail.sessionId",
                                    "detail-title": "$.detail.title",
                                    "detail-secretId": "$.detail.secretId",
                                }
                            }
                        ),
                    }
                )
            ],
        },
    )


def test_no_socket_url_in_the_template(synthesized: Synthesized) -> None:
    text = json.dumps(synthesized.template.to_json())
    assert "wss://" not in text
    assert "ws://" not in text
    assert "websocket_url" not in text.lower()


def test_the_relay_function_reads_only_relay_secrets(synthesized: Synthesized) -> None:
    policies = [v for v in synthesized.resources.values() if v["Type"] == "AWS::IAM::Policy"]
    statements = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:DeleteSecret" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert len(statements) == 1
    resource = json.dumps(statements[0]["Resource"])
    assert ":secret:meeting-vault/relay/*" in resource


def test_the_relay_function_has_the_relay_settings(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "functions.relay.handler.handler",
            "Timeout": 900,
            "Environment": {
                "Variables": Match.object_like(
                    {"RELAY_LEG_SECONDS": "780", "RELAY_OVERLAP_SECONDS": "10", "RELAY_MAX_SECONDS": "21600"}
                )
            },
        },
    )


def test_a_failed_leg_lands_in_a_queue_with_an_alarm(synthesized: Synthesized) -> None:
    relay = synthesized.stack.live_relay
    queue_arn = {"Fn::GetAtt": [synthesized.logical_id(relay.leg_failures), "Arn"]}
    (config,) = synthesized.template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["FunctionName"] == {"Ref": synthesized.logical_id(relay.function)}
    assert config["Properties"]["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}
    _assert_depth_alarm(synthesized, relay.leg_failures)


def test_relay_requested_events_that_cannot_be_delivered_land_in_a_dlq_with_an_alarm(
    synthesized: Synthesized,
) -> None:
    relay = synthesized.stack.live_relay
    (target,) = synthesized.resources[synthesized.logical_id(relay.rule)]["Properties"]["Targets"]
    dlq_id = synthesized.logical_id(relay.dead_letter_queue)
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    _assert_depth_alarm(synthesized, relay.dead_letter_queue)


def _assert_depth_alarm(synth: Synthesized, queue: Any) -> None:
    queue_name = {"Fn::GetAtt": [synth.logical_id(queue), "QueueName"]}
    found = [
        a["Properties"]
        for a in synth.template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": queue_name} in a["Properties"]["Dimensions"]
    ]
    assert len(found) == 1
    assert (found[0]["Threshold"], found[0]["ComparisonOperator"]) == (0, "GreaterThanThreshold")
