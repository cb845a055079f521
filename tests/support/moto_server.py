"""moto's server as local mode runs it (``local.moto_process``), for the tests that talk to it."""

from __future__ import annotations

import os
from typing import Any

import boto3

from local.moto_process import MotoProcess


def start(environ: dict[str, str] | None = None) -> MotoProcess:
    """A server started with ``environ`` set (read by the child as it starts), then unset."""
    saved = {name: os.environ.get(name) for name in environ or {}}
    os.environ.update(environ or {})
    try:
        return MotoProcess("127.0.0.1").start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def client(moto: MotoProcess, service: str, **options: Any) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        **options,
    )
