"""The synthesized template: what a deploy would create, checked on the properties that matter."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match

from infra.lambda_defaults import RUNTIME, RUNTIME_PYTHON_VERSION
from infra.settings import DEFAULT_PUBLIC_KEY_URL
from shared.archive.url_policy import DEFAULT_ALLOWED_HOSTS
from shared.fanout.routing import INGEST_MEMORY_MB, INGEST_TIMEOUT_SECONDS, ROUTES, ConsumerRoute
from tests.infra.conftest import REPO_ROOT, Synthesized

ROUTE_IDS = [route.name for route in ROUTES]
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def get_att_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def policy_statements_of_role(synth: Synthesized, role_logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for resource in synth.resources.values():
        if (
            resource["Type"] == "AWS::IAM::Policy"
            and {"Ref": role_logical_id} in resource["Properties"]["Roles"]
        ):
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_logical_id(synth: Synthesized, function: lambda_.Function) -> str:
    assert function.role is not None
    return synth.logical_id(function.role)


# --- ingest API -------------------------------------------------------------------------------


def test_webhook_path_is_post_with_lambda_proxy_to_ingest(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "webhooks"})
    synthesized.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "realtimekit"})
    ingest_id = synthesized.logical_id(synthesized.stack.ingest.function)
    methods = synthesized.template.find_resources("AWS::ApiGateway::Method")
    bot_method = synthesized.logical_id(synthesized.stack.meeting_bot.webhook_method)
    assert len(methods) == 2, "only POST /webhooks/realtimekit and POST /webhooks/meeting-bot are exposed"
    (method,) = [m for lid, m in methods.items() if lid != bot_method]
    props = method["Properties"]
    assert props["HttpMethod"] == "POST"
    assert props["AuthorizationType"] == "NONE"
    assert props["Integration"]["Type"] == "AWS_PROXY"
    assert props["Integration"]["IntegrationHttpMethod"] == "POST"
    assert get_att_arn(ingest_id) in props["Integration"]["Uri"]["Fn::Join"][1]
    realtimekit = next(
        lid
        for lid, res in synthesized.resources.items()
        if res["Type"] == "AWS::ApiGateway::Resource" and res["Properties"]["PathPart"] == "realtimekit"
    )
    assert props["ResourceId"] == {"Ref": realtimekit}


def test_api_hands_every_body_over_as_binary(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"BinaryMediaTypes": ["*/*"], "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )


def test_stage_is_throttled_traced_and_access_logged(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("status"),
            },
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": 50,
                            "ThrottlingBurstLimit": 100,
                            "LoggingLevel": "ERROR",
                            "DataTraceEnabled": False,
                        }
                    )
                ]
            ),
        },
    )


def test_stage_throttling_comes_from_context(synthesized_with_options: Synthesized) -> None:
    synthesized_with_options.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10})]
            )
        },
    )


def test_a_throttled_request_is_answered_503_with_retry_after(synthesized: Synthesized) -> None:
    # API Gateway's default THROTTLED answer is a 429, which RealtimeKit never retries.
    api_id = synthesized.logical_id(synthesized.stack.ingest.api)
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "RestApiId": {"Ref": api_id},
            "ResponseType": "THROTTLED",
            "StatusCode": "503",
            "ResponseParameters": {
                "gatewayresponse.header.Retry-After": Match.string_like_regexp(r"^'\d+'$")
            },
        },
    )


def test_ingest_function_gets_bus_key_url_body_cap_and_app_binding(synthesized: Synthesized) -> None:
    bus_id = synthesized.logical_id(synthesized.stack.events.bus)
    bucket_id = synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    secret_id = synthesized.logical_id(synthesized.stack.api_token_secret)
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "functions.ingest.handler.handler",
            "Timeout": INGEST_TIMEOUT_SECONDS,
            "MemorySize": INGEST_MEMORY_MB,
            "Environment": {
                "Variables": {
                    "EVENT_BUS_NAME": {"Ref": bus_id},
                    "WEBHOOK_PUBLIC_KEY_URL": DEFAULT_PUBLIC_KEY_URL,
                    "MAX_BODY_BYTES": "65536",
                    "REALTIMEKIT_APP_IDS": "test-app-id",
                    "REALTIMEKIT_ACCOUNT_ID": "test-account-id",
                    "REALTIMEKIT_API_TOKEN_SECRET_ARN": {"Ref": secret_id},
                    "REALTIMEKIT_API_BASE_URL": "https://api.cloudflare.com/client/v4",
                    "ARCHIVE_BUCKET": {"Ref": bucket_id},
                    "POWERTOOLS_SERVICE_NAME": "meeting-vault-ingest",
                    "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    "PYDANTIC_DISABLE_PLUGINS": "__all__",
                }
            },
        },
    )


def test_ingest_role_may_put_events_read_the_token_and_put_raw_bodies_only(synthesized: Synthesized) -> None:
    """PutEvents on the bus; the token secret (meeting lookups); object puts under the raw events'
    prefixes only (claim checks): no reads, no deletes, no other keys."""
    bus_id = synthesized.logical_id(synthesized.stack.events.bus)
    bucket_id = synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    secret_id = synthesized.logical_id(synthesized.stack.api_token_secret)
    statements = policy_statements_of_role(
        synthesized, role_logical_id(synthesized, synthesized.stack.ingest.function)
    )
    xray = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
    other = [s for s in statements if not set(as_list(s["Action"])) <= xray]
    assert {"Action": "events:PutEvents", "Effect": "Allow", "Resource": get_att_arn(bus_id)} in other
    secret = [s for s in other if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert [s["Resource"] for s in secret] == [{"Ref": secret_id}]
    s3 = [s for s in other if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert len(s3) == 1
    assert all(a.startswith(("s3:Put", "s3:Abort")) for a in as_list(s3[0]["Action"]))
    resources = as_list(s3[0]["Resource"])
    suffixes = sorted(r["Fn::Join"][1][1] for r in resources)
    assert suffixes == ["/meetings/*/sessions/*/events/*", "/unattributed/events/*"]
    assert all(r["Fn::Join"][1][0] == get_att_arn(bucket_id) for r in resources)
    assert len(other) == 3


def test_ingest_body_cap_comes_from_context(synthesized_with_options: Synthesized) -> None:
    synthesized_with_options.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "functions.ingest.handler.handler",
            "Environment": {"Variables": Match.object_like({"MAX_BODY_BYTES": "80000"})},
        },
    )


# --- bus and workers --------------------------------------------------------------------------


def test_bus_events_are_archived_for_replay(synthesized: Synthesized) -> None:
    bus_id = synthesized.logical_id(synthesized.stack.events.bus)
    synthesized.template.has_resource_properties(
        "AWS::Events::Archive",
        {"SourceArn": get_att_arn(bus_id), "EventPattern": {"source": ["realtimekit"]}, "RetentionDays": 30},
    )


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_rule_pattern_is_exactly_the_routes_pattern(synthesized: Synthesized, route: ConsumerRoute) -> None:
    consumer = synthesized.stack.workers.consumers[route.name]
    rule = synthesized.resources[synthesized.logical_id(consumer.rule)]["Properties"]
    assert rule["EventPattern"] == route.event_pattern
    assert rule["EventBusName"] == {"Ref": synthesized.logical_id(synthesized.stack.events.bus)}
    (target,) = rule["Targets"]
    assert target["Arn"] == get_att_arn(synthesized.logical_id(consumer.queue))
    assert target["DeadLetterConfig"]["Arn"] == get_att_arn(
        synthesized.logical_id(consumer.dead_letter_queue)
    )


def test_recordings_rule_keeps_nested_detail_and_boolean(synthesized: Synthesized) -> None:
    """The one pattern with nesting: a lost level or a stringified boolean would match nothing."""
    rule = synthesized.stack.workers.consumers["recordings"].rule
    pattern = synthesized.resources[synthesized.logical_id(rule)]["Properties"]["EventPattern"]
    # UPLOADED, or (a legacy update without a meeting id, placed through the REST API) any status
    # whose detail has a null meetingId: CDK must render the null, not drop it.
    assert pattern["detail"] == {
        "valid": [True],
        "$or": [{"payload": {"recording": {"status": ["UPLOADED"]}}}, {"meetingId": [None]}],
    }


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_queue_redrives_to_its_dlq_and_outlasts_its_consumer(
    synthesized: Synthesized, route: ConsumerRoute
) -> None:
    consumer = synthesized.stack.workers.consumers[route.name]
    queue = synthesized.resources[synthesized.logical_id(consumer.queue)]["Properties"]
    function = synthesized.resources[synthesized.logical_id(consumer.function)]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att_arn(synthesized.logical_id(consumer.dead_letter_queue)),
        "maxReceiveCount": route.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == route.visibility_timeout_seconds
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_dlq_keeps_messages_14_days(synthesized: Synthesized, route: ConsumerRoute) -> None:
    dlq = synthesized.stack.workers.consumers[route.name].dead_letter_queue
    props = synthesized.resources[synthesized.logical_id(dlq)]["Properties"]
    assert props["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS
    assert props["SqsManagedSseEnabled"] is True


def test_every_queue_denies_plain_http(synthesized: Synthesized) -> None:
    queue_ids = {
        synthesized.logical_id(queue)
        for consumer in [
            *synthesized.stack.workers.consumers.values(),
            synthesized.stack.rebuilds.consumer,
            synthesized.stack.reconcile.consumer,
        ]
        for queue in (consumer.queue, consumer.dead_letter_queue)
    }
    queue_ids.add(synthesized.logical_id(synthesized.stack.reconcile.schedule_dead_letter_queue))
    relay = synthesized.stack.live_relay
    queue_ids |= {synthesized.logical_id(relay.dead_letter_queue), synthesized.logical_id(relay.leg_failures)}
    denied: set[str] = set()
    for resource in synthesized.template.find_resources("AWS::SQS::QueuePolicy").values():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                denied |= {ref["Ref"] for ref in resource["Properties"]["Queues"]}
    assert denied == queue_ids


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_consumer_reads_its_queue_with_partial_batch_failures(
    synthesized: Synthesized, route: ConsumerRoute
) -> None:
    consumer = synthesized.stack.workers.consumers[route.name]
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": synthesized.logical_id(consumer.function)},
            "EventSourceArn": get_att_arn(synthesized.logical_id(consumer.queue)),
            "BatchSize": route.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_consumer_function_settings_come_from_the_route(
    synthesized: Synthesized, route: ConsumerRoute
) -> None:
    function = synthesized.stack.workers.consumers[route.name].function
    props = synthesized.resources[synthesized.logical_id(function)]["Properties"]
    assert props["Handler"] == route.lambda_handler
    assert props["Timeout"] == route.timeout_seconds
    assert props["MemorySize"] == route.memory_mb
    assert props["Environment"]["Variables"]["ARCHIVE_BUCKET"] == {
        "Ref": synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    }


def test_every_function_has_the_house_defaults(synthesized: Synthesized) -> None:
    functions = synthesized.template.find_resources("AWS::Lambda::Function")
    # The custom resource setting API Gateway's account logging role is inline code, no asset
    # (tests/infra/test_api_logging_role.py).
    account_logging = synthesized.stack.ingest.account_logging
    del functions[synthesized.logical_id(account_logging.function)]
    # two ingest functions, the consumers, rebuilds, the reconcile sweep, the live relay
    assert len(functions) == 2 + len(ROUTES) + 3
    layer_id = next(iter(synthesized.template.find_resources("AWS::Lambda::LayerVersion")))
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == RUNTIME.name, logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert props["LoggingConfig"]["LogFormat"] == "JSON", logical_id
        assert props["Layers"] == [{"Ref": layer_id}], logical_id
        log_group = synthesized.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == 30, logical_id


def test_runtime_is_the_python_the_project_is_tested_and_compiled_with() -> None:
    """Not the newest runtime: the one whose bytecode the build can ship (the project's checked
    Python version). cdk-nag AwsSolutions-L1 is acknowledged for it (tests/infra/test_nag.py)."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert RUNTIME.name == lambda_.Runtime.PYTHON_3_11.name
    assert RUNTIME.name in {runtime.name for runtime in lambda_.Runtime.ALL}
    assert RUNTIME_PYTHON_VERSION == pyproject["tool"]["mypy"]["python_version"] == "3.11"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + RUNTIME_PYTHON_VERSION.replace(".", "")


