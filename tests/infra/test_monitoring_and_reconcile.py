"""Alarms, dashboard, the reconciliation sweep and the optional WAF in the synthesized template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.monitoring import CLIENT_ERROR_RATE_PERCENT, oldest_message_threshold_seconds
from shared.fanout.routing import REBUILDS, RECONCILE, RECONCILE_DEFAULT_DELAY_SECONDS, ROUTES
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.test_nag import _findings

ALL_ROUTES = [*ROUTES, REBUILDS, RECONCILE]
ROUTE_IDS = [route.name for route in ALL_ROUTES]


@pytest.fixture(scope="module")
def synthesized_hardened(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """WAF on, a shorter reconcile delay, the schedule every 30 minutes, a second stack's name."""
    return synthesize(
        tmp_path_factory.mktemp("hardened-assets"),
        {
            "stackName": "MeetingVaultStaging",
            "enableWaf": "true",
            "wafRateLimitPer5Minutes": "500",
            "reconcileDelaySeconds": "300",
            "reconcileScheduleMinutes": "30",
        },
    )


def consumer_of(synth: Synthesized, name: str) -> Any:
    if name == RECONCILE.name:
        return synth.stack.reconcile.consumer
    if name == REBUILDS.name:
        return synth.stack.rebuilds.consumer
    return synth.stack.workers.consumers[name]


def alarm_on(synth: Synthesized, metric: str, namespace: str, dimension: dict[str, Any]) -> dict[str, Any]:
    topic_id = synth.logical_id(synth.stack.monitoring.topic)
    found = synth.template.find_resources(
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "MetricName": metric,
                "Namespace": namespace,
                "Dimensions": Match.array_with([Match.object_like(dimension)]),
                "AlarmActions": [{"Ref": topic_id}],
            }
        },
    )
    assert len(found) == 1, f"one {metric} alarm on {dimension}"
    return next(iter(found.values()))["Properties"]


# --- alarms ------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ALL_ROUTES, ids=ROUTE_IDS)
def test_every_dlq_alarms_on_its_first_message(synthesized: Synthesized, route: Any) -> None:
    dlq = consumer_of(synthesized, route.name).dead_letter_queue
    props = alarm_on(
        synthesized,
        "ApproximateNumberOfMessagesVisible",
        "AWS/SQS",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(dlq), "QueueName"]}},
    )
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")


@pytest.mark.parametrize("route", ALL_ROUTES, ids=ROUTE_IDS)
def test_every_consumer_alarms_on_errors(synthesized: Synthesized, route: Any) -> None:
    function = consumer_of(synthesized, route.name).function
    props = alarm_on(
        synthesized,
        "Errors",
        "AWS/Lambda",
        {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(function)}},
    )
    assert (props["Threshold"], props["Statistic"]) == (0, "Sum")


@pytest.mark.parametrize("route", ALL_ROUTES, ids=ROUTE_IDS)
def test_every_queue_alarms_on_the_age_of_its_oldest_message(synthesized: Synthesized, route: Any) -> None:
    queue = consumer_of(synthesized, route.name).queue
    props = alarm_on(
        synthesized,
        "ApproximateAgeOfOldestMessage",
        "AWS/SQS",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(queue), "QueueName"]}},
    )
    assert props["Threshold"] == oldest_message_threshold_seconds(route)
    assert props["Threshold"] >= 2 * route.visibility_timeout_seconds


def test_ingest_errors_and_api_5xx_alarm(synthesized: Synthesized) -> None:
    ingest = synthesized.stack.ingest.function
    alarm_on(
        synthesized,
        "Errors",
        "AWS/Lambda",
        {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(ingest)}},
    )
    alarm_on(synthesized, "5XXError", "AWS/ApiGateway", {"Name": "ApiName", "Value": "MeetingVault-webhooks"})


def _api_names_in_alarms(synth: Synthesized) -> set[str]:
    """Every ApiName dimension of the alarms, in plain metrics and in metric math."""
    names: set[str] = set()
    for alarm in synth.template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in metrics:
            if metric.get("Namespace") == "AWS/ApiGateway":
                names |= {d["Value"] for d in metric["Dimensions"] if d["Name"] == "ApiName"}
    return names


