"""Hostile input at the webhook endpoint, property-based (hypothesis), against the ingest handler
in-process on moto: random bodies and headers, truncated and re-ordered JSON, huge strings, deeply
nested objects, invalid UTF-8, signatures from other keys, replays of valid bodies.

For every input: the answer is the contract's status code (README "Ingest contract"), the function
never raises, and nothing reaches the bus (the only way into storage) unless its exact bytes carry a
valid signature from RealtimeKit's key."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.lambda_runtime import invoke, load_handler
from local.signing import WebhookSigner
from shared import wiring
from shared.ingest.envelope import WebhookDetail
from tests.conftest import EVENTS_DIR
from tests.integration.conftest import MotoStack
from tests.support.figures import hostile_examples, record_figure
from tests.support.webhooks import api_event

MAX_BODY = 64 * 1024
# 403: a signed body naming another RealtimeKit app (tenancy binding, docs/ingest.md).
CONTRACT_STATUSES = {202, 400, 401, 403, 404, 413, 415, 503}
SAMPLES = [p.read_bytes() for p in sorted(EVENTS_DIR.glob("*.json"))]
HOSTILE = settings(
    max_examples=hostile_examples(ci=150, full=1_400),
    deadline=None,
    derandomize=True,  # the same examples in CI every run: a failure reproduces
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
ingest = load_handler("functions.ingest.handler.handler")


@dataclass
class Endpoint:
    """The ingest handler with its publisher wrapped: every detail that reached the bus is kept."""

    signer: WebhookSigner
    published: list[WebhookDetail] = field(default_factory=list)
    signed: set[str] = field(default_factory=set)  # sha256 of bodies signed with the right key
    tried: int = 0
    crashes: int = 0
    wrong_status: int = 0

    def sign(self, body: bytes) -> str:
        self.signed.add(hashlib.sha256(body).hexdigest())
        return self.signer.sign(body)

    def post(
        self, body: bytes, headers: dict[str, str], event_overrides: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.tried += 1
        event = {**api_event(body, headers), **(event_overrides or {})}
        try:
            response: dict[str, Any] = invoke(ingest, event, function_name="ingest", timeout_seconds=10)
        except Exception:
            self.crashes += 1
            raise
        return response

    def expect(self, response: dict[str, Any], status: int) -> None:
        if response["statusCode"] != status:
            self.wrong_status += 1
        assert response["statusCode"] in CONTRACT_STATUSES
        assert response["statusCode"] == status, response["body"]
        json.loads(response["body"])  # always a JSON document

    def unsigned_published(self) -> list[str]:
        return [d.delivery.body_sha256 for d in self.published if d.delivery.body_sha256 not in self.signed]


@pytest.fixture
def endpoint(
    moto_stack: MotoStack, signer: WebhookSigner, record_property: Callable[[str, object], None]
) -> Iterator[Endpoint]:
    found = Endpoint(signer=signer)
    ingestor = wiring.ingestor()
    real = ingestor._publisher

    class Recording:
        def entry(self, detail: Any) -> dict[str, Any]:
            return real.entry(detail)

        def put(self, entry: dict[str, Any]) -> str:
            event_id = real.put(entry)
            found.published.append(WebhookDetail.model_validate_json(entry["Detail"]))
            return event_id

    ingestor._publisher = Recording()
    yield found
    unsigned = found.unsigned_published()
    record_figure(
        record_property,
        "hostile ingest",
        examples=found.tried,
        crashes=found.crashes,
        unsigned_stored=len(unsigned),
        wrong_status=found.wrong_status,
    )
    assert unsigned == []
    assert found.crashes == 0


def expected_status(body: bytes, headers: dict[str, str], valid_signature: bool) -> int:
    """The contract, in its order: size, media type, signature."""
    if len(body) > MAX_BODY:
        return 413
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if not (
            media in {"application/json", "text/json"}
            or (media.startswith("application/") and media.endswith("+json"))
        ):
            return 415
    return 202 if valid_signature else 401


# -- strategies ------------------------------------------------------------------------------------
header_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
    min_size=1,
    max_size=30,
).filter(lambda n: n.lower() not in {"rtk-signature", "dyte-signature", "content-type"})
header_values = st.text(max_size=200)
random_headers = st.dictionaries(header_names, header_values, max_size=8)
content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "text/json",
            "application/cloudevents+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
            "application/xml",
        ]
    ),
    st.text(max_size=40),
)


def _reordered(body: bytes, seed: int) -> bytes:
    document = json.loads(body)

    def shuffle(node: Any) -> Any:
        if isinstance(node, dict):
            items = list(node.items())
            random.Random(seed).shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(node, list):
            return [shuffle(v) for v in node]
        return node

    return json.dumps(shuffle(document), ensure_ascii=seed % 2 == 0, indent=seed % 3 or None).encode()


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """Bodies that are almost webhooks, or nothing like one."""
    sample = draw(st.sampled_from(SAMPLES))
    kind = draw(
        st.sampled_from(
            [
                "random",
                "truncated",
                "reordered",
                "huge_string",
                "nested",
                "invalid_utf8",
                "sample",
                "not_object",
            ]
        )
    )
    if kind == "random":
        return draw(st.binary(max_size=2048))
    if kind == "truncated":
        return sample[: draw(st.integers(0, max(0, len(sample) - 1)))]
    if kind == "reordered":
        return _reordered(sample, draw(st.integers(0, 1000)))
    if kind == "huge_string":
        size = draw(st.sampled_from([MAX_BODY - 200, MAX_BODY - 60, MAX_BODY + 1, 5 * MAX_BODY]))
        document = json.loads(sample)
        document["title"] = draw(st.sampled_from(["x", "é", "\u202e", "\x00", "😀"])) * size
        return json.dumps(document, ensure_ascii=False).encode()
    if kind == "nested":
        depth = draw(st.sampled_from([10, 63, 65, 200, 1000, 20_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = opener * depth + "1" + closer * depth
        return (
            '{"event":"meeting.started","meeting":{"id":"m1","sessionId":"s1"},"x":' + inner + "}"
        ).encode()
    if kind == "invalid_utf8":
        position = draw(st.integers(0, len(sample)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\xbc", b"\x80"]))
        return sample[:position] + junk + sample[position:]
    if kind == "not_object":
        return json.dumps(
            draw(st.one_of(st.integers(), st.text(max_size=50), st.lists(st.integers())))
        ).encode()
    return sample


# -- properties ------------------------------------------------------------------------------------
def test_random_bodies_and_headers_without_a_valid_signature_store_nothing(endpoint: Endpoint) -> None:
    @HOSTILE
    @given(
        body=st.one_of(st.binary(max_size=4096), hostile_bodies()),
        headers=random_headers,
        content_type=content_types,
        signature=st.one_of(
            st.none(),
            st.text(max_size=400),
            st.binary(min_size=1, max_size=512).map(lambda b: base64.b64encode(b).decode()),
        ),
        legacy=st.booleans(),
    )
    def check(
        body: bytes, headers: dict[str, str], content_type: str | None, signature: str | None, legacy: bool
    ) -> None:
        headers = dict(headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if signature is not None:
            headers["dyte-signature" if legacy else "rtk-signature"] = signature
        before = len(endpoint.published)
        response = endpoint.post(body, headers)
        endpoint.expect(response, expected_status(body, headers, valid_signature=False))
        assert len(endpoint.published) == before

    check()


def test_correctly_signed_hostile_bodies_are_kept_byte_for_byte(endpoint: Endpoint) -> None:
    @HOSTILE
    @given(body=hostile_bodies(), content_type=content_types, legacy=st.booleans())
    def check(body: bytes, content_type: str | None, legacy: bool) -> None:
        headers = {"dyte-signature" if legacy else "rtk-signature": endpoint.sign(body), "rtk-uuid": "d-1"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = endpoint.post(body, headers)
        status = expected_status(body, headers, valid_signature=True)
        endpoint.expect(response, status)
        if status == 202:
            detail = endpoint.published[-1]
            assert detail.body.to_bytes() == body
            assert json.loads(response["body"])["bodySha256"] == hashlib.sha256(body).hexdigest()

    check()


def test_signatures_from_other_keys_or_other_bodies_are_refused(
    endpoint: Endpoint, other_signer: WebhookSigner
) -> None:
    @HOSTILE
    @given(
        body=hostile_bodies(),
        forgery=st.sampled_from(["other_key", "other_body", "flipped_bit", "truncated"]),
    )
    def check(body: bytes, forgery: str) -> None:
        if forgery == "other_key":
            signature = other_signer.sign(body)
        elif forgery == "other_body":
            signature = endpoint.signer.sign(body + b" ")
        else:
            raw = bytearray(base64.b64decode(endpoint.signer.sign(body)))
            if forgery == "flipped_bit":
                raw[len(raw) // 2] ^= 0x01
            else:
                raw = raw[:-1]
            signature = base64.b64encode(bytes(raw)).decode()
        headers = {"Content-Type": "application/json", "rtk-signature": signature}
        before = len(endpoint.published)
        endpoint.expect(endpoint.post(body, headers), expected_status(body, headers, valid_signature=False))
        assert len(endpoint.published) == before

    check()


def test_a_bad_rtk_signature_is_not_rescued_by_a_good_legacy_one(endpoint: Endpoint) -> None:
    body = SAMPLES[0]
    headers = {"rtk-signature": base64.b64encode(b"x" * 256).decode(), "dyte-signature": endpoint.sign(body)}
    endpoint.expect(endpoint.post(body, headers), 401)


def test_replays_of_a_valid_body_land_on_the_same_key(endpoint: Endpoint) -> None:
    """No timestamp is signed, so a replay verifies; it is accepted and overwrites the same object."""
    from shared.session.intake import raw_event_key

    @HOSTILE
    @given(body=st.sampled_from(SAMPLES), times=st.integers(2, 4))
    def check(body: bytes, times: int) -> None:
        signature = endpoint.sign(body)
        keys = set()
        for attempt in range(times):
            headers = {
                "Content-Type": "application/json",
                "rtk-signature": signature,
                "rtk-uuid": f"r-{attempt}",
            }
            endpoint.expect(endpoint.post(body, headers), 202)
            keys.add(raw_event_key(endpoint.published[-1]))
        assert len(keys) == 1

    check()


def test_wrong_routes_and_bad_encodings(endpoint: Endpoint) -> None:
    @HOSTILE
    @given(
        method=st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"]),
        path=st.one_of(st.just("/webhooks/realtimekit"), st.text(max_size=60).map(lambda p: "/" + p)),
        body_b64=st.one_of(st.just(None), st.text(max_size=50)),
    )
    def check(method: str, path: str, body_b64: str | None) -> None:
        body = SAMPLES[0]
        headers = {"Content-Type": "application/json", "rtk-signature": endpoint.sign(body)}
        overrides: dict[str, Any] = {"httpMethod": method, "path": path, "resource": path}
        if body_b64 is not None:
            overrides["body"] = body_b64
        response = endpoint.post(body, headers, overrides)
        routed = method == "POST" and path == "/webhooks/realtimekit"
        if not routed:
            endpoint.expect(response, 404)
            return
        if body_b64 is None:
            endpoint.expect(response, 202)
            return
        try:
            decoded: bytes | None = base64.b64decode(body_b64, validate=True)
        except ValueError:
            decoded = None
        if decoded is None:
            endpoint.expect(response, 400)
        else:  # valid base64 of other bytes: the signature no longer matches
            endpoint.expect(response, 401 if decoded != body else 202)

    check()
