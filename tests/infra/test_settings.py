"""Context validation: one place, clear errors that name the key."""

from __future__ import annotations

import pytest

from infra.settings import DEFAULT_PUBLIC_KEY_URL, ContextError, DeploySettings

REQUIRED = {"realtimekitAccountId": "acc", "realtimekitAppId": "app"}


def test_defaults_cover_every_optional_key() -> None:
    settings = DeploySettings.from_mapping(REQUIRED)
    assert settings.webhook_public_key_url == DEFAULT_PUBLIC_KEY_URL
    assert settings.max_body_bytes == 65536
    assert settings.summary_mode == "realtimekit"
    assert settings.archive_encryption == "s3"
    assert settings.alarm_email is None
    assert settings.retention_days == {}
    assert settings.creates_placeholder_secret


@pytest.mark.parametrize("missing", ["realtimekitAccountId", "realtimekitAppId"])
def test_missing_required_key_is_named(missing: str) -> None:
    values = {key: value for key, value in REQUIRED.items() if key != missing}
    with pytest.raises(ContextError, match=missing):
        DeploySettings.from_mapping(values)


def test_command_line_strings_are_parsed() -> None:
    settings = DeploySettings.from_mapping(
        {
            **REQUIRED,
            "maxBodyBytes": "80000",
            "retentionDays": '{"meetings/": 365}',
            "downloadHostAllowlist": " *.example.com , files.example.org ",
            "throttleRateLimit": "5",
            "throttleBurstLimit": "10",
        }
    )
    assert settings.max_body_bytes == 80000
    assert settings.retention_days == {"meetings/": 365}
    assert settings.download_host_allowlist == ("*.example.com", "files.example.org")
    assert (settings.throttle_rate_limit, settings.throttle_burst_limit) == (5, 10)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("summaryMode", "gpt"),
        ("maxBodyBytes", "1048576"),  # over what one EventBridge entry can carry
        ("webhookPublicKeyUrl", "http://insecure.example.com/key"),
        ("downloadHostAllowlist", "https://example.com/path"),
        ("downloadHostAllowlist", ""),
        ("retentionDays", '{"meetings/": 0}'),
        ("retentionDays", "not json"),
        ("alarmEmail", "not-an-address"),
        ("archiveEncryption", "aes"),
        ("apiTokenSecretArn", "my-secret"),
        ("unknownKey", "x"),
    ],
)
def test_bad_value_is_rejected_with_its_key(key: str, value: str) -> None:
    with pytest.raises(ContextError, match=key):
        DeploySettings.from_mapping({**REQUIRED, key: value})


def test_secret_name_and_arn_are_exclusive() -> None:
    with pytest.raises(ContextError, match="not both"):
        DeploySettings.from_mapping(
            {
                **REQUIRED,
                "apiTokenSecretName": "meeting-vault/token",
                "apiTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf",
            }
        )


def test_from_context_ignores_cdk_keys_and_empty_values() -> None:
    context = {**REQUIRED, "@aws-cdk/core:checkSecretUsage": True, "alarmEmail": ""}
    settings = DeploySettings.from_context(context.get)
    assert settings.alarm_email is None


# --- the apps whose webhooks are accepted ---------------------------------------------------------


def test_accepted_apps_default_to_the_one_app() -> None:
    assert DeploySettings.from_mapping(REQUIRED).accepted_app_ids == ("app",)


@pytest.mark.parametrize("given", ["app-2, app-3", '["app-2", "app-3"]', ("app-2", "app-3")])
def test_several_apps_are_accepted_with_the_main_one_first(given: object) -> None:
    settings = DeploySettings.from_mapping({**REQUIRED, "realtimekitAppIds": given})
    assert settings.accepted_app_ids == ("app", "app-2", "app-3")


@pytest.mark.parametrize("empty", [",", " , ", "[]", ()])
def test_an_empty_app_list_is_a_clear_error(empty: object) -> None:
    with pytest.raises(ContextError, match="realtimekitAppIds is empty"):
        DeploySettings.from_mapping({**REQUIRED, "realtimekitAppIds": empty})


def test_an_empty_app_list_on_the_command_line_is_an_error_not_ignored() -> None:
    context = {**REQUIRED, "realtimekitAppIds": ""}
    with pytest.raises(ContextError, match="realtimekitAppIds is empty"):
        DeploySettings.from_context(context.get)