def test_api_alarms_watch_this_stacks_api_only(
    synthesized: Synthesized, synthesized_hardened: Synthesized
) -> None:
    """Two stacks in one account and region (MeetingVault, MeetingVaultStaging) name their APIs
    apart, so neither's 5xx or 4xx adds to the other's alarms."""
    for synth, name in (
        (synthesized, "MeetingVault-webhooks"),
        (synthesized_hardened, "MeetingVaultStaging-webhooks"),
    ):
        (api,) = synth.template.find_resources("AWS::ApiGateway::RestApi").values()
        assert api["Properties"]["Name"] == name
        assert _api_names_in_alarms(synth) == {name}


def test_api_4xx_rate_alarm_is_a_percentage_of_requests(synthesized: Synthesized) -> None:
    topic_id = synthesized.logical_id(synthesized.stack.monitoring.topic)
    alarms = synthesized.template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Threshold": CLIENT_ERROR_RATE_PERCENT, "AlarmActions": [{"Ref": topic_id}]}},
    )
    (props,) = [a["Properties"] for a in alarms.values() if "Metrics" in a["Properties"]]
    expression = next(m["Expression"] for m in props["Metrics"] if "Expression" in m)
    assert "client_errors / requests" in expression
    metrics = {
        m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m
    }
    assert metrics == {"client_errors": "4XXError", "requests": "Count"}


def test_alarm_email_comes_from_context(
    synthesized: Synthesized, synthesized_with_options: Synthesized
) -> None:
    assert synthesized.template.find_resources("AWS::SNS::Subscription") == {}
    synthesized_with_options.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


# --- dashboard ---------------------------------------------------------------------------------
def dashboard_body(synth: Synthesized) -> str:
    (dashboard,) = synth.template.find_resources("AWS::CloudWatch::Dashboard").values()
    return json.dumps(dashboard["Properties"]["DashboardBody"])


def test_dashboard_shows_business_counts_queues_and_alarms(synthesized: Synthesized) -> None:
    body = dashboard_body(synthesized)
    for needle in (
        "WebhookAccepted",
        "WebhookRejected_bad_signature",
        "WebhookRejected_body_too_large",
        "ArtifactArchived",
        "ArtifactFailed",
        "BytesArchived",
        "ReconcileEnqueued_transcript",
        "MeetingVault",
        "meeting-vault-transcripts",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "4XXError",
        "5XXError",
        "alarm",
    ):
        assert needle in body, needle
    assert "DashboardName" in synthesized.outputs


# --- the reconciliation sweep ------------------------------------------------------------------
def test_meeting_ended_reaches_the_reconcile_queue_after_the_delay(synthesized: Synthesized) -> None:
    reconcile = synthesized.stack.reconcile
    queue_id = synthesized.logical_id(reconcile.queue)
    synthesized.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "DelaySeconds": RECONCILE_DEFAULT_DELAY_SECONDS,
            "VisibilityTimeout": RECONCILE.visibility_timeout_seconds,
        },
    )
    rule = synthesized.resources[synthesized.logical_id(reconcile.rule)]["Properties"]
    assert rule["EventPattern"] == RECONCILE.event_pattern
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert queue_id in synthesized.resources


def test_reconcile_delay_and_schedule_come_from_context(synthesized_hardened: Synthesized) -> None:
    synthesized_hardened.template.has_resource_properties("AWS::SQS::Queue", {"DelaySeconds": 300})
    synthesized_hardened.template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(30 minutes)", "State": "ENABLED"}
    )


def test_backstop_schedule_invokes_the_reconcile_function(synthesized: Synthesized) -> None:
    function_id = synthesized.logical_id(synthesized.stack.reconcile.function)
    synthesized.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 hour)",
            "Targets": Match.array_with([Match.object_like({"Arn": {"Fn::GetAtt": [function_id, "Arn"]}})]),
        },
    )


def test_sessions_rule_takes_every_event_including_synthesized_ones(synthesized: Synthesized) -> None:
    rule = synthesized.stack.workers.consumers["sessions"].rule
    pattern = synthesized.resources[synthesized.logical_id(rule)]["Properties"]["EventPattern"]
    assert pattern == {"source": ["realtimekit"]}


