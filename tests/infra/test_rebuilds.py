"""The rebuild queue in the synthesized template: fed by our functions (no bus rule), retried then
dead-lettered with an alarm, every writer of session facts allowed to send to it, and the sparse
index the sweep uses to find stale rebuild flags."""

from __future__ import annotations

from typing import Any

import pytest

from shared.fanout.routing import BOT_AUDIO, BOT_EVENTS, REBUILD_WINDOW_DEFAULT_SECONDS, REBUILDS, ROUTES
from shared.session.listing import SESSION_INDEX
from shared.session.store import PENDING_INDEX
from tests.infra.conftest import Synthesized
from tests.infra.test_stack import (
    _actions,
    _resources_of,
    get_att_arn,
    policy_statements_of_role,
    role_logical_id,
)


def env_of(synth: Synthesized, function: Any) -> dict[str, Any]:
    variables: dict[str, Any] = synth.resources[synth.logical_id(function)]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def test_rebuild_queue_has_no_bus_rule_and_a_dead_letter_queue(synthesized: Synthesized) -> None:
    rebuilds = synthesized.stack.rebuilds
    assert rebuilds.rule is None
    queue_arn = get_att_arn(synthesized.logical_id(rebuilds.queue))
    for rule in synthesized.template.find_resources("AWS::Events::Rule").values():
        assert queue_arn not in [t["Arn"] for t in rule["Properties"].get("Targets", [])]
    props = synthesized.resources[synthesized.logical_id(rebuilds.queue)]["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att_arn(synthesized.logical_id(rebuilds.dead_letter_queue)),
        "maxReceiveCount": REBUILDS.max_receive_count,
    }
    assert props["VisibilityTimeout"] == REBUILDS.visibility_timeout_seconds


def test_rebuild_function_reads_its_queue_and_knows_the_window(synthesized: Synthesized) -> None:
    rebuilds = synthesized.stack.rebuilds
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": synthesized.logical_id(rebuilds.function)},
            "EventSourceArn": get_att_arn(synthesized.logical_id(rebuilds.queue)),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    env = env_of(synthesized, rebuilds.function)
    assert env["REBUILD_WINDOW_SECONDS"] == str(REBUILD_WINDOW_DEFAULT_SECONDS)
    assert env["REBUILD_QUEUE_URL"] == {"Ref": synthesized.logical_id(rebuilds.queue)}
    assert "EVENT_BUS_NAME" in env  # it announces session.archived once the files settle
    statements = policy_statements_of_role(synthesized, role_logical_id(synthesized, rebuilds.function))
    assert {
        "s3:PutObject",
        "s3:GetObject",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
    } <= _actions(statements)


# The meeting-bot consumers rewrite their sessions' files themselves (no rebuild requests).
@pytest.mark.parametrize("name", [route.name for route in ROUTES if route not in (BOT_EVENTS, BOT_AUDIO)])
def test_every_fact_writer_may_ask_for_a_rebuild(synthesized: Synthesized, name: str) -> None:
    stack = synthesized.stack
    function = stack.workers.consumers[name].function
    queue_arn = get_att_arn(synthesized.logical_id(stack.rebuilds.queue))
    statements = policy_statements_of_role(synthesized, role_logical_id(synthesized, function))
    assert queue_arn in _resources_of(statements, "sqs:SendMessage")
    env = env_of(synthesized, function)
    assert env["REBUILD_QUEUE_URL"] == {"Ref": synthesized.logical_id(stack.rebuilds.queue)}
    assert env["REBUILD_WINDOW_SECONDS"] == str(REBUILD_WINDOW_DEFAULT_SECONDS)


def test_reconcile_may_ask_for_rebuilds_and_query_the_pending_index(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    statements = policy_statements_of_role(
        synthesized, role_logical_id(synthesized, stack.reconcile.function)
    )
    assert get_att_arn(synthesized.logical_id(stack.rebuilds.queue)) in _resources_of(
        statements, "sqs:SendMessage"
    )
    assert "dynamodb:Query" in _actions(statements)
    assert env_of(synthesized, stack.reconcile.function)["REBUILD_QUEUE_URL"] == {
        "Ref": synthesized.logical_id(stack.rebuilds.queue)
    }


def test_sessions_table_keeps_one_index_for_listing_and_pending_rebuilds(synthesized: Synthesized) -> None:
    # A CloudFormation update adds at most one global secondary index to a table: the pending
    # rebuilds share the listing index (a partition of their own) rather than add a second one.
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.sessions_table)][
        "Properties"
    ]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == PENDING_INDEX == SESSION_INDEX.name
    assert index["KeySchema"] == [
        {"AttributeName": SESSION_INDEX.partition_key, "KeyType": "HASH"},
        {"AttributeName": SESSION_INDEX.sort_key, "KeyType": "RANGE"},
    ]


def test_rebuild_window_comes_from_context(synthesized_with_options: Synthesized) -> None:
    # The options variant leaves the window at its default; the setting's bounds are SQS's.
    from infra.settings import DeploySettings

    with pytest.raises(ValueError, match="less than or equal to 900"):
        DeploySettings.model_validate(
            {"realtimekitAccountId": "a", "realtimekitAppId": "b", "rebuildWindowSeconds": 901}
        )
    env = env_of(synthesized_with_options, synthesized_with_options.stack.rebuilds.function)
    assert env["REBUILD_WINDOW_SECONDS"] == str(REBUILD_WINDOW_DEFAULT_SECONDS)
