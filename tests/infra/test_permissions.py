"""Every AWS call a function makes is allowed by its role in the synthesized template.

moto enforces no IAM, so a missing grant would only show in a real account. This test runs the
pipeline on moto (the fault-injection harness: a clean run, expired URLs refreshed through the REST
API, S3 errors on some writes, a lost transcript webhook recovered by the sweep, the scheduled sweep,
every webhook delivered twice)
and records each call a handler makes (``tests.support.aws_calls``). Each call is mapped to its IAM
action (UploadPart -> s3:PutObject, HeadObject -> s3:GetObject, ...) and checked against the
policies attached to that function's role in the default template, with ``Ref``/``Fn::GetAtt``/
``Fn::Join`` resolved to the local resources' ARNs. Grants no call used are printed (``-s``) so
roles can be narrowed; the environment variables each handler's settings require are checked the
same way.

Not covered by a recording: the S3 DeleteObject of a multipart upload whose assembled size is wrong
(moto cannot produce it), checked against the template directly below; KMS calls S3 makes for
SSE-KMS on the function's behalf (moto does not make them): CDK's bucket grants add them with the
key, see test_stack's KMS test; the SQS polling of the event source mappings (Lambda's, not the
handler's)."""

from __future__ import annotations

import dataclasses
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from local.lambda_runtime import Handler, invoke, load_handler
from local.names import LocalNames
from shared import wiring
from shared.fanout.routing import BOT_AUDIO, BOT_EVENTS, INGEST_HANDLER, REBUILDS, RECONCILE, ROUTES
from tests.infra.conftest import Synthesized
from tests.reliability.conftest import servers  # noqa: F401 - the loopback servers of the harness
from tests.reliability.harness import FILE_PATHS, Pipeline, Servers, running_pipeline
from tests.support.aws_calls import ACCOUNT, REGION, AwsCall, CallRecorder, RolePolicies

NAMES = LocalNames()  # the harness's resource names
# The RealtimeKit pipeline's functions: the harness plays a RealtimeKit meeting. The meeting-bot
# functions' grants are checked statement by statement in tests/infra/test_meeting_bot.py.
FUNCTIONS = (
    "ingest",
    *(route.name for route in ROUTES if route not in (BOT_EVENTS, BOT_AUDIO)),
    RECONCILE.name,
    REBUILDS.name,
)
# What the event source mappings do with the role (Lambda polls the queue, not the handler).
EVENT_SOURCE_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}


def _fresh_environment() -> None:
    """What a new execution environment has: no cached settings or clients, so every invocation
    reads the settings its function needs (and the recorder sees which)."""
    from shared.reconcile.sweep import reconcile_settings
    from shared.summary.settings import summary_settings

    wiring.reset()
    reconcile_settings.cache_clear()
    summary_settings.cache_clear()


def _cold(handler: Handler) -> Handler:
    def run(event: dict[str, Any], context: Any) -> Any:
        _fresh_environment()
        return handler(event, context)

    return run


def _cold_pipeline(pipeline: Pipeline) -> Pipeline:
    pipeline.ingest = _cold(load_handler(INGEST_HANDLER))
    for route in (*ROUTES, RECONCILE):
        pipeline.handlers[route.name] = _cold(load_handler(route.lambda_handler))
    return pipeline