def test_reconcile_role_reads_sessions_and_the_secret_and_puts_events_only(synthesized: Synthesized) -> None:
    from tests.infra.test_stack import as_list, policy_statements_of_role, role_logical_id

    function = synthesized.stack.reconcile.function
    statements = policy_statements_of_role(synthesized, role_logical_id(synthesized, function))
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert "events:PutEvents" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert "dynamodb:Query" in actions
    assert not {a for a in actions if a.startswith("s3:")}, "the sweep writes nothing itself"
    # ... but the session's "announced" marker (session.archived once per state): put and delete only.
    writes = {
        a for a in actions if a.startswith("dynamodb:") and ("Put" in a or "Update" in a or "Delete" in a)
    }
    assert writes == {"dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert all(a != "*" and not a.endswith(":*") for a in actions)


def test_reconcile_function_gets_its_settings(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": RECONCILE.lambda_handler,
            "Timeout": RECONCILE.timeout_seconds,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "EVENT_BUS_NAME": Match.any_value(),
                        "SESSIONS_TABLE": Match.any_value(),
                        "REALTIMEKIT_API_TOKEN_SECRET_ARN": Match.any_value(),
                        "REALTIMEKIT_ACCOUNT_ID": "test-account-id",
                    }
                )
            },
        },
    )


# --- security posture ----------------------------------------------------------------------------
def test_no_waf_by_default(synthesized: Synthesized) -> None:
    assert synthesized.template.find_resources("AWS::WAFv2::WebACL") == {}


def test_waf_option_attaches_a_rate_limited_web_acl_to_the_stage(synthesized_hardened: Synthesized) -> None:
    template = synthesized_hardened.template
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Statement": {
                                "ManagedRuleGroupStatement": {
                                    "VendorName": "AWS",
                                    "Name": "AWSManagedRulesAmazonIpReputationList",
                                }
                            }
                        }
                    ),
                    Match.object_like(
                        {"Statement": {"RateBasedStatement": {"Limit": 500, "AggregateKeyType": "IP"}}}
                    ),
                ]
            ),
        },
    )
    rules = {
        rule["Name"]: rule
        for rule in template.find_resources("AWS::WAFv2::WebACL").popitem()[1]["Properties"]["Rules"]
    }
    # Over the rate: 503 with Retry-After (RealtimeKit retries it); WAF's default block is a final 403.
    rate_response = rules["RatePerIp"]["Action"]["Block"]["CustomResponse"]
    assert rate_response["ResponseCode"] == 503
    assert [h["Name"] for h in rate_response["ResponseHeaders"]] == ["Retry-After"]
    assert int(rate_response["ResponseHeaders"][0]["Value"]) > 0
    # The IP reputation list keeps the managed rules' own (final) block.
    assert rules["IpReputation"]["OverrideAction"] == {"None": {}}
    # The meeting-bot endpoint (about 10 requests a second per bot) is counted apart: one bot
    # vendor address must not use up, or be blocked by, the limit sized for RealtimeKit.
    bot_path = {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "CONTAINS",
            "SearchString": "/webhooks/meeting-bot",
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }
    realtimekit = rules["RatePerIp"]["Statement"]["RateBasedStatement"]
    assert realtimekit["ScopeDownStatement"] == {"NotStatement": {"Statement": bot_path}}
    bot = rules["BotRatePerIp"]["Statement"]["RateBasedStatement"]
    assert bot["ScopeDownStatement"] == bot_path
    assert (bot["Limit"], bot["AggregateKeyType"]) == (500 * 20, "IP")
    assert rules["BotRatePerIp"]["Action"] == rules["RatePerIp"]["Action"]  # 503, Retry-After
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    assert "/stages/" in json.dumps(association["Properties"]["ResourceArn"])
    assert _findings(synthesized_hardened.stack) == []


def test_no_iam_statement_grants_every_action(synthesized: Synthesized) -> None:
    for resource in synthesized.template.find_resources("AWS::IAM::Policy").values():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            assert "*" not in [
                str(a)
                for a in (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
            ]


def test_every_log_group_has_a_retention(synthesized: Synthesized) -> None:
    groups = synthesized.template.find_resources("AWS::Logs::LogGroup")
    assert groups
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())


def test_security_md_names_each_threat() -> None:
    text = (Path(__file__).resolve().parents[2] / "SECURITY.md").read_text()
    for threat in ("Spoofed webhooks", "Replay", "SSRF", "Denial of wallet"):
        assert threat in text
