"""Fixtures shared by every test layer."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from local import moto_speedups
from local.signing import WebhookSigner

# The figures summary (scenarios, hostile inputs, load) printed at the end of every run.
from tests.support.figures import pytest_runtest_logreport, pytest_terminal_summary  # noqa: F401

EVENTS_DIR = Path(__file__).parent / "events"

# In-process moto applies each DynamoDB request and each queue change atomically, as AWS does and as
# local mode's moto server does: handlers write from threads (the sessions consumer takes a batch's
# records side by side), and unlocked moto loses concurrent writes.
ATOMIC_MOTO = moto_speedups.apply_atomicity()


def load_event(name: str) -> dict[str, Any]:
    """A canonical webhook body from tests/events/."""
    return json.loads((EVENTS_DIR / name).read_text())


def event_body(name: str) -> bytes:
    return (EVENTS_DIR / name).read_bytes()


@pytest.fixture(scope="session")
def signer() -> WebhookSigner:
    return WebhookSigner.generate()


@pytest.fixture(scope="session")
def other_signer() -> WebhookSigner:
    return WebhookSigner.generate()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials so nothing can ever reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
