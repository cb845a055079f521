"""Local mode's stand-in for the live relay's state machine: the same steps (begin, leg, check,
finalize) through the same Lambda handler, in threads. A leg is started without waiting for it (as
the state machine's asynchronous invoke does); the next starts ``leg - overlap`` seconds later, so
two legs overlap, and two environments of the relay function run side by side, as in Lambda.

``relay.requested`` events on the local bus reach a queue that ``LocalRelays`` polls, so
``meeting-vault relay start`` (or a team's own code) starts a relay locally as it would deployed."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from local.lambda_runtime import Handler, invoke, load_handler
from local.names import LocalNames

log = logging.getLogger("meeting_vault.local")

RELAY_HANDLER = "functions.relay.handler.handler"
RELAY_REQUEST_PATTERN = {"source": ["meeting-vault"], "detail-type": ["relay.requested"]}
RELAY_TIMEOUT_SECONDS = 900


def run_chain(
    request: dict[str, Any],
    *,
    leg_seconds: float,
    overlap_seconds: float,
    handler: Handler | None = None,
    on_step: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run one relay's chain to the end; returns the finalize step's result. ``request`` is what the
    state machine's input holds: ids and the secret's name, never the socket URL."""
    fn = handler or load_handler(RELAY_HANDLER)

    def step(event: dict[str, Any], environment: str = "relay") -> dict[str, Any]:
        if on_step is not None:
            on_step(event["action"], event)
        result: dict[str, Any] = invoke(
            fn, event, function_name=environment, timeout_seconds=RELAY_TIMEOUT_SECONDS
        )
        return result

    state = step({"action": "begin", **request})
    legs: list[threading.Thread] = []
    while not state["done"]:
        event = {"action": "leg", "relayId": state["relayId"], "leg": state["leg"]}
        # Two environments alternate, so a leg can start while the previous one still runs.
        thread = threading.Thread(
            target=step,
            args=(event, f"relay-leg-{state['leg'] % 2}"),
            daemon=True,
            name=f"relay-leg-{state['leg']}",
        )
        thread.start()
        legs.append(thread)
        time.sleep(max(0.1, leg_seconds - overlap_seconds))
        state = step({"action": "check", "relayId": state["relayId"], "leg": state["leg"]})
    for thread in legs:
        thread.join(timeout=leg_seconds + 30)
    return step({"action": "finalize", "relayId": state["relayId"]})


def provision_relay(client: Callable[[str], Any], names: LocalNames) -> str:
    """The relay table, and a queue for ``relay.requested`` (deployed, the rule starts the state
    machine). Returns the queue URL."""
    client("dynamodb").create_table(
        TableName=names.relay_table,
        KeySchema=[
            {"AttributeName": "relay", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "relay", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = client("sqs")
    url = str(sqs.create_queue(QueueName=names.relay_requests_queue)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    rule = f"{names.prefix}-relay-requests"
    events.put_rule(Name=rule, EventBusName=names.bus, EventPattern=json.dumps(RELAY_REQUEST_PATTERN))
    events.put_targets(Rule=rule, EventBusName=names.bus, Targets=[{"Id": "relay-requests", "Arn": arn}])
    return url


class LocalRelays:
    """Polls the relay request queue and runs each relay's chain in its own thread."""

    def __init__(self, *, sqs: Any, queue_url: str, leg_seconds: float, overlap_seconds: float) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._leg_seconds = leg_seconds
        self._overlap_seconds = overlap_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="relay-requests")
        self.chains: list[threading.Thread] = []
        self.results: list[dict[str, Any]] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def busy(self) -> bool:
        return any(chain.is_alive() for chain in self.chains)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception:  # noqa: BLE001 - moto stopping under us
                if self._stop.is_set():
                    return
                time.sleep(0.5)
                continue
            for message in messages:
                detail = json.loads(message["Body"]).get("detail", {})
                chain = threading.Thread(target=self._chain, args=(detail,), daemon=True, name="relay-chain")
                chain.start()
                self.chains.append(chain)
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _chain(self, detail: dict[str, Any]) -> None:
        request = {k: detail.get(k) for k in ("relayId", "meetingId", "sessionId", "title", "secretId")}
        try:
            self.results.append(
                run_chain(request, leg_seconds=self._leg_seconds, overlap_seconds=self._overlap_seconds)
            )
        except Exception:
            log.exception("local relay chain failed (relay %s)", request.get("relayId"))
