"""Operator errors as one clear line and a non-zero exit, never a traceback.

Every command runs inside ``OperatorGroup.invoke``, the one place where the errors an operator can
cause or meet (no credentials, no such stack, a token without permission, an unreachable endpoint)
become a ``click.ClickException`` with a sentence that says what to do."""

from __future__ import annotations

from typing import Any

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from shared.core.exceptions import (
    MeetingVaultError,
    RealtimeKitAuthError,
    RealtimeKitError,
    RealtimeKitRateLimited,
    RealtimeKitUnavailable,
)


class CliError(MeetingVaultError):
    """A problem the operator can fix; its message is shown as is."""


def describe(error: BaseException, *, local: bool | None = None) -> str | None:
    """The one line for a known error, or None for a bug (which keeps its traceback). ``local``:
    the command targets local mode (True), a deployed stack (False), or nothing yet (None); hints
    about `meeting-vault dev` are only given for local mode."""
    match error:
        case CliError():
            return str(error)
        case ProfileNotFound():
            return f"{error}: check ~/.aws/config, or pass another --profile"
        case NoCredentialsError() | PartialCredentialsError():
            return (
                "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY), or use --local for local mode"
            )
        case NoRegionError():
            return "no AWS region: pass --region or set AWS_REGION"
        case EndpointConnectionError():
            where = error.kwargs.get("endpoint_url", "the AWS endpoint")
            if local:
                return f"cannot reach {where}: is `meeting-vault dev` running (see its --aws-port)?"
            return f"cannot reach {where}: check the network, --region and AWS_ENDPOINT_URL"
        case ClientError():
            info = error.response.get("Error", {})
            return (
                f"AWS refused {error.operation_name}: {info.get('Code', 'error')}: "
                f"{info.get('Message', '').strip() or 'no message'}"
            )
        case BotoCoreError():
            return f"AWS: {error}"
        case RealtimeKitAuthError():
            return (
                f"{error}. The API token is wrong or lacks the 'Realtime' (or 'Realtime Admin') "
                "permission for this account and app"
            )
        case RealtimeKitRateLimited():
            wait = f" (retry after {error.retry_after:.0f} s)" if error.retry_after is not None else ""
            return f"{error}{wait}"
        case RealtimeKitUnavailable() | RealtimeKitError():
            return str(error)
        case MeetingVaultError():
            return str(error)
    return None


class OperatorGroup(click.Group):
    """A click group whose commands report known errors as one line (exit code 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # the CLI's one boundary: known errors become one line
            from cli.options import TARGET_META

            line = describe(error, local=ctx.meta.get(TARGET_META))
            if line is None:
                raise
            raise click.ClickException(line.splitlines()[0] if line else type(error).__name__) from error
