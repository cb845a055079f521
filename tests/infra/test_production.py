"""Production settings in the synthesized template: concurrency guards, retries and retention of
the queues, account-safe API Gateway logging, alarms (metric, threshold, period, OK action), the
customer key everywhere in kms mode, lifecycle rules per artifact type, Object Lock, tags, and
cfn-lint over the template."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.ingest_api import ACCESS_LOG_FIELDS
from infra.live_relay import RELAY_FUNCTION_TIMEOUT_SECONDS
from infra.monitoring import DURATION_ALARM_FRACTION, UNAUTHORIZED_METRIC, UNAUTHORIZED_PER_PERIOD
from shared.fanout.routing import (
    DLQ_RETENTION_DAYS,
    INGEST_DEFAULT_RESERVED_CONCURRENCY,
    INGEST_TIMEOUT_SECONDS,
    QUEUE_RETENTION_DAYS,
    REBUILDS,
    RECONCILE,
    ROUTES,
)
from tests.infra.conftest import REPO_ROOT, Synthesized, synthesize

DAY = 86400
OPTIONS = {
    "createApiGatewayAccountRole": "true",
    "objectLockDays": "30",
    "artifactRetention": json.dumps(
        {
            "recording": {"expireDays": 90, "transitionDays": 30},
            "transcript": {"transitionDays": 60, "storageClass": "GLACIER_IR"},
        }
    ),
    "extraTags": '{"team": "media", "cost-center": "42"}',
    "maxConcurrency": '{"recordings": 3}',
    "ingestReservedConcurrency": "0",
}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("production-assets"), OPTIONS)


def of_type(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    return {k: r for k, r in synthesized.resources.items() if r["Type"] == kind}


# -- concurrency and retries ---------------------------------------------------------------------
def test_each_sqs_event_source_has_a_maximum_concurrency(
    synthesized: Synthesized, production: Synthesized
) -> None:
    for variant, expected in (
        (synthesized, {r.name: r.max_concurrency for r in (*ROUTES, REBUILDS, RECONCILE)}),
        (production, {r.name: r.max_concurrency for r in (*ROUTES, REBUILDS, RECONCILE)} | {"recordings": 3}),
    ):
        stack = variant.stack
        consumers = [*stack.workers.consumers.values(), stack.rebuilds, stack.reconcile.consumer]
        by_queue = {variant.logical_id(c.queue): c.route.name for c in consumers}
        found = {}
        for mapping in of_type(variant, "AWS::Lambda::EventSourceMapping").values():
            props = mapping["Properties"]
            found[by_queue[props["EventSourceArn"]["Fn::GetAtt"][0]]] = props["ScalingConfig"][
                "MaximumConcurrency"
            ]
        assert found == expected


def test_ingest_has_reserved_concurrency_by_default_and_none_when_set_to_zero(
    synthesized: Synthesized, production: Synthesized
) -> None:
    default = synthesized.resources[synthesized.logical_id(synthesized.stack.ingest.function)]["Properties"]
    assert default["ReservedConcurrentExecutions"] == INGEST_DEFAULT_RESERVED_CONCURRENCY
    off = production.resources[production.logical_id(production.stack.ingest.function)]["Properties"]
    assert "ReservedConcurrentExecutions" not in off


def test_queues_retry_each_consumer_at_least_five_times_and_keep_messages_longer_than_four_days(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    for consumer in [*stack.workers.consumers.values(), stack.reconcile.consumer]:
        route = consumer.route
        queue = synthesized.resources[synthesized.logical_id(consumer.queue)]["Properties"]
        dlq = synthesized.resources[synthesized.logical_id(consumer.dead_letter_queue)]["Properties"]
        max_receive = queue["RedrivePolicy"]["maxReceiveCount"]
        assert max_receive == route.max_receive_count >= 6, route.name  # 5+ retries
        assert len(route.retry_delays_seconds) == max_receive - 1
        assert queue["VisibilityTimeout"] >= route.timeout_seconds
        assert queue["MessageRetentionPeriod"] == QUEUE_RETENTION_DAYS * DAY > 4 * DAY
        assert dlq["MessageRetentionPeriod"] == DLQ_RETENTION_DAYS * DAY > QUEUE_RETENTION_DAYS * DAY


def test_an_unfetchable_recording_reaches_the_dlq_within_about_an_hour() -> None:
    """docs/retries.md: the delays between attempts, plus the attempts (an unfetchable file fails
    in seconds; budget a minute each), plus the DLQ alarm's 5-minute period."""
    recordings = next(r for r in ROUTES if r.name == "recordings")
    worst = sum(recordings.retry_delays_seconds) + recordings.max_receive_count * 60 + 5 * 60
    assert worst <= 65 * 60


