"""Options shared by the operator commands: which stack, and the RealtimeKit credentials."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cli.target import Target

# Nothing heavy at import time: `meeting-vault --help` loads neither boto3 nor the cloudflare SDK.
DEFAULT_STACK_NAME = "MeetingVault"  # infra.settings.DeploySettings.stack_name's default
ENDPOINT_ENV = "MEETING_VAULT_ENDPOINT"

F = TypeVar("F", bound=Callable[..., Any])


TARGET_META = "meeting_vault.target_is_local"  # ctx.meta: error hints that match the target


def _target_options(command: F, *, webhook: bool) -> F:
    options = [
        click.option(
            "--stack",
            envvar="MEETING_VAULT_STACK",
            help=f"Deployed stack whose outputs name the resources. [default: {DEFAULT_STACK_NAME}]",
        ),
        click.option(
            "--region", envvar="AWS_REGION", help="AWS region of the stack (default: your AWS config)."
        ),
        click.option("--profile", envvar="AWS_PROFILE", help="AWS named profile (default: your AWS config)."),
        click.option(
            "--local", is_flag=True, help="Target local mode (`meeting-vault dev`) instead of a stack."
        ),
        click.option(
            "--endpoint",
            envvar=ENDPOINT_ENV,
            metavar="URL",
            help="AWS endpoint of local mode, as `meeting-vault dev` prints it (implies --local). "
            "[default: http://127.0.0.1:5000]",
        ),
    ]
    if webhook:
        options.append(
            click.option(
                "--webhook-url",
                envvar="MEETING_VAULT_WEBHOOK_URL",
                metavar="URL",
                help="Override the webhook URL (default: the stack's WebhookUrl output; local mode: "
                "http://127.0.0.1:8080/webhooks/realtimekit).",
            )
        )

    def wrapper(
        *args: Any,
        stack: str | None,
        region: str | None,
        profile: str | None,
        local: bool,
        endpoint: str | None,
        webhook_url: str | None = None,
        **kwargs: Any,
    ) -> Any:
        is_local = local or bool((endpoint or os.environ.get(ENDPOINT_ENV)) and not stack)
        click.get_current_context().meta[TARGET_META] = is_local

        # Resolved lazily: --help and option errors need no AWS call.
        def target() -> Target:
            from cli.target import resolve_target

            return resolve_target(
                stack=stack,
                region=region,
                profile=profile,
                local=local,
                endpoint=endpoint,
                webhook_url=webhook_url,
            )

        return command(*args, target=target, **kwargs)

    functools.update_wrapper(wrapper, command)  # keeps the options declared below this decorator
    decorated: F = wrapper  # type: ignore[assignment]
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def target_options(command: F) -> F:
    """``--stack/--region/--profile`` (deployed) or ``--local/--endpoint`` (local mode); adds ``target``."""
    return _target_options(command, webhook=False)


def webhook_target_options(command: F) -> F:
    """``target_options`` and ``--webhook-url``, for the commands that call the webhook."""
    return _target_options(command, webhook=True)


def json_option(command: F) -> F:
    """``--json``: the same facts as the text output, as JSON on stdout (adds ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(command)


def realtimekit_options(command: F) -> F:
    """RealtimeKit account, app, API base URL and rate limit; adds ``rtk``. The API token is never an
    option (a flag shows in ``ps`` and shell history): env ``REALTIMEKIT_API_TOKEN``, else the stack's
    Secrets Manager secret."""
    options = [
        click.option(
            "--account-id",
            envvar="REALTIMEKIT_ACCOUNT_ID",
            help="Cloudflare account id (default: the stack's).",
        ),
        click.option(
            "--app-id", envvar="REALTIMEKIT_APP_ID", help="RealtimeKit App id (default: the stack's)."
        ),
        click.option(
            "--api-base-url",
            envvar="REALTIMEKIT_API_BASE_URL",
            metavar="URL",
            help="Cloudflare API base URL. [default: https://api.cloudflare.com/client/v4]",
        ),
        click.option(
            "--rate-limit",
            envvar="MEETING_VAULT_RATE_LIMIT",
            default="250/10",
            show_default=True,
            metavar="N/SECONDS",
            help="Most RealtimeKit requests per window (RealtimeKit allows 250 per 10 s).",
        ),
    ]

    def wrapper(
        *args: Any,
        account_id: str | None,
        app_id: str | None,
        api_base_url: str | None,
        rate_limit: str,
        **kwargs: Any,
    ) -> Any:
        from cli.realtimekit_access import RealtimeKitOptions

        rtk = RealtimeKitOptions(
            account_id=account_id,
            app_id=app_id,
            api_token=os.environ.get("REALTIMEKIT_API_TOKEN") or None,
            api_base_url=api_base_url,
            rate_limit=rate_limit,
        )
        return command(*args, rtk=rtk, **kwargs)

    functools.update_wrapper(wrapper, command)  # keeps the options declared below this decorator
    decorated: F = wrapper  # type: ignore[assignment]
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class SinceDate(click.ParamType):
    """``2026-06-01``, ``2026-06-01T10:00`` (UTC unless an offset is given), or an age: ``30m``,
    ``12h``, ``7d``, ``2w`` before now."""

    name = "DATE|AGE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if len(text) >= 2 and text[-1] in _UNITS and text[:-1].isdigit():
            return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]])
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is not a date like 2026-06-01 or 2026-06-01T10:00, or an age like 7d", param, ctx
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SINCE = SinceDate()
