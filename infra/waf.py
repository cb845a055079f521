"""Optional AWS WAF web ACL on the webhook API stage (context ``enableWaf``).

Only rules that cannot drop a genuine webhook: Amazon's IP reputation list and a per-IP rate
limit (RealtimeKit sends from few addresses, so the limit is generous; it caps a flood from one
source before it costs Lambda invocations). Managed rule sets that inspect bodies (XSS, SQLi, size)
are left out on purpose: a participant named ``<script>`` must not turn a signed webhook into a
403, which RealtimeKit would never retry."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct


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
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=rate_limit_per_5_minutes, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("meeting-vault-rate-per-ip"),
                ),
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.association.node.add_dependency(stage)