def test_the_reconcile_schedule_target_has_a_dead_letter_queue(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    schedule = synthesized.resources[synthesized.logical_id(stack.reconcile.schedule)]["Properties"]
    (target,) = schedule["Targets"]
    dlq_id = synthesized.logical_id(stack.reconcile.schedule_dead_letter_queue)
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert "ReconcileScheduleDeadLetterQueueUrl" in synthesized.outputs
    assert "ReconcileQueueUrl" in synthesized.outputs


# -- API Gateway logging -------------------------------------------------------------------------
def test_no_account_wide_api_gateway_setting_is_overwritten_by_default(synthesized: Synthesized) -> None:
    """By default a custom resource sets the account's role only where none is set
    (tests/infra/test_api_logging_role.py); nothing replaces it."""
    assert of_type(synthesized, "AWS::ApiGateway::Account") == {}


def test_the_account_role_when_asked_for_is_retained(production: Synthesized) -> None:
    (account,) = of_type(production, "AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == account["UpdateReplacePolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert production.resources[role_id]["DeletionPolicy"] == "Retain"
    # forced: CDK's AWS::ApiGateway::Account replaces the setting, no set-if-empty custom resource
    assert of_type(production, "Custom::ApiGatewayAccountLoggingRole") == {}
    assert production.stack.ingest.account_logging is None


def test_access_log_has_error_integration_latency_and_trace_id(synthesized: Synthesized) -> None:
    (stage,) = of_type(synthesized, "AWS::ApiGateway::Stage").values()
    fields = json.loads(stage["Properties"]["AccessLogSetting"]["Format"])
    assert fields == ACCESS_LOG_FIELDS
    for variable in (
        "$context.error.message",
        "$context.integration.error",
        "$context.integration.latency",
        "$context.xrayTraceId",
        "$context.status",
    ):
        assert variable in fields.values()


# -- alarms --------------------------------------------------------------------------------------
def alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [r["Properties"] for r in of_type(synthesized, "AWS::CloudWatch::Alarm").values()]


def find_alarm(synthesized: Synthesized, metric: str, **dimensions: str) -> dict[str, Any]:
    found = [
        a
        for a in alarms(synthesized)
        if a.get("MetricName") == metric
        and all({"Name": k, "Value": v} in a.get("Dimensions", []) for k, v in dimensions.items())
    ]
    assert len(found) == 1, (metric, dimensions, len(found))
    return found[0]


def test_every_alarm_has_an_alarm_and_an_ok_action_on_the_topic(synthesized: Synthesized) -> None:
    topic = {"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}
    for alarm in alarms(synthesized):
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]


def _routes_whose_handler_counts_exhausted_retries() -> set[str]:
    """Route names passed to ``wiring.retry_failed`` (which counts RecordRetriesExhausted) by the
    handlers of the routes, read from their source."""
    names: set[str] = set()
    for route in (*ROUTES, RECONCILE, REBUILDS):
        source = REPO_ROOT / (route.handler_module.replace(".", "/") + ".py")
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "retry_failed":
                names |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
    return names


def test_the_route_flag_says_which_handlers_count_exhausted_retries() -> None:
    flagged = {r.name for r in (*ROUTES, RECONCILE, REBUILDS) if r.reports_retries_exhausted}
    assert flagged == _routes_whose_handler_counts_exhausted_retries()
    assert not REBUILDS.reports_retries_exhausted  # its handler has no retry schedule


def test_per_record_failures_alarm_per_consumer(synthesized: Synthesized) -> None:
    exhausted_alarms = [a for a in alarms(synthesized) if a.get("MetricName") == "RecordRetriesExhausted"]
    assert {d["Value"] for a in exhausted_alarms for d in a["Dimensions"]} == {
        f"meeting-vault-{r.name}" for r in (*ROUTES, RECONCILE, REBUILDS) if r.reports_retries_exhausted
    }
    assert "meeting-vault-rebuilds" not in json.dumps(exhausted_alarms)  # it never emits the metric
    for route in (*ROUTES, RECONCILE):
        service = f"meeting-vault-{route.name}"
        exhausted = find_alarm(synthesized, "RecordRetriesExhausted", service=service)
        assert (exhausted["Namespace"], exhausted["Statistic"], exhausted["Period"]) == (
            "MeetingVault",
            "Sum",
            300,
        )
        assert exhausted["Threshold"] == 0
        assert exhausted["ComparisonOperator"] == "GreaterThanThreshold"
        if route.name in {"recordings", "transcripts", "summaries", "chat"}:
            failed = find_alarm(synthesized, "ArtifactFailed", service=service)
            assert (failed["Threshold"], failed["Period"], failed["Statistic"]) == (0, 300, "Sum")


def test_throttle_and_duration_alarms_per_function(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    functions = [(stack.ingest.function, INGEST_TIMEOUT_SECONDS)] + [
        (c.function, c.route.timeout_seconds)
        for c in [*stack.workers.consumers.values(), stack.reconcile.consumer]
    ]
    for function, timeout in functions:
        name = {"Ref": synthesized.logical_id(function)}
        throttles = find_alarm(synthesized, "Throttles", FunctionName=name)  # type: ignore[arg-type]
        assert (throttles["Threshold"], throttles["Period"], throttles["Statistic"]) == (0, 300, "Sum")
        duration = find_alarm(synthesized, "Duration", FunctionName=name)  # type: ignore[arg-type]
        assert duration["ExtendedStatistic"] == "p99"
        assert duration["Threshold"] == DURATION_ALARM_FRACTION * timeout * 1000
        assert duration["Period"] == 300


def test_the_bot_endpoint_and_the_relay_function_alarm_like_the_others(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    relay_threshold = (stack.settings.relay_leg_seconds + RELAY_FUNCTION_TIMEOUT_SECONDS) / 2
    for function, duration_ms in (
        (stack.meeting_bot.function, DURATION_ALARM_FRACTION * INGEST_TIMEOUT_SECONDS * 1000),
        (stack.live_relay.function, relay_threshold * 1000),
    ):
        name = {"Ref": synthesized.logical_id(function)}
        for metric in ("Errors", "Throttles"):
            alarm = find_alarm(synthesized, metric, FunctionName=name)  # type: ignore[arg-type]
            assert (alarm["Threshold"], alarm["Period"], alarm["Statistic"]) == (0, 300, "Sum")
        duration = find_alarm(synthesized, "Duration", FunctionName=name)  # type: ignore[arg-type]
        assert (duration["ExtendedStatistic"], duration["Threshold"]) == ("p99", duration_ms)
    # a leg runs its planned 780 s by design: its alarm is above that and below the timeout
    assert stack.settings.relay_leg_seconds < relay_threshold < RELAY_FUNCTION_TIMEOUT_SECONDS


def test_the_relay_chain_alarms_on_failed_and_timed_out_executions(synthesized: Synthesized) -> None:
    machine = {"Ref": synthesized.logical_id(synthesized.stack.live_relay.state_machine)}
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        alarm = find_alarm(synthesized, metric, StateMachineArn=machine)  # type: ignore[arg-type]
        assert (alarm["Namespace"], alarm["Threshold"], alarm["Statistic"]) == ("AWS/States", 0, "Sum")


def test_every_lambda_function_has_errors_throttles_and_duration_alarms(synthesized: Synthesized) -> None:
    """docs/deploy.md promises throttle and p99 duration alarms for every function; the inline
    custom resource that sets API Gateway's logging role (deploy time only) is the exception."""
    inline = synthesized.logical_id(synthesized.stack.ingest.account_logging.function)  # type: ignore[union-attr]
    watched = {
        (a["MetricName"], d["Value"]["Ref"])
        for a in alarms(synthesized)
        for d in a.get("Dimensions", [])
        if a.get("Namespace") == "AWS/Lambda" and d["Name"] == "FunctionName"
    }
    for logical_id in of_type(synthesized, "AWS::Lambda::Function"):
        if logical_id != inline:
            for metric in ("Errors", "Throttles", "Duration"):
                assert (metric, logical_id) in watched, (metric, logical_id)


def test_unauthorized_spike_alarm_counts_401_and_403_from_the_access_log(synthesized: Synthesized) -> None:
    (metric_filter,) = of_type(synthesized, "AWS::Logs::MetricFilter").values()
    props = metric_filter["Properties"]
    assert props["LogGroupName"] == {"Ref": synthesized.logical_id(synthesized.stack.ingest.access_logs)}
    assert '"401"' in props["FilterPattern"]
    assert '"403"' in props["FilterPattern"]
    assert props["MetricTransformations"][0]["MetricName"] == UNAUTHORIZED_METRIC
    alarm = find_alarm(synthesized, UNAUTHORIZED_METRIC)
    assert (alarm["Threshold"], alarm["Period"], alarm["Statistic"]) == (UNAUTHORIZED_PER_PERIOD, 300, "Sum")


def test_schedule_dlq_alarm(synthesized: Synthesized) -> None:
    queue = synthesized.logical_id(synthesized.stack.reconcile.schedule_dead_letter_queue)
    alarm = find_alarm(
        synthesized, "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": [queue, "QueueName"]}
    )  # type: ignore[arg-type]
    assert (alarm["Threshold"], alarm["Period"]) == (0, 300)


# -- encryption ----------------------------------------------------------------------------------
def test_kms_mode_encrypts_queues_tables_and_the_event_archive_with_the_customer_key(
    synthesized_with_options: Synthesized,
) -> None:
    variant = synthesized_with_options
    key = {"Fn::GetAtt": [variant.logical_id(variant.stack.storage.archive_key), "Arn"]}
    queues = of_type(variant, "AWS::SQS::Queue")
    assert queues
    assert all(q["Properties"]["KmsMasterKeyId"] == key for q in queues.values())
    tables = of_type(variant, "AWS::DynamoDB::GlobalTable")
    assert len(tables) == 2
    for table in tables.values():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert table["Properties"]["Replicas"][0]["SSESpecification"] == {"KMSMasterKeyId": key}
    (archive,) = of_type(variant, "AWS::Events::Archive").values()
    assert archive["Properties"]["KmsKeyIdentifier"] == key
    # EventBridge may use the key to deliver to the encrypted queues and write the archive
    (kms_key,) = of_type(variant, "AWS::KMS::Key").values()
    statements = kms_key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} for s in statements)


def test_default_mode_uses_aws_keys(synthesized: Synthesized) -> None:
    assert of_type(synthesized, "AWS::KMS::Key") == {}
    for queue in of_type(synthesized, "AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    (archive,) = of_type(synthesized, "AWS::Events::Archive").values()
    assert not archive["Properties"].get("KmsKeyIdentifier")  # CDK renders "": an AWS-owned key


# -- retention per artifact type -----------------------------------------------------------------
def archive_bucket(synthesized: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = synthesized.resources[
        synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    ]["Properties"]
    return props


def test_lifecycle_rules_per_artifact_type(production: Synthesized, synthesized: Synthesized) -> None:
    rules = {r["Id"]: r for r in archive_bucket(production)["LifecycleConfiguration"]["Rules"]}
    assert rules["Retention-recording"] == {
        "Id": "Retention-recording",
        "Status": "Enabled",
        "TagFilters": [{"Key": "artifact-type", "Value": "recording"}],
        "ExpirationInDays": 90,
        "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
    }
    assert rules["Retention-transcript"] == {
        "Id": "Retention-transcript",
        "Status": "Enabled",
        "TagFilters": [{"Key": "artifact-type", "Value": "transcript"}],
        "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 60}],
    }
    default_ids = {r["Id"] for r in archive_bucket(synthesized)["LifecycleConfiguration"]["Rules"]}
    assert not any(rule_id.startswith("Retention-") for rule_id in default_ids)


def test_object_lock_is_governance_mode_and_off_by_default(
    production: Synthesized, synthesized: Synthesized
) -> None:
    props = archive_bucket(production)
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 30, "Mode": "GOVERNANCE"}},
    }
    assert "ObjectLockConfiguration" not in archive_bucket(synthesized)


