"""The CLI's RealtimeKit client: credentials from options, the environment or the stack, and every
request paced to RealtimeKit's rate limit.

- account id and app id: ``--account-id`` / ``--app-id`` (env ``REALTIMEKIT_ACCOUNT_ID`` /
  ``REALTIMEKIT_APP_ID``); else a deployed stack's consumer function environment; local mode uses
  the ids it gives its own consumers.
- API token: env ``REALTIMEKIT_API_TOKEN``; else the stack's Secrets Manager secret. Never an option:
  a flag shows in ``ps`` and in shell history.
- base URL: ``--api-base-url`` (env ``REALTIMEKIT_API_BASE_URL``); tests point it at the stand-in."""

from __future__ import annotations

from dataclasses import dataclass

import cloudflare
from botocore.exceptions import ClientError

from cli.errors import CliError
from cli.rate_limit import RequestPacer, parse_rate_limit
from cli.target import LOCAL_ACCOUNT_ID, LOCAL_APP_ID, Target
from shared.adapters.realtimekit import RealtimeKitClient

# The SDK also honours Retry-After on a 429 (up to 60 s) before our code sees an error.
CLI_MAX_RETRIES = 5


@dataclass(frozen=True)
class RealtimeKitOptions:
    account_id: str | None = None
    app_id: str | None = None
    api_token: str | None = None
    api_base_url: str | None = None
    rate_limit: str = "250/10"


@dataclass
class RealtimeKitAccess:
    client: RealtimeKitClient
    pacer: RequestPacer


def _app_ids(target: Target, options: RealtimeKitOptions) -> tuple[str, str]:
    account_id, app_id = options.account_id, options.app_id
    if (not account_id or not app_id) and target.local:
        account_id, app_id = account_id or LOCAL_ACCOUNT_ID, app_id or LOCAL_APP_ID
    if (not account_id or not app_id) and target.consumer_function:
        environment = (
            target.client("lambda")
            .get_function_configuration(FunctionName=target.consumer_function)
            .get("Environment", {})
            .get("Variables", {})
        )
        account_id = account_id or environment.get("REALTIMEKIT_ACCOUNT_ID")
        app_id = app_id or environment.get("REALTIMEKIT_APP_ID")
    if not account_id or not app_id:
        raise CliError(
            "RealtimeKit account id and app id unknown: pass --account-id and --app-id "
            "(or set REALTIMEKIT_ACCOUNT_ID and REALTIMEKIT_APP_ID)"
        )
    return account_id, app_id


def _api_token(target: Target, options: RealtimeKitOptions) -> str:
    if options.api_token:
        return options.api_token.strip()
    if not target.api_token_secret:
        raise CliError("no RealtimeKit API token: set REALTIMEKIT_API_TOKEN, or put it in the stack's secret")
    try:
        secret = target.client("secretsmanager").get_secret_value(SecretId=target.api_token_secret)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise CliError(
            f"cannot read the RealtimeKit API token from {target.api_token_secret} ({code}): "
            "set REALTIMEKIT_API_TOKEN, or allow secretsmanager:GetSecretValue on it"
        ) from exc
    token = str(secret.get("SecretString") or "").strip()
    if not token:
        raise CliError(f"the secret {target.api_token_secret} is empty: put the Cloudflare API token in it")
    return token


def realtimekit_access(target: Target, options: RealtimeKitOptions) -> RealtimeKitAccess:
    account_id, app_id = _app_ids(target, options)
    pacer = parse_rate_limit(options.rate_limit)
    http_client = cloudflare.DefaultHttpxClient(event_hooks={"request": [pacer], "response": []})
    client = RealtimeKitClient.connect(
        api_token=_api_token(target, options),
        account_id=account_id,
        app_id=app_id,
        base_url=options.api_base_url,
        max_retries=CLI_MAX_RETRIES,
        http_client=http_client,
    )
    return RealtimeKitAccess(client=client, pacer=pacer)
