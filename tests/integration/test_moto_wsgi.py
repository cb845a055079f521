"""moto's server answers through ``local.moto_wsgi.ThinApp`` (not Flask's request handling) and
serializes JSON responses through ``moto_speedups``' walk (not moto's picker per member): both must
answer exactly as moto's own code does.

The server runs with ``MEETING_VAULT_MOTO_VERIFY``: each answer of the thin path is compared with
the Flask app's answer for the same request and the same callback result, and each JSON body with
moto's serializer's; a difference is a 500 that says so. The requests are local mode's (the
``bench.moto_server`` webhook mix) and the answers around them: errors, CORS, HEAD, a missing key.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from bench.moto_server import Sender
from local.moto_process import SKIP_ENV, VERIFY_ENV, MotoProcess
from local.stack import LocalNames, provision_resources
from tests.support.moto_server import client as moto_client
from tests.support.moto_server import start

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def verified() -> Iterator[MotoProcess]:
    process = start({VERIFY_ENV: "1"})
    try:
        yield process
    finally:
        process.stop()


def client(moto: MotoProcess, service: str) -> Any:
    return moto_client(moto, service, config=Config(retries={"max_attempts": 1}))  # a 500 fails at once


def raw(moto: MotoProcess, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    request = urllib.request.Request(moto.endpoint + path, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_local_modes_requests_answer_as_moto_answers_them(verified: MotoProcess) -> None:
    names = LocalNames()
    resources = provision_resources(lambda service: client(verified, service), names, api_token="t")
    sender = Sender(verified.endpoint, names, resources)
    for service in ("s3", "ddb", "events", "sqs"):  # no retries: a difference fails the call
        setattr(sender, service, client(verified, "dynamodb" if service == "ddb" else service))
    for number in range(30):  # past one session's 25 facts: queries of a full partition
        sender.webhook(0, number)

    ddb, s3, sqs = sender.ddb, sender.s3, sender.sqs
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(
            TableName=names.sessions_table,
            Item={"pk": {"S": "meeting-0/session-0"}, "sk": {"S": "fact#000000"}},
            ConditionExpression="attribute_not_exists(sk)",
        )
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "x"}})
    assert "Item" not in ddb.get_item(
        TableName=names.sessions_table, Key={"pk": {"S": "x"}, "sk": {"S": "y"}}
    )
    assert ddb.describe_table(TableName=names.sessions_table)["Table"]["TableName"] == names.sessions_table
    page = ddb.scan(TableName=names.sessions_table, Limit=5)
    assert len(page["Items"]) == 5
    assert page["LastEvaluatedKey"]
    with pytest.raises(s3.exceptions.ClientError) as missing:
        s3.head_object(Bucket=names.bucket, Key="events/none.json")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=names.bucket, Key="events/none.json")
    listing = s3.list_object_versions(Bucket=names.bucket, Prefix="events/")
    assert len(listing["Versions"]) == 30
    attributes = sqs.get_queue_attributes(QueueUrl=resources.queue_urls["sessions"], AttributeNames=["All"])
    assert "ApproximateNumberOfMessages" in attributes["Attributes"]
    assert client(verified, "secretsmanager").get_secret_value(SecretId=names.api_token_secret)[
        "SecretString"
    ]


def test_cors_head_and_server_errors_answer_as_flask_answers_them(verified: MotoProcess) -> None:
    auth = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, Signature=x"
    dynamodb = {"Content-Type": "application/x-amz-json-1.0", "Authorization": auth}
    listed = raw(
        verified,
        "POST",
        "/",
        {**dynamodb, "X-Amz-Target": "DynamoDB_20120810.ListTables", "Origin": "http://example.test"},
        b"{}",
    )
    assert listed[0] == 200
    assert listed[1]["Access-Control-Allow-Origin"] == "http://example.test"
    preflight = raw(
        verified,
        "OPTIONS",
        "/",
        {
            **dynamodb,
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Origin": "http://example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight[0] != 500, preflight
    lacking = raw(
        verified, "POST", "/", {**dynamodb, "X-Amz-Target": "DynamoDB_20120810.NoSuchAction"}, b"{}"
    )
    assert lacking[0] == 500
    assert b"thin path differs" not in lacking[2]
    s3_auth = auth.replace("/dynamodb/", "/s3/")
    head = raw(verified, "HEAD", "/no-such-bucket/key", {"Authorization": s3_auth})
    assert head[0] == 404


CHECK = """
import json, sys
from werkzeug.test import Client
from local import moto_speedups
from local.moto_process import build_app
applied = moto_speedups.apply()
app = build_app()
import flask
def refuse(self, environ, start_response):
    raise AssertionError("Flask answered")
flask.Flask.__call__ = refuse
auth = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, Signature=x"
headers = {"Content-Type": "application/x-amz-json-1.0", "Authorization": auth, "X-Amz-Target": "DynamoDB_20120810.ListTables"}
response = Client(app).post("/", data=b"{}", headers=headers)
print(json.dumps({"applied": applied, "status": response.status_code, "body": response.get_data(as_text=True)}))
"""


def test_the_speed_ups_apply_to_the_installed_moto() -> None:
    """They are skipped, silently, when moto changes; this says so. A DynamoDB call is answered
    without Flask's ``__call__``."""
    out = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert {"json-serializer", "action-names", "routing"} <= set(result["applied"])
    assert result["status"] == 200, result
    assert result["body"] == '{"TableNames": []}'


BROKEN = """
from werkzeug.test import Client
from local import moto_speedups
from local.moto_process import build_app
moto_speedups.apply()
app = build_app(verify=True)
auth = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, Signature=x"
headers = {"Content-Type": "application/x-amz-json-1.0", "Authorization": auth, "X-Amz-Target": "DynamoDB_20120810.ListTables"}
environ_app = app.dispatcher.get_application({"HTTP_AUTHORIZATION": auth, "HTTP_X_AMZ_TARGET": headers["X-Amz-Target"], "PATH_INFO": "/"})
app.routes(environ_app).after = None  # the thin path forgets CORS
response = Client(app).post("/", data=b"{}", headers=headers)
print(response.status_code, response.get_data(as_text=True)[:80])
"""


def test_verifying_catches_an_answer_that_differs() -> None:
    out = subprocess.run(
        [sys.executable, "-c", BROKEN], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.startswith("500 thin path differs from Flask: headers"), out.stdout


def test_without_the_speed_ups_the_server_still_answers() -> None:
    plain = start({SKIP_ENV: "thin-wsgi,json-serializer"})
    try:
        assert client(plain, "dynamodb").list_tables()["TableNames"] == []
    finally:
        plain.stop()