# -- tags ----------------------------------------------------------------------------------------
def test_every_taggable_resource_carries_app_stack_and_extra_tags(production: Synthesized) -> None:
    expected = {
        "app": "meeting-vault",
        "stack": production.stack.stack_name,
        "team": "media",
        "cost-center": "42",
    }
    checked = 0
    for logical_id, resource in production.resources.items():
        tags = resource.get("Properties", {}).get("Tags")
        if tags is None:
            continue
        as_dict = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags)
        assert expected.items() <= as_dict.items(), logical_id
        checked += 1
    assert checked >= 40
    for table in of_type(production, "AWS::DynamoDB::GlobalTable").values():
        replica_tags = {t["Key"]: t["Value"] for t in table["Properties"]["Replicas"][0]["Tags"]}
        assert expected.items() <= replica_tags.items()


# -- cfn-lint --------------------------------------------------------------------------------------
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


@pytest.mark.skipif(
    not CFN_LINT.exists() and shutil.which("cfn-lint") is None, reason="cfn-lint not installed"
)
@pytest.mark.parametrize("variant", ["synthesized", "synthesized_with_options", "production"])
def test_cfn_lint_finds_no_errors(variant: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synthesized.template.to_json()))
    command = str(CFN_LINT) if CFN_LINT.exists() else "cfn-lint"
    # W3005 (a DependsOn a GetAtt already implies) is CDK's own output: warnings are not errors.
    result = subprocess.run(
        [command, "--format", "parseable", str(template)], capture_output=True, text=True, check=False
    )
    # exit code bits: 1 = cfn-lint failed to run, 2 = errors, 4 = warnings, 8 = informational
    assert not result.returncode & 3, result.stdout + result.stderr
