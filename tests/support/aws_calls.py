"""Which AWS calls each function makes, and whether its role in the synthesized template allows them.

``CallRecorder`` hooks botocore's ``before-parameter-build`` event on every client created while it
is installed and records (function, service, operation, resource) for every call a handler makes;
the function is the one ``local.lambda_runtime.invoke`` is running (a context variable, carried into
thread pools so a multipart upload's parts count too). It also records which settings models
(``shared.core.config._Settings.from_env``) each function reads from its environment.

``RolePolicies`` parses a CloudFormation template: the identity policies attached to each
function's role, with ``Ref``/``Fn::GetAtt``/``Fn::Join`` resolved to the local resource ARNs of
the moto pipeline, so a recorded call and a grant compare as ARN and pattern."""

from __future__ import annotations

import contextvars
import fnmatch
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.session

from local.lambda_runtime import CURRENT_FUNCTION

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str  # botocore service name: s3, dynamodb, sqs, events, secretsmanager, bedrock-runtime
    operation: str  # API operation: PutObject, UploadPart, ...
    resource: str  # ARN of what the call touches (object ARN for object operations)
    extra_resources: tuple[str, ...] = ()  # a copy's source object
    tagged: bool = False  # tags given with the write: s3:PutObjectTagging as well

    def __str__(self) -> str:
        return f"{self.function}: {self.service}.{self.operation} on {self.resource}"


# -- call -> IAM action ----------------------------------------------------------------------------
# Operations whose IAM action is not "<prefix>:<operation>" (docs: "Actions, resources, and condition
# keys for Amazon S3" and the service authorization references of the others).
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListParts": "s3:ListMultipartUploadParts",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "DeleteObjects": "s3:DeleteObject",
}
_BEDROCK_ACTIONS = {
    "Converse": "bedrock:InvokeModel",
    "InvokeModel": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "InvokeModelWithResponseStream": "bedrock:InvokeModelWithResponseStream",
}
_IAM_PREFIX = {"bedrock-runtime": "bedrock"}
_S3_BUCKET_OPERATIONS = {"ListObjectsV2", "ListObjects", "HeadBucket", "ListMultipartUploads"}


def iam_actions(call: AwsCall) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs the call needs."""
    if call.service == "s3":
        needed = [(_S3_ACTIONS.get(call.operation, f"s3:{call.operation}"), call.resource)]
        if call.operation == "CopyObject":
            needed += [("s3:GetObject", source) for source in call.extra_resources]
        if call.operation in {"HeadObject", "GetObject"}:
            # without it S3 answers 403, not 404, for a key that does not exist (yet)
            needed.append(("s3:ListBucket", call.resource.split("/", 1)[0]))
        if call.tagged:
            needed.append(("s3:PutObjectTagging", call.resource))
        return needed
    if call.service == "bedrock-runtime":
        return [(_BEDROCK_ACTIONS.get(call.operation, f"bedrock:{call.operation}"), call.resource)]
    return [(f"{_IAM_PREFIX.get(call.service, call.service)}:{call.operation}", call.resource)]


def _resource_of(service: str, operation: str, params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    if service == "s3":
        bucket = params.get("Bucket", "")
        extra: list[str] = []
        if operation == "CopyObject":
            source = params.get("CopySource")
            if isinstance(source, Mapping):
                extra.append(f"arn:aws:s3:::{source['Bucket']}/{source['Key']}")
            elif isinstance(source, str):
                extra.append("arn:aws:s3:::" + source.lstrip("/").split("?")[0])
        if operation in _S3_BUCKET_OPERATIONS or "Key" not in params:
            return f"arn:aws:s3:::{bucket}", tuple(extra)
        return f"arn:aws:s3:::{bucket}/{params['Key']}", tuple(extra)
    if service == "dynamodb":
        table = params.get("TableName") or next(iter(params.get("RequestItems", {})), "")
        index = params.get("IndexName")
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
        return (f"{arn}/index/{index}" if index else arn), ()
    if service == "sqs":
        url = params.get("QueueUrl", "")
        name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] if url else params.get("QueueName", "")
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", ()
    if service == "events":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}
        bus = next(iter(buses), params.get("EventBusName", "default"))
        if bus.startswith("arn:"):
            return bus, ()
        return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}", ()
    if service == "secretsmanager":
        secret = params.get("SecretId", "")
        if secret.startswith("arn:"):
            return secret, ()
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}", ()
    if service == "bedrock-runtime":
        model = params.get("modelId", "")
        if model.startswith("arn:"):
            return model, ()
        return f"arn:aws:bedrock:{REGION}::foundation-model/{model}", ()
    return "*", ()


# -- recording ---------------------------------------------------------------------------------------
@dataclass
class CallRecorder:
    calls: list[AwsCall] = field(default_factory=list)
    settings_read: dict[str, set[type]] = field(default_factory=dict)  # function -> settings models
    unattributed: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _on_call(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        function = CURRENT_FUNCTION.get()
        if function is None:
            with self._lock:
                self.unattributed.append(f"{service}.{model.name}")
            return
        resource, extra = _resource_of(service, model.name, params)
        tagged = service == "s3" and bool(params.get("Tagging"))
        with self._lock:
            self.calls.append(AwsCall(function, service, model.name, resource, extra, tagged))

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._on_call, unique_id="aws-call-recorder")

    def by_function(self) -> dict[str, list[AwsCall]]:
        grouped: dict[str, list[AwsCall]] = {}
        for call in self.calls:
            grouped.setdefault(call.function, []).append(call)
        return grouped

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Hook every botocore client created meanwhile, carry the current function into thread
        pools, and note the settings models each function reads."""
        from shared.core import config

        real_create_client = botocore.session.Session.create_client
        real_submit = ThreadPoolExecutor.submit
        real_from_env = config._Settings.__dict__["from_env"]
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = real_create_client(session, *args, **kwargs)
            recorder.hook(client)
            return client

        def submit(pool: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            return real_submit(pool, contextvars.copy_context().run, fn, *args, **kwargs)

        def from_env(cls: type, environ: Mapping[str, str] | None = None) -> Any:
            function = CURRENT_FUNCTION.get()
            if environ is None and function is not None:
                with recorder._lock:
                    recorder.settings_read.setdefault(function, set()).add(cls)
            return real_from_env.__func__(cls, environ)

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
        config._Settings.from_env = classmethod(from_env)  # type: ignore[assignment,method-assign]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = real_create_client  # type: ignore[method-assign]
            ThreadPoolExecutor.submit = real_submit  # type: ignore[method-assign]
            config._Settings.from_env = real_from_env  # type: ignore[method-assign]


# -- the template's side -------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    policy: str  # logical id of the AWS::IAM::Policy
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # resolved ARNs or patterns

    def allows(self, action: str, resource: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in self.resources
        )


@dataclass(frozen=True)
class Denial:
    call: AwsCall
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.call.function} needs {self.action} on {self.resource} ({self.call.service}.{self.call.operation})"


