"""Optional (``-c sessionArchivedTopic=true``): an SNS topic that receives every
``session.archived`` event from the bus, so a team can subscribe e-mail, a Slack channel (AWS
Chatbot) or a webhook without code."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from shared.session.completion import EVENT_SOURCE, SESSION_ARCHIVED


class SessionArchivedTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bus: events.IEventBus) -> None:
        super().__init__(scope, construct_id)
        # The events carry ids, a title and artifact states (no transcript, no media): like the
        # alarm topic, SNS's own encryption at rest and TLS-only access.
        self.topic = sns.Topic(
            self, "SessionArchived", display_name="meeting-vault: session archived", enforce_ssl=True
        )
        self.rule = events.Rule(
            self,
            "ToTopic",
            event_bus=bus,
            description="session.archived events to the SNS topic",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[SESSION_ARCHIVED]),
            targets=[targets.SnsTopic(self.topic)],
        )
