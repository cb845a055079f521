"""The ingest function's logs and metrics, written without Powertools: the same JSON log keys, and
CloudWatch Embedded Metric Format documents in the namespace and dimension the dashboards read."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from shared.core.exceptions import ConfigurationError
from shared.ingest.settings import IngestSettings
from shared.ingest.telemetry import Telemetry
from shared.ingest.tenancy import RestMeetingLookup

ENV = {"POWERTOOLS_SERVICE_NAME": "meeting-vault-ingest", "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault"}


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 512, "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_counts_are_flushed_as_one_emf_document_per_invocation() -> None:
    stream = io.StringIO()
    telemetry = Telemetry(stream=stream, environ=ENV)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        telemetry.info("webhook accepted", meeting_id="m-1")
        telemetry.count("WebhookAccepted")
        telemetry.count("WebhookAccepted")
        telemetry.count("WebhookClaimChecked")
        return {"statusCode": 202}

    handler({"requestContext": {"requestId": "api-1"}}, Context())
    log, emf = lines(stream)
    assert log["level"] == "INFO"
    assert log["message"] == "webhook accepted"
    assert log["service"] == "meeting-vault-ingest"
    assert (log["function_request_id"], log["correlation_id"], log["cold_start"]) == ("req-1", "api-1", True)
    assert log["meeting_id"] == "m-1"
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MeetingVault"
    assert directive["Dimensions"] == [["service"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"WebhookAccepted", "WebhookClaimChecked"}
    assert emf["service"] == "meeting-vault-ingest"
    assert (emf["WebhookAccepted"], emf["WebhookClaimChecked"]) == ([2.0], [1.0])
    handler({}, Context())
    assert lines(stream)[2]["cold_start"] is False


def test_invocations_side_by_side_keep_their_own_context_and_counts() -> None:
    """Local mode runs a few invocations of the webhook endpoint at once, in threads: each one's log
    lines carry its own request id, and each EMF document counts its own invocation only."""
    import threading

    stream = io.StringIO()
    telemetry = Telemetry(stream=stream, environ=ENV)
    inside = threading.Barrier(2)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        telemetry.count("WebhookAccepted", event["n"])
        inside.wait(timeout=5)  # both invocations are running now
        telemetry.info("webhook accepted", n=event["n"])
        return {"statusCode": 202}

    def call(n: int) -> None:
        handler({"n": n, "requestContext": {"requestId": f"api-{n}"}}, Context())

    threads = [threading.Thread(target=call, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    logs = [line for line in lines(stream) if "message" in line]
    documents = [line for line in lines(stream) if "_aws" in line]
    assert sorted((log["n"], log["correlation_id"]) for log in logs) == [(1, "api-1"), (2, "api-2")]
    assert sorted(d["WebhookAccepted"] for d in documents) == [[1.0], [2.0]]


def test_metrics_can_be_disabled_and_levels_filter() -> None:
    stream = io.StringIO()
    telemetry = Telemetry(
        stream=stream,
        environ={**ENV, "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    telemetry.info("quiet")
    telemetry.warning("loud")
    telemetry.count("X")
    assert telemetry.flush() is None
    assert [line["message"] for line in lines(stream)] == ["loud"]


BASE = {"EVENT_BUS_NAME": "bus", "WEBHOOK_PUBLIC_KEY_PEM": "pem"}


def test_settings_need_an_app_id_and_read_the_list() -> None:
    with pytest.raises(ConfigurationError, match="REALTIMEKIT_APP_IDS"):
        IngestSettings.from_env(BASE)
    assert IngestSettings.from_env({**BASE, "REALTIMEKIT_APP_ID": "a"}).app_ids == ("a",)
    settings = IngestSettings.from_env(
        {**BASE, "REALTIMEKIT_APP_IDS": " a, b ,a,", "REALTIMEKIT_APP_ID": "c"}
    )
    assert settings.app_ids == ("a", "b")
    with pytest.raises(ConfigurationError, match="MAX_BODY_BYTES"):
        IngestSettings.from_env({**BASE, "REALTIMEKIT_APP_ID": "a", "MAX_BODY_BYTES": "999999"})


@pytest.mark.parametrize(
    ("answers", "owns", "asked"),
    [
        ([(200, b'{"success": true, "data": {"id": "m"}}')], True, 1),
        ([(404, b"{}"), (200, b'{"success": true}')], True, 2),  # the second app has it
        ([(404, b"{}"), (404, b"{}")], False, 2),
        ([(400, b"{}"), (404, b"{}")], False, 2),
    ],
)
def test_the_meeting_lookup_asks_each_app(answers: list[tuple[int, bytes]], owns: bool, asked: int) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    def get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        calls.append((url, headers))
        return answers[len(calls) - 1]

    lookup = RestMeetingLookup(
        base_url="https://api.example/client/v4/",
        account_id="acc",
        app_ids=("app-1", "app-2"),
        token=lambda: "tok",
        get=get,
    )
    assert lookup.owns("m/1") is owns
    assert len(calls) == asked
    assert calls[0][0] == "https://api.example/client/v4/accounts/acc/realtime/kit/app-1/meetings/m%2F1"
    assert calls[0][1]["authorization"] == "Bearer tok"


@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_a_lookup_that_cannot_be_answered_is_unavailable(status: int) -> None:
    from shared.core.exceptions import AppCheckUnavailableError

    lookup = RestMeetingLookup(
        base_url="https://api.example",
        account_id="acc",
        app_ids=("app",),
        token=lambda: "tok",
        get=lambda url, headers, timeout: (status, b""),
    )
    with pytest.raises(AppCheckUnavailableError):
        lookup.owns("m")