class RolePolicies:
    """Identity policies of each function's role in a template; ``names`` maps logical ids to the
    ARN (``Fn::GetAtt [id, Arn]``) and ``Ref`` value of the local resource that plays it."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        function_ids: Mapping[str, str],  # function name ("ingest", ...) -> its logical id
        arns: Mapping[str, str],  # logical id -> local ARN
        refs: Mapping[str, str] | None = None,  # logical id -> local Ref value (default: the ARN)
    ) -> None:
        self.resources: dict[str, Any] = dict(template["Resources"])
        self.function_ids = dict(function_ids)
        self.arns = dict(arns)
        self.refs = {**self.arns, **(refs or {})}

    # -- resolving intrinsics to strings ---------------------------------------------------------
    def resolve(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, Mapping) and len(node) == 1:
            (intrinsic, value), *_ = node.items()
            if intrinsic == "Ref":
                pseudo = {
                    "AWS::Partition": "aws",
                    "AWS::Region": REGION,
                    "AWS::AccountId": ACCOUNT,
                    "AWS::URLSuffix": "amazonaws.com",
                }
                if value in pseudo:
                    return pseudo[value]
                return self.refs.get(value, f"<unresolved Ref {value}>")
            if intrinsic == "Fn::GetAtt":
                logical_id, attribute = value
                if attribute == "Arn" and logical_id in self.arns:
                    return self.arns[logical_id]
                return f"<unresolved GetAtt {logical_id}.{attribute}>"
            if intrinsic == "Fn::Join":
                separator, parts = value
                return str(separator).join(self.resolve(part) for part in parts)
        return f"<unresolved {node!r}>"

    # -- grants ------------------------------------------------------------------------------------
    def role_of(self, function: str) -> str:
        role = self.resources[self.function_ids[function]]["Properties"]["Role"]
        return str(role["Fn::GetAtt"][0])

    def grants(self, function: str) -> list[Grant]:
        role = self.role_of(function)
        found: list[Grant] = []
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            if {"Ref": role} not in resource["Properties"].get("Roles", []):
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Effect", "Allow") != "Allow":
                    continue
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                targets = statement["Resource"]
                targets = [targets] if not isinstance(targets, list) else targets
                found.append(Grant(logical_id, tuple(actions), tuple(self.resolve(t) for t in targets)))
        return found

    def denials(self, calls: Iterable[AwsCall]) -> list[Denial]:
        """Every (call, action, resource) no Allow statement of the function's role covers."""
        denied: list[Denial] = []
        cache: dict[str, list[Grant]] = {}
        for call in calls:
            grants = cache.setdefault(call.function, self.grants(call.function))
            for action, resource in iam_actions(call):
                if not any(grant.allows(action, resource) for grant in grants):
                    denied.append(Denial(call, action, resource))
        return denied

    def unused(self, calls: Iterable[AwsCall]) -> dict[str, list[str]]:
        """function -> "action on resource" pairs of its grants no recorded call needed."""
        needed_by: dict[str, list[tuple[str, str]]] = {}
        for call in calls:
            needed_by.setdefault(call.function, []).extend(iam_actions(call))
        result: dict[str, list[str]] = {}
        for function in self.function_ids:
            needed = needed_by.get(function, [])
            for grant in self.grants(function):
                for action in grant.actions:
                    for resource in grant.resources:
                        if action.startswith(("xray:", "logs:")):
                            continue  # the runtime's, not the handler's
                        used = any(
                            fnmatch.fnmatchcase(a.lower(), action.lower())
                            and fnmatch.fnmatchcase(r, resource)
                            for a, r in needed
                        )
                        if not used:
                            result.setdefault(function, []).append(f"{action} on {resource}")
        return result

    def environment(self, function: str) -> dict[str, Any]:
        properties = self.resources[self.function_ids[function]]["Properties"]
        return dict(properties.get("Environment", {}).get("Variables", {}))

    def without_action(self, function: str, action: str) -> RolePolicies:
        """A copy of the template in which the function's role no longer has ``action``."""
        import copy

        template = {"Resources": copy.deepcopy(self.resources)}
        role = self.role_of(function)
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in resource["Properties"].get(
                "Roles", []
            ):
                continue
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            for statement in statements:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                statement["Action"] = [a for a in actions if a != action]
            resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
        return RolePolicies(template, function_ids=self.function_ids, arns=self.arns, refs=self.refs)