def test_layer_is_built_for_the_runtime_and_architecture(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": [RUNTIME.name], "CompatibleArchitectures": ["arm64"]},
    )


# --- storage ----------------------------------------------------------------------------------


def test_archive_bucket_is_private_encrypted_versioned_and_logged(synthesized: Synthesized) -> None:
    storage = synthesized.stack.storage
    bucket = synthesized.resources[synthesized.logical_id(storage.archive_bucket)]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synthesized.logical_id(storage.access_log_bucket)
    }
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(rule.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for rule in rules)
    archive_rules = [rule for rule in rules if rule.get("Prefix") != "athena-results/"]  # query results only
    assert not any("ExpirationInDays" in rule for rule in archive_rules), "no expiry unless configured"


def test_archive_bucket_policy_denies_plain_http(synthesized: Synthesized) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    synthesized.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_sessions_table_layout_and_protection(synthesized: Synthesized) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.sessions_table)]
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True


def test_sessions_table_has_the_listing_index_the_cli_and_local_mode_use(synthesized: Synthesized) -> None:
    """One index (a stack update adds at most one to a table with data), keyed as shared.session.listing says."""
    from shared.session.listing import SESSION_INDEX

    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.sessions_table)]
    props = table["Properties"]
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": SESSION_INDEX.name,
            "KeySchema": [
                {"AttributeName": SESSION_INDEX.partition_key, "KeyType": "HASH"},
                {"AttributeName": SESSION_INDEX.sort_key, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ]
    defined = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert defined[SESSION_INDEX.partition_key] == "S"
    assert defined[SESSION_INDEX.sort_key] == "S"


def test_idempotency_table_has_powertools_layout(synthesized: Synthesized) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.idempotency_table)]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# --- grants -----------------------------------------------------------------------------------


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def _resources_of(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [
        resource
        for statement in statements
        if action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_sessions_consumer_gets_bucket_and_sessions_table_only(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    statements = policy_statements_of_role(
        synthesized, role_logical_id(synthesized, stack.workers.consumers["sessions"].function)
    )
    actions = _actions(statements)
    assert {"s3:PutObject", "s3:GetObject", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    assert not {a for a in actions if a.startswith("secretsmanager:")}
    assert not {a for a in actions if a.startswith("s3:Delete")}  # it never deletes
    assert not {"dynamodb:DeleteItem", "dynamodb:Scan"} & actions
    table_arns = _resources_of(statements, "dynamodb:PutItem")
    assert get_att_arn(synthesized.logical_id(stack.storage.idempotency_table)) not in table_arns
    assert get_att_arn(synthesized.logical_id(stack.storage.sessions_table)) in table_arns


@pytest.mark.parametrize("name", ["recordings", "transcripts", "summaries", "chat"])
def test_downloading_consumers_get_tables_and_the_token_secret(synthesized: Synthesized, name: str) -> None:
    stack = synthesized.stack
    statements = policy_statements_of_role(
        synthesized, role_logical_id(synthesized, stack.workers.consumers[name].function)
    )
    actions = _actions(statements)
    assert {"s3:PutObject", "s3:GetObject", "secretsmanager:GetSecretValue"} <= actions
    # DeleteObject (a wrong-size multipart result) but never an object version: the bucket is versioned
    assert {a for a in actions if a.startswith("s3:Delete")} == {"s3:DeleteObject"}
    assert "dynamodb:Scan" not in actions
    table_arns = _resources_of(statements, "dynamodb:PutItem")
    for table in (stack.storage.sessions_table, stack.storage.idempotency_table):
        assert get_att_arn(synthesized.logical_id(table)) in table_arns
    assert _resources_of(statements, "secretsmanager:GetSecretValue") == [
        {"Ref": synthesized.logical_id(stack.api_token_secret)}
    ]
    env = synthesized.resources[synthesized.logical_id(stack.workers.consumers[name].function)]["Properties"][
        "Environment"
    ]["Variables"]
    assert env["REALTIMEKIT_ACCOUNT_ID"] == "test-account-id"
    assert env["REALTIMEKIT_APP_ID"] == "test-app-id"
    assert env["REALTIMEKIT_API_TOKEN_SECRET_ARN"] == {"Ref": synthesized.logical_id(stack.api_token_secret)}
    assert env["IDEMPOTENCY_TABLE"] == {"Ref": synthesized.logical_id(stack.storage.idempotency_table)}
    assert env["DOWNLOAD_HOST_ALLOWLIST"] == ",".join(DEFAULT_ALLOWED_HOSTS)
    assert env["SUMMARY_MODE"] == "realtimekit"


def test_placeholder_secret_is_created_when_none_is_given(synthesized: Synthesized) -> None:
    # The API token placeholder, and the meeting-bot endpoint's credentials.
    synthesized.template.resource_count_is("AWS::SecretsManager::Secret", 2)


# --- outputs ----------------------------------------------------------------------------------


def test_outputs_give_the_webhook_url_and_resource_names(synthesized: Synthesized) -> None:
    outputs = synthesized.outputs
    url_parts = outputs["WebhookUrl"]["Value"]["Fn::Join"][1]
    assert url_parts[0] == "https://"
    assert url_parts[-1] == "/webhooks/realtimekit"
    assert outputs["ArchiveBucketName"]["Value"] == {
        "Ref": synthesized.logical_id(synthesized.stack.storage.archive_bucket)
    }
    expected = {"SessionsTableName", "IdempotencyTableName", "EventBusName", "ApiTokenSecretArn"}
    for route in ROUTES:
        label = route.name.capitalize()
        expected |= {f"{label}QueueUrl", f"{label}DeadLetterQueueUrl", f"{label}FunctionName"}
    assert expected <= set(outputs)


# --- monitoring -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_dlq_depth_alarm_notifies_the_topic(synthesized: Synthesized, route: ConsumerRoute) -> None:
    dlq = synthesized.stack.workers.consumers[route.name].dead_letter_queue
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Dimensions": [
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(dlq), "QueueName"]}}
            ],
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [{"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}],
        },
    )


