"""Deploy-time settings: CDK context keys, validated once, in one place.

Pass them with ``cdk deploy -c key=value`` or in ``cdk.json`` under ``"context"``. Values given
with ``-c`` arrive as strings; numbers, lists and maps are parsed from them. ``docs/deploy.md``
describes every key."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.archive.url_policy import DEFAULT_ALLOWED_HOSTS
from shared.core.artifact_types import ARTIFACT_TYPES
from shared.core.config import MAX_BODY_BYTES_LIMIT
from shared.fanout.routing import (
    INGEST_DEFAULT_RESERVED_CONCURRENCY,
    REBUILD_WINDOW_DEFAULT_SECONDS,
    REBUILD_WINDOW_MAX_SECONDS,
    RECONCILE,
    RECONCILE_DEFAULT_DELAY_SECONDS,
    RECONCILE_DEFAULT_SCHEDULE_MINUTES,
    RECONCILE_MAX_DELAY_SECONDS,
    ROUTES,
    ROUTES_BY_NAME,
)
from shared.summary.settings import DEFAULT_BEDROCK_MODEL_ID, SummaryType

DEFAULT_PUBLIC_KEY_URL = "https://api.realtime.cloudflare.com/.well-known/webhooks.json"
# The consumers' own default (one list for cloud and local mode); the stack always sets it.
DEFAULT_DOWNLOAD_HOSTS = DEFAULT_ALLOWED_HOSTS
_MAX_RETENTION_DAYS = 36500
_LOG_LEVELS = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

CONTEXT_KEYS = (
    "stackName",
    "realtimekitAccountId",
    "realtimekitAppId",
    "realtimekitAppIds",
    "apiTokenSecretName",
    "apiTokenSecretArn",
    "webhookPublicKeyUrl",
    "maxBodyBytes",
    "downloadHostAllowlist",
    "summaryMode",
    "summaryType",
    "bedrockModelId",
    "alarmEmail",
    "retentionDays",
    "noncurrentVersionRetentionDays",
    "archiveEncryption",
    "throttleRateLimit",
    "throttleBurstLimit",
    "logLevel",
    "reconcileDelaySeconds",
    "reconcileScheduleMinutes",
    "enableWaf",
    "wafRateLimitPer5Minutes",
    "maxConcurrency",
    "ingestReservedConcurrency",
    "createApiGatewayAccountRole",
    "artifactRetention",
    "objectLockDays",
    "extraTags",
    "sessionArchivedTopic",
    "relayLegSeconds",
    "relayOverlapSeconds",
    "relayMaxHours",
    "relayGiveUpMinutes",
)


class ArtifactRetention(BaseModel):
    """Per artifact type: days to expiry, and an optional earlier move to a cheaper storage class."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    expire_days: int | None = Field(default=None, alias="expireDays", ge=1, le=36500)
    transition_days: int | None = Field(default=None, alias="transitionDays", ge=1, le=36500)
    storage_class: Literal["STANDARD_IA", "GLACIER_IR"] = Field(default="STANDARD_IA", alias="storageClass")

    @model_validator(mode="after")
    def _transition_before_expiry(self) -> ArtifactRetention:
        if self.expire_days is None and self.transition_days is None:
            raise ValueError("give expireDays, transitionDays or both")
        if self.transition_days is not None:
            # S3 keeps objects at least 30 days in STANDARD before STANDARD_IA.
            if self.storage_class == "STANDARD_IA" and self.transition_days < 30:
                raise ValueError("transitionDays to STANDARD_IA must be at least 30 (an S3 rule)")
            if self.expire_days is not None and self.expire_days <= self.transition_days:
                raise ValueError("expireDays must be later than transitionDays")
        return self


class ContextError(ValueError):
    """A context key is missing or invalid; the message names the key and the fix."""


class DeploySettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    stack_name: str = Field(
        default="MeetingVault", alias="stackName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$"
    )
    realtimekit_account_id: str = Field(alias="realtimekitAccountId", min_length=1)
    realtimekit_app_id: str = Field(alias="realtimekitAppId", min_length=1)
    # More apps whose webhooks this stack accepts (a stack serving several apps). The REST calls of
    # the consumers go to realtimekitAppId; ingest accepts the union (docs/ingest.md, SECURITY.md).
    realtimekit_app_ids: tuple[str, ...] | None = Field(default=None, alias="realtimekitAppIds")
    api_token_secret_name: str | None = Field(default=None, alias="apiTokenSecretName", min_length=1)
    api_token_secret_arn: str | None = Field(
        default=None, alias="apiTokenSecretArn", pattern=r"^arn:aws[a-z-]*:secretsmanager:"
    )
    webhook_public_key_url: str = Field(
        default=DEFAULT_PUBLIC_KEY_URL, alias="webhookPublicKeyUrl", pattern=r"^https://"
    )
    max_body_bytes: int = Field(default=64 * 1024, alias="maxBodyBytes", ge=1024, le=MAX_BODY_BYTES_LIMIT)
    download_host_allowlist: tuple[str, ...] = Field(
        default=DEFAULT_DOWNLOAD_HOSTS, alias="downloadHostAllowlist", min_length=1
    )
    summary_mode: Literal["realtimekit", "bedrock", "off"] = Field(default="realtimekit", alias="summaryMode")
    # bedrock mode only (docs/summaries.md): the prompt set, and a model or inference profile id.
    summary_type: SummaryType = Field(default="general", alias="summaryType")
    bedrock_model_id: str = Field(
        default=DEFAULT_BEDROCK_MODEL_ID, alias="bedrockModelId", pattern=r"^[a-z][a-z0-9-]*(\.[\w:-]+)+$"
    )
    alarm_email: str | None = Field(default=None, alias="alarmEmail", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    # S3 key prefix -> days until current objects expire. Everything lives under "meetings/".
    retention_days: dict[str, int] = Field(default_factory=dict, alias="retentionDays")
    noncurrent_version_retention_days: int = Field(
        default=90, alias="noncurrentVersionRetentionDays", ge=1, le=_MAX_RETENTION_DAYS
    )
    archive_encryption: Literal["s3", "kms"] = Field(default="s3", alias="archiveEncryption")
    throttle_rate_limit: float = Field(default=50, alias="throttleRateLimit", gt=0)
    throttle_burst_limit: int = Field(default=100, alias="throttleBurstLimit", ge=1)
    log_level: _LOG_LEVELS = Field(default="INFO", alias="logLevel")
    # Reconciliation: delay after meeting.ended (SQS allows at most 900 s) and the backstop's period
    # (0 turns the schedule off).
    reconcile_delay_seconds: int = Field(
        default=RECONCILE_DEFAULT_DELAY_SECONDS,
        alias="reconcileDelaySeconds",
        ge=0,
        le=RECONCILE_MAX_DELAY_SECONDS,
    )
    reconcile_schedule_minutes: int = Field(
        default=RECONCILE_DEFAULT_SCHEDULE_MINUTES, alias="reconcileScheduleMinutes", ge=0, le=24 * 60
    )
    # Session files: at most one rebuild per session per window (SQS delay, at most 900 s), plus
    # immediate ones at meeting.ended and per artifact (docs/rebuilds.md).
    rebuild_window_seconds: int = Field(
        default=REBUILD_WINDOW_DEFAULT_SECONDS,
        alias="rebuildWindowSeconds",
        ge=0,
        le=REBUILD_WINDOW_MAX_SECONDS,
    )
    # An AWS WAF web ACL on the API stage: IP reputation list + a per-IP rate limit.
    enable_waf: bool = Field(default=False, alias="enableWaf")
    waf_rate_limit_per_5_minutes: int = Field(
        default=3000, alias="wafRateLimitPer5Minutes", ge=100, le=2_000_000_000
    )
    # An SNS topic that receives every session.archived event (subscribe e-mail, Slack via AWS Chatbot...).
    session_archived_topic: bool = Field(default=False, alias="sessionArchivedTopic")
    # Live relay (docs/live-relay.md): leg length (a Lambda invocation lasts at most 900 s), the
    # overlap between legs, the longest relay, and how long the socket may stay unreachable.
    relay_leg_seconds: int = Field(default=780, alias="relayLegSeconds", ge=60, le=840)
    relay_overlap_seconds: int = Field(default=10, alias="relayOverlapSeconds", ge=2, le=60)
    relay_max_hours: int = Field(default=6, alias="relayMaxHours", ge=1, le=24)
    relay_give_up_minutes: int = Field(default=10, alias="relayGiveUpMinutes", ge=1, le=120)

    # Per consumer (route name -> 2..1000): MaximumConcurrency of its SQS event source; the
    # defaults are in shared.fanout.routing (docs/retries.md).
    max_concurrency: dict[str, int] = Field(default_factory=dict, alias="maxConcurrency")
    # Reserved concurrency of the ingest function; 0 reserves none (accounts with a small quota).
    ingest_reserved_concurrency: int = Field(
        default=INGEST_DEFAULT_RESERVED_CONCURRENCY, alias="ingestReservedConcurrency", ge=0, le=1000
    )
    # API Gateway's account-wide CloudWatch role (one per account and region; docs/deploy.md). Off:
    # the stack's role is set only where none is set (infra.api_logging_role); on: it replaces the
    # account's setting (AWS::ApiGateway::Account). The role is RETAINed either way.
    create_api_gateway_account_role: bool = Field(default=False, alias="createApiGatewayAccountRole")
    # artifact type -> {"expireDays": N, "transitionDays": M, "storageClass": "STANDARD_IA"|"GLACIER_IR"}
    artifact_retention: dict[str, ArtifactRetention] = Field(default_factory=dict, alias="artifactRetention")
    # S3 Object Lock, governance mode, default retention in days (0: off). Only at bucket creation.
    object_lock_days: int = Field(default=0, alias="objectLockDays", ge=0, le=36500)
    # Tags on every resource, besides app=meeting-vault and stack=<stack name>.
    extra_tags: dict[str, str] = Field(default_factory=dict, alias="extraTags")

    @field_validator("max_concurrency", "artifact_retention", "extra_tags", mode="before")
    @classmethod
    def _parse_json_maps(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("max_concurrency")
    @classmethod
    def _known_consumers(cls, value: dict[str, int]) -> dict[str, int]:
        known = {route.name for route in (*ROUTES, RECONCILE)}
        for name, limit in value.items():
            if name not in known:
                raise ValueError(f"no consumer {name!r}: choose from {', '.join(sorted(known))}")
            if not 2 <= limit <= 1000:
                raise ValueError(f"maxConcurrency of {name!r} must be between 2 and 1000 (SQS event sources)")
        return value

    @field_validator("artifact_retention")
    @classmethod
    def _known_types(cls, value: dict[str, ArtifactRetention]) -> dict[str, ArtifactRetention]:
        unknown = set(value) - set(ARTIFACT_TYPES)
        if unknown:
            raise ValueError(
                f"unknown artifact types {sorted(unknown)}: choose from {', '.join(ARTIFACT_TYPES)}"
            )
        return value

    @field_validator("extra_tags")
    @classmethod
    def _tags_not_ours(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key in {"app", "stack"} or key.startswith("aws:") or not 1 <= len(key) <= 128:
                raise ValueError(f"tag {key!r} is reserved (app, stack, aws:*) or not 1-128 characters")
        return value

    def max_concurrency_of(self, route_name: str) -> int:
        route = RECONCILE if route_name == RECONCILE.name else ROUTES_BY_NAME[route_name]
        return self.max_concurrency.get(route_name, route.max_concurrency)

    # Meeting-bot source (docs/meeting-bot.md): WAV assembly after this much audio silence, one
    # video frame per participant per this many seconds (0: none), partial transcripts kept or not.
    bot_audio_quiet_seconds: int = Field(default=600, alias="botAudioQuietSeconds", ge=60, le=24 * 3600)
    bot_frame_interval_seconds: float = Field(default=10.0, alias="botFrameIntervalSeconds", ge=0)
    bot_keep_partial_transcripts: bool = Field(default=False, alias="botKeepPartialTranscripts")

    @field_validator("download_host_allowlist", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(host.strip().lower() for host in value.split(",") if host.strip())
        return value

    @field_validator("download_host_allowlist")
    @classmethod
    def _hosts_look_like_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            bare = host.removeprefix("*.")
            if not bare or "/" in bare or ":" in bare or "*" in bare:
                raise ValueError(f"{host!r} is not a host name or '*.domain' pattern")
        return hosts

    @field_validator("realtimekit_app_ids", mode="before")
    @classmethod
    def _split_app_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return value

    @field_validator("realtimekit_app_ids")
    @classmethod
    def _app_ids_not_empty(cls, ids: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if ids is None:
            return None
        if not ids:
            raise ValueError(
                "realtimekitAppIds is empty: list the RealtimeKit app ids whose webhooks this stack "
                "accepts (comma-separated or a JSON list), or leave the key out to accept "
                "realtimekitAppId's webhooks only"
            )
        for app_id in ids:
            if not app_id or "," in app_id or len(app_id) > 128:
                raise ValueError(f"{app_id!r} is not a RealtimeKit app id")
        return ids

    @field_validator("retention_days", mode="before")
    @classmethod
    def _parse_json_map(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("retention_days")
    @classmethod
    def _positive_days(cls, value: dict[str, int]) -> dict[str, int]:
        for prefix, days in value.items():
            if not prefix or prefix.startswith("/"):
                raise ValueError(f"prefix {prefix!r} must be a non-empty S3 key prefix like 'meetings/'")
            if not 1 <= days <= _MAX_RETENTION_DAYS:
                raise ValueError(f"days for {prefix!r} must be between 1 and {_MAX_RETENTION_DAYS}")
        return value

    @model_validator(mode="after")
    def _one_secret_reference(self) -> DeploySettings:
        if self.api_token_secret_name and self.api_token_secret_arn:
            raise ValueError("give apiTokenSecretName or apiTokenSecretArn, not both")
        if self.throttle_burst_limit < self.throttle_rate_limit:
            raise ValueError("throttleBurstLimit must be >= throttleRateLimit")
        return self

    @property
    def accepted_app_ids(self) -> tuple[str, ...]:
        """Every app id whose webhooks ingest accepts: realtimekitAppId first, then the list."""
        return tuple(dict.fromkeys((self.realtimekit_app_id, *(self.realtimekit_app_ids or ()))))

    @property
    def creates_placeholder_secret(self) -> bool:
        return not (self.api_token_secret_name or self.api_token_secret_arn)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeploySettings:
        """``get`` is ``app.node.try_get_context``; unknown keys are ignored (CDK adds its own)."""
        values = {key: value for key in CONTEXT_KEYS if (value := get(key)) not in (None, "")}
        if get("realtimekitAppIds") == "":  # given, but empty: an error, not "not given"
            values["realtimekitAppIds"] = ()
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeploySettings:
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            problems = "\n".join(
                f"  - {'.'.join(str(part) for part in err['loc']) or 'context'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ContextError(
                "invalid CDK context (pass -c key=value or set it in cdk.json; see docs/deploy.md):\n"
                + problems
            ) from None