def _deliver_all(pipeline: Pipeline, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        assert pipeline.deliver(payload) == 202


@pytest.fixture(scope="module")
def recorded(servers: Servers) -> CallRecorder:  # noqa: F811 - the imported fixture
    recorder = CallRecorder()
    payloads = servers.webhooks()
    requests_before = len(servers.files.requests)  # other scenarios count the session's requests
    with recorder.installed():
        # 1. a clean run: every webhook once
        with running_pipeline(servers) as pipeline:
            _deliver_all(_cold_pipeline(pipeline), payloads)
            pipeline.pump()
            # RealtimeKit's retries: every webhook again (checks of what is already archived)
            _deliver_all(pipeline, payloads)
            pipeline.pump()
            assert pipeline.dead_letters() == {}
            # 2. the schedule's sweep over what is archived
            sweep = _cold(load_handler(RECONCILE.lambda_handler))
            result = invoke(
                sweep, {"source": "aws.events", "detail-type": "Scheduled Event"}, function_name="reconcile"
            )
            assert result["errors"] == 0
        # 3. every URL expired: fresh ones from the REST API (secret read, REST calls)
        with running_pipeline(servers) as pipeline:
            for name, (data, ctype) in servers.meeting.files().items():
                servers.files.serve(FILE_PATHS[name], data, content_type=ctype, status=403)
            _deliver_all(_cold_pipeline(pipeline), payloads)
            pipeline.pump()
            assert pipeline.dead_letters() == {}
        # 4. the transcript webhook never arrives: the delayed sweep puts it on the bus
        with running_pipeline(servers) as pipeline:
            _deliver_all(
                _cold_pipeline(pipeline), [p for p in payloads if p["event"] != "meeting.transcript"]
            )
            pipeline.pump()
            assert pipeline.invocations.get("reconcile", 0) >= 1
        # 5. S3 fails some writes (multipart parts included): retries, aborted uploads
        real = botocore.client.BaseClient._make_api_call
        writes = {"n": 0}

        def flaky(self: Any, operation: str, params: dict[str, Any]) -> Any:
            if operation in {"PutObject", "UploadPart", "CompleteMultipartUpload"}:
                writes["n"] += 1
                if writes["n"] in {2, 5, 9, 14}:
                    raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, operation)
            return real(self, operation, params)

        with pytest.MonkeyPatch.context() as patch, running_pipeline(servers) as pipeline:
            patch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)
            _deliver_all(_cold_pipeline(pipeline), payloads)
            pipeline.pump()
            assert pipeline.dead_letters() == {}
    del servers.files.requests[requests_before:]
    # The harness names each consumer's queue ARN after its route ("...:sessions"); the local queue
    # (and the template's) is "meeting-vault-sessions": the same queue.
    prefix = f"arn:aws:sqs:{REGION}:{ACCOUNT}:"
    routes = {route.name for route in (*ROUTES, RECONCILE)}
    recorder.calls = [
        dataclasses.replace(call, resource=prefix + NAMES.queue(call.resource.removeprefix(prefix)))
        if call.service == "sqs" and call.resource.removeprefix(prefix) in routes
        else call
        for call in recorder.calls
    ]
    return recorder


def local_arns(synthesized: Synthesized) -> dict[str, str]:
    """Logical id -> ARN of the local resource that plays it in the harness."""
    stack = synthesized.stack
    storage = stack.storage
    arns = {
        synthesized.logical_id(storage.archive_bucket): f"arn:aws:s3:::{NAMES.bucket}",
        synthesized.logical_id(storage.sessions_table): (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{NAMES.sessions_table}"
        ),
        synthesized.logical_id(storage.idempotency_table): (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{NAMES.idempotency_table}"
        ),
        synthesized.logical_id(stack.events.bus): f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{NAMES.bus}",
        synthesized.logical_id(stack.api_token_secret): (
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{NAMES.api_token_secret}"
        ),
    }
    for consumer in [*stack.workers.consumers.values(), stack.reconcile.consumer, stack.rebuilds.consumer]:
        name = consumer.route.name
        arns[synthesized.logical_id(consumer.queue)] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{NAMES.queue(name)}"
        arns[synthesized.logical_id(consumer.dead_letter_queue)] = (
            f"arn:aws:sqs:{REGION}:{ACCOUNT}:{NAMES.dlq(name)}"
        )
    return arns


def function_ids(synthesized: Synthesized) -> dict[str, str]:
    stack = synthesized.stack
    ids = {"ingest": synthesized.logical_id(stack.ingest.function)}
    ids |= {name: synthesized.logical_id(c.function) for name, c in stack.workers.consumers.items()}
    ids[RECONCILE.name] = synthesized.logical_id(stack.reconcile.function)
    ids[REBUILDS.name] = synthesized.logical_id(stack.rebuilds.function)
    return ids


@pytest.fixture(scope="module")
def policies(synthesized: Synthesized) -> RolePolicies:
    return RolePolicies(
        {"Resources": synthesized.resources},
        function_ids=function_ids(synthesized),
        arns=local_arns(synthesized),
    )


def test_every_function_made_calls_that_were_attributed(recorded: CallRecorder) -> None:
    by_function = recorded.by_function()
    assert set(by_function) == set(FUNCTIONS), sorted(by_function)
    operations = {(c.function, c.operation) for c in recorded.calls}
    # the non-obvious mappings are exercised: a multipart upload and a head before each put
    assert {("recordings", "UploadPart"), ("recordings", "CompleteMultipartUpload")} <= operations
    assert ("ingest", "PutEvents") in operations
    assert ("reconcile", "PutEvents") in operations
    assert any(c.service == "secretsmanager" for c in recorded.calls)