# --- optional settings ------------------------------------------------------------------------


def test_kms_option_encrypts_the_archive_with_a_rotating_key(synthesized_with_options: Synthesized) -> None:
    synth = synthesized_with_options
    key = synth.stack.storage.archive_key
    assert key is not None
    key_id = synth.logical_id(key)
    assert synth.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": get_att_arn(key_id),
                        },
                    }
                ]
            }
        },
    )
    statements = policy_statements_of_role(
        synth, role_logical_id(synth, synth.stack.workers.consumers["recordings"].function)
    )
    assert get_att_arn(key_id) in _resources_of(statements, "kms:GenerateDataKey")


def test_existing_secret_is_referenced_not_created(synthesized_with_options: Synthesized) -> None:
    synth = synthesized_with_options
    synth.template.resource_count_is("AWS::SecretsManager::Secret", 1)  # the meeting-bot credentials
    statements = policy_statements_of_role(
        synth, role_logical_id(synth, synth.stack.workers.consumers["chat"].function)
    )
    from tests.infra.conftest import SECRET_ARN

    assert _resources_of(statements, "secretsmanager:GetSecretValue") == [SECRET_ARN]


def test_retention_option_adds_an_expiry_rule(synthesized_with_options: Synthesized) -> None:
    synthesized_with_options.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "meetings/", "ExpirationInDays": 400, "Status": "Enabled"})]
                )
            }
        },
    )


def test_alarm_email_subscribes_to_the_topic(synthesized_with_options: Synthesized) -> None:
    synthesized_with_options.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
