"""Optional AWS WAF web ACL on the webhook API stage (context ``enableWaf``).

Only rules that cannot drop a genuine webhook: Amazon's IP reputation list and a per-IP rate
limit (RealtimeKit sends from few addresses, so the limit is generous; it caps a flood from one
source before it costs Lambda invocations). Managed rule sets that inspect bodies (XSS, SQLi, size)
are left out on purpose: a participant named ``<script>`` must not turn a signed webhook into a
403, which RealtimeKit would never retry.

The rate rule's block is an overload answer, not a verdict on the request: it answers 503 with
``Retry-After`` (a custom response; WAF's default block is a 403, final for RealtimeKit), so a
genuine sender caught by it retries once its rate falls. A request from an address on the IP
reputation list keeps WAF's 403: that one is meant to be final."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from shared.fanout.routing import BOT_WEBHOOK_PATH

# WAF counts a rate-based rule's requests over a 5-minute window and lifts the block once the rate
# falls below the limit: a sender that waits a minute is checked against a window that has moved.
RATE_LIMITED_RETRY_AFTER_SECONDS = 60
# The meeting-bot endpoint (docs/meeting-bot.md) takes about 10 requests a second per bot (audio
# chunks, transcript lines) from the bot vendor's few addresses: one bot alone would reach the
# RealtimeKit-sized limit. Its requests are counted by a rule of their own, this many times higher.
BOT_RATE_MULTIPLIER = 20


def _bot_path() -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="CONTAINS",  # the stage name comes first in the path
            search_string=BOT_WEBHOOK_PATH,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _rate_rule(
    name: str, metric: str, priority: int, limit: int, scope: wafv2.CfnWebACL.StatementProperty
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=503,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Retry-After", value=str(RATE_LIMITED_RETRY_AFTER_SECONDS)
                        )
                    ],
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=limit, aggregate_key_type="IP", scope_down_statement=scope
            )
        ),
        visibility_config=_visibility(metric),
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class WebhookFirewall(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: apigateway.Stage, rate_limit_per_5_minutes: int
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("meeting-vault-webhooks"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="IpReputation",
                    priority=0,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesAmazonIpReputationList"
                        )
                    ),
                    visibility_config=_visibility("meeting-vault-ip-reputation"),
                ),
                # RealtimeKit's webhooks (everything but the meeting-bot path) and the bot's, apart.
                _rate_rule(
                    "RatePerIp",
                    "meeting-vault-rate-per-ip",
                    1,
                    rate_limit_per_5_minutes,
                    wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=_bot_path())
                    ),
                ),
                _rate_rule(
                    "BotRatePerIp",
                    "meeting-vault-bot-rate-per-ip",
                    2,
                    rate_limit_per_5_minutes * BOT_RATE_MULTIPLIER,
                    _bot_path(),
                ),
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.association.node.add_dependency(stage)