def test_every_recorded_call_is_allowed_by_the_functions_role(
    recorded: CallRecorder, policies: RolePolicies
) -> None:
    denials = policies.denials(recorded.calls)
    assert not denials, "calls the role would deny:\n" + "\n".join(sorted({str(d) for d in denials}))
    unused = {
        function: [grant for grant in grants if grant.split(" on ")[0] not in EVENT_SOURCE_ACTIONS]
        for function, grants in policies.unused(recorded.calls).items()
    }
    print("\ngrants no recorded call used (candidates for narrowing):")
    for function, grants in sorted(unused.items()):
        for grant in grants:
            print(f"  {function}: {grant}")


def test_removing_a_grant_the_pipeline_relies_on_is_reported(
    recorded: CallRecorder, policies: RolePolicies
) -> None:
    """The check can fail: without s3:PutObject the recordings function's multipart upload (and
    every archive write) is denied."""
    narrowed = policies.without_action("recordings", "s3:PutObject")
    denials = narrowed.denials(recorded.calls)
    denied = {(d.call.function, d.call.operation, d.action) for d in denials}
    assert ("recordings", "UploadPart", "s3:PutObject") in denied
    assert ("recordings", "CompleteMultipartUpload", "s3:PutObject") in denied
    assert {d.call.function for d in denials} == {"recordings"}
    # and one more: the ingest function without events:PutEvents
    assert {
        d.action for d in policies.without_action("ingest", "events:PutEvents").denials(recorded.calls)
    } == {"events:PutEvents"}


def test_the_delete_after_a_wrong_multipart_size_is_allowed_where_it_can_happen(
    policies: RolePolicies,
) -> None:
    """``shared.archive.transfer`` deletes an object whose assembled size is not what was sent
    (moto cannot produce that): the consumers that download through it may delete archive objects;
    no other function may, and none may delete an object version (the bucket is versioned)."""
    key = f"arn:aws:s3:::{NAMES.bucket}/meetings/m/sessions/s/recordings/r/recording.mp4"
    for function in ("recordings", "transcripts", "summaries", "chat"):
        assert policies.denials([AwsCall(function, "s3", "DeleteObject", key)]) == []
        assert policies.denials([AwsCall(function, "s3", "DeleteObjectVersion", key)]) != []
    for function in ("ingest", "sessions", "reconcile"):
        assert policies.denials([AwsCall(function, "s3", "DeleteObject", key)]) != []


def test_no_role_may_scan_session_records(policies: RolePolicies) -> None:
    """No function scans; DeleteItem only where the code releases the session.archived marker, and
    BatchWriteItem (which can delete) only for the rebuilds consumer, which may delete anyway."""
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{NAMES.sessions_table}"
    for function in FUNCTIONS:
        for operation in ("Scan", "BatchWriteItem"):
            if (function, operation) == ("rebuilds", "BatchWriteItem"):
                assert policies.denials([AwsCall(function, "dynamodb", "DeleteItem", table)]) == []
                continue
            assert policies.denials([AwsCall(function, "dynamodb", operation, table)]) != [], (
                function,
                operation,
            )
    assert policies.denials([AwsCall("ingest", "dynamodb", "DeleteItem", table)]) != []


def test_every_setting_a_handler_requires_is_set_on_its_function(
    recorded: CallRecorder, policies: RolePolicies
) -> None:
    # ingest reads its settings without the shared models: checked below by building them
    assert set(recorded.settings_read) >= set(FUNCTIONS) - {"ingest"}
    missing: list[str] = []
    for function, models in sorted(recorded.settings_read.items()):
        environment = policies.environment(function)
        for model in models:
            for name, info in model.model_fields.items():
                variable = info.alias or name
                if info.is_required() and variable not in environment:
                    missing.append(f"{function}: {variable} ({model.__name__}.{name})")
            # and the values the stack sets validate (intrinsics stand in as plain names)
            model.from_env(
                {k: v if isinstance(v, str) else "resolved-by-cloudformation" for k, v in environment.items()}
            )
    assert not missing, "variables a handler requires but its function lacks:\n" + "\n".join(missing)
    from shared.ingest.settings import IngestSettings

    ingest = policies.environment("ingest")
    IngestSettings.from_env(
        {k: v if isinstance(v, str) else "resolved-by-cloudformation" for k, v in ingest.items()}
    )
