"""Tags on every resource of the stack: ``app=meeting-vault``, ``stack=<stack name>`` and the
``extraTags`` setting (cost allocation, ownership). CloudFormation propagates stack-level tags to
every resource that supports tags."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Tags
from constructs import IConstruct

APP_TAG = ("app", "meeting-vault")


def tag_everything(scope: IConstruct, stack_name: str, extra: Mapping[str, str]) -> None:
    tags = Tags.of(scope)
    tags.add(*APP_TAG)
    tags.add("stack", stack_name)
    for key, value in sorted(extra.items()):
        tags.add(key, value)
