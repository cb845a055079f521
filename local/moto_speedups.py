"""Speed-ups for moto's server in local mode: the same answers, without work moto repeats.

Profiling ``python -m bench.load`` showed moto's server, not our functions, using most of local
mode's CPU, and most of that in work whose result cannot change within a request:

- **Routing.** Every request listed moto's package folder (an ``isdir`` per service).
- **SQS attributes.** ``Queue.attributes`` computes every attribute, counting the queue's messages
  three times. moto asked for it once per message received (to read the retention period), once per
  message sent (to read ``ContentBasedDeduplication``), and once per attribute name in a
  ``GetQueueAttributes`` call. With a backlog of n messages, receiving it cost O(n²).
- **EventBridge input transformers.** Every event built a new JSONPath parser (its lexer and parser
  tables) for every input path of every matching rule.
- **DynamoDB update expressions.** Every UpdateItem tokenized and parsed its expression again;
  the functions send a handful of distinct ones. moto's validator deep-copies the parsed tree
  before it works on it, so one parse per expression string serves every call.
- **Action names.** Every request listed its response class's methods (``inspect.getmembers``) to
  check that the action is one of them: about 5% of the server's CPU. The list of a class cannot
  change while the server runs (every patch here is applied before the first request).
- **Flask's debug mode.** moto's server builds its per-service Flask apps with ``debug = True``, so
  every request body that Flask parsed as a form was wrapped in a debugging helper (about 2.5%).
  Off, an unexpected exception in moto is still a 500.
- **DynamoDB queries.** A query on a table's own key sorted every item of the table, then kept the
  partition's: O(table) per query where DynamoDB reads one partition. A query on an index sorted
  every item of the table too (then kept the index partition's): it now sorts only the items of
  that partition. And sorts compare the keys' values, not moto's key objects (whose comparison
  recomputes both values each time): 40,000 items took 5 s to sort.

- **JSON responses.** moto's serializer for the JSON protocols (DynamoDB, SQS, EventBridge)
  asked, for every member of every structure of a response, which of up to a dozen spellings of
  the member's name the value has, building seven alias providers per member to list them. For a
  plain ``dict`` the list depends only on the member, so it is worked out once per member. Alone,
  it cut about a third of the app's CPU for local mode's calls (measured without waitress);
  together with the thin WSGI path (``local.moto_wsgi``), the server's CPU per webhook fell by 28%
  (``bench.moto_server``, median of four alternating rounds: 65.3 to 46.9 ms).

Two patches are about correctness, not speed: moto's server answers requests on many threads, and
neither its DynamoDB nor its SQS receive is thread-safe. Two concurrent ``ADD``s to one item could
lose one, and a conditional write could pass a condition another thread was about to break:
DynamoDB applies each item write atomically; so does the stand-in now, by handling one DynamoDB
request at a time. Two concurrent receives of one queue could both take the same message, and a
message sent while another was deleted could be lost: SQS does neither; the stand-in now changes a
queue's messages one request at a time (a long poll lets go while it waits). They are CPU-bound
under one GIL anyway, so this costs no throughput.

Each speed-up below computes exactly what moto computed, from the same state; the test suite, which
runs every local-mode flow on them, is the check; for the JSON serializer, ``verify`` (the server's
``MEETING_VAULT_MOTO_VERIFY``) also serializes every response with moto's own code and fails the
request on a different body. They apply to the moto version ``uv.lock`` pins;
any name that is missing (another moto) leaves moto as it is.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

_local = threading.local()


def apply(skip: frozenset[str] = frozenset(), *, verify: bool = False) -> list[str]:
    """Apply every patch that fits the installed moto, but those named in ``skip``; returns the
    names of those applied."""
    patches: tuple[tuple[str, Callable[[], None]], ...] = (
        ("routing", _routing),
        ("action-names", _action_names),
        ("no-flask-debug", _no_flask_debug),
        ("sqs-attributes", _sqs_attributes),
        ("jsonpath", _jsonpath),
        ("dynamodb-query", _dynamodb_query),
        ("dynamodb-update-parse", _dynamodb_update_parse),
        ("dynamodb-atomic", _dynamodb_atomic),
        ("sqs-atomic", _sqs_atomic),
        ("json-serializer", functools.partial(_json_serializer, verify)),
    )
    return _apply_each([(name, patch) for name, patch in patches if name not in skip])


def _apply_each(patches: list[tuple[str, Callable[[], None]]]) -> list[str]:
    """Each patch in turn; one that does not fit the installed moto leaves moto as it is."""
    applied = []
    for name, patch in patches:
        try:
            patch()
        except (AttributeError, ImportError, TypeError, ValueError):
            continue
        applied.append(name)
    return applied


def _routing() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)


def _action_names() -> None:
    from moto.core import responses

    names_of = responses.method_names_from_class
    if names_of.__module__ != "moto.core.utils":
        raise TypeError("another moto, or patched already")

    @functools.cache
    def cached(clazz: object) -> frozenset[str]:
        return frozenset(names_of(clazz))

    responses.method_names_from_class = cached  # type: ignore[assignment]


def _no_flask_debug() -> None:
    from moto.moto_server import werkzeug_app

    create = werkzeug_app.create_backend_app
    if create.__module__ != "moto.moto_server.werkzeug_app":
        raise TypeError("another moto, or patched already")

    def create_backend_app(service: Any) -> Any:
        app = create(service)
        app.debug = False
        return app

    werkzeug_app.create_backend_app = create_backend_app


def _sqs_attributes() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import Queue, SQSBackend

    full = Queue.attributes.fget  # type: ignore[attr-defined]
    assert full is not None

    class SendingAttributes(dict[str, Any]):
        """What sending reads (``.get("ContentBasedDeduplication")``), without counting the
        queue's messages; anything else it might read is computed in full."""

        def __init__(self, queue: Queue) -> None:
            super().__init__()
            self._queue = queue

        def _full(self) -> dict[str, Any]:
            return full(self._queue)

        def get(self, name: str, default: Any = None) -> Any:
            if name != "ContentBasedDeduplication":
                return self._full().get(name, default)
            if not self._queue.fifo_queue:  # moto lists FIFO attributes for FIFO queues only
                return default
            value = getattr(self._queue, "content_based_deduplication", False)
            return str(value).lower() if isinstance(value, bool) else value

        def __getitem__(self, name: str) -> Any:
            return self._full()[name]

        def __contains__(self, name: object) -> bool:
            return name in self._full()

        def __iter__(self) -> Any:
            return iter(self._full())

        def __len__(self) -> int:
            return len(self._full())

        def items(self) -> Any:
            return self._full().items()

    def attributes(queue: Queue) -> dict[str, Any]:
        if getattr(_local, "sending", False):
            return SendingAttributes(queue)
        memo: dict[int, dict[str, Any]] | None = getattr(_local, "memo", None)
        if memo is None:
            return full(queue)
        if id(queue) not in memo:
            memo[id(queue)] = full(queue)
        return memo[id(queue)]

    def memoized(method: Callable[..., Any]) -> Callable[..., Any]:
        """During one call, every read of a queue's attributes shares one computation."""

        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outer = getattr(_local, "memo", None)
            _local.memo = {} if outer is None else outer
            try:
                return method(*args, **kwargs)
            finally:
                _local.memo = outer

        return wrapper

    def sending(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outer = getattr(_local, "sending", False)
            _local.sending = True
            try:
                return method(*args, **kwargs)
            finally:
                _local.sending = outer

        return wrapper

    original_retention = SQSBackend.is_message_valid_based_on_retention_period
    if list(inspect.signature(original_retention).parameters) != ["self", "queue_name", "message"]:
        raise TypeError("another moto")

    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Any) -> bool:
        # moto: get_queue_attributes(queue_name, ["MessageRetentionPeriod"]), i.e. every attribute
        queue: Any = self.get_queue(queue_name)
        retention_period = queue.message_retention_period
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.get_queue_attributes = memoized(SQSBackend.get_queue_attributes)  # type: ignore[method-assign]
    SQSBackend.send_message = sending(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def _jsonpath() -> None:
    import jsonpath_ng.ext

    # moto's EventTemplateParser imports ``parse`` from this module at each call. A parsed path is
    # not changed by ``find``, so one per distinct path string is enough.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


# DynamoDB actions that change no item; any other request moves the write count on
# that ``_dynamodb_query`` keeps.
_DYNAMODB_READS = frozenset(
    {
        "GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan", "DescribeTable", "ListTables",
        "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups", "DescribeEndpoints",
        "DescribeLimits",
    }
)  # fmt: skip


def _dynamodb_query() -> None:
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_query = Table.query
    signature = inspect.signature(original_query)
    if not {"index_name", "hash_key", "hash_key_conditions"} <= set(signature.parameters):
        raise TypeError("another moto")
    if "x.attrs[key] for key in attrs_to_sort_by" not in inspect.getsource(Table.sorted_items):
        raise TypeError("another moto: sorted_items sorts by something else")

    # moto sorts by DynamoType, whose comparisons compare ``cast_value`` (computed again at every
    # comparison). A key attribute has one type (its attribute definition), so sorting by the cast
    # values themselves gives the same order, without a Python-level comparison per step.
    def native(value: Any) -> Any:
        return value.value if value.type == "S" else value.cast_value  # a string's cast value is itself

    def table_order(item: Any) -> Any:
        return (native(item.hash_key), native(item.range_key)) if item.range_key else native(item.hash_key)

    # What index queries work out (which items hold which value of an attribute; a partition's items
    # in order), per table: kept only while no DynamoDB request that may write has run since (a
    # write count that every such request moves on, before and after, whether it succeeded or not).
    writes = [0]
    original_call_action = DynamoHandler.call_action

    @functools.wraps(original_call_action)
    def call_action(self: DynamoHandler) -> Any:
        try:
            action = str(self._get_action() or "").rsplit(".", 1)[-1]
        except Exception:  # noqa: BLE001 - unknown: counted as a write
            action = ""
        if action in _DYNAMODB_READS:
            return original_call_action(self)
        writes[0] += 1
        try:
            return original_call_action(self)
        finally:
            writes[0] += 1

    def memo(self: Table) -> dict[Any, Any]:
        kept = self.__dict__.get("_meeting_vault_memo")
        if kept is None or kept[0] != writes[0]:
            kept = (writes[0], {})
            self.__dict__["_meeting_vault_memo"] = kept
        found: dict[Any, Any] = kept[1]
        return found

    def holding(self: Table, name: str) -> dict[Any, list[Any]]:
        values: dict[Any, list[Any]] | None = memo(self).get(("values", name))
        if values is None:
            values = {}
            for item in every_item(self):
                value = item.attrs.get(name)
                if value:
                    values.setdefault(value, []).append(item)
            memo(self)[("values", name)] = values
        return values

    def all_items(self: Table) -> list[Any]:
        scope = getattr(_local, "scope", None)
        items: list[Any] = []
        if scope is not None and scope[0] is self and scope[1] == "partition":
            # moto: every item of the table, sorted by (hash, range), then those of this hash key.
            # Sorted the same way, one partition's items are that list's items of this hash key.
            hash_set = self.items.get(scope[2]) if scope[2] in self.items else None
            if hash_set is None:
                return []
            items = list(hash_set.values()) if self.range_key_attr else [hash_set]
        elif scope is not None and scope[0] is self and scope[1] == "index":
            # moto keeps, of every item, those whose index hash attributes equal the query's (its
            # loop tests each item it is given again, the same way).
            conditions = scope[2]
            found = memo(self).get(("index", conditions))
            if found is None:
                name, expected = conditions[0]
                found = sorted(
                    (
                        item
                        for item in holding(self, name).get(expected, [])
                        if all((value := item.attrs.get(n)) and value == e for n, e in conditions[1:])
                    ),
                    key=table_order,
                )
                memo(self)[("index", conditions)] = found
            return list(found)
        else:
            items = every_item(self)
        return sorted(items, key=table_order)

    def every_item(self: Table) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(hash_set)
        return items

    def sorted_items(
        self: Table, hash_key_attrs: list[str], range_key_attrs: list[Any], items: list[Any]
    ) -> Any:
        attrs = tuple(self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs))
        # The same items in the same order, sorted by the same attributes, with no write since: the
        # same result (an index query's page after page).
        seen = ("sorted", attrs, tuple(map(id, items)))
        order = memo(self).get(seen)
        if order is None:
            items.sort(key=lambda x: tuple([native(x.attrs[key]) for key in attrs]))
            memo(self)[seen] = list(items)
        else:
            items[:] = order
        return items

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name"):
            conditions = bound.arguments.get("hash_key_conditions")
            _local.scope = (self, "index", tuple(conditions)) if conditions else None
        elif hash_key is not None:
            _local.scope = (self, "partition", hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _local.scope = None

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _dynamodb_atomic() -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _sqs_atomic() -> None:
    """A queue's messages change one request at a time. moto's ReceiveMessage checks that a message
    is visible, then marks it received, so two concurrent receives could both take it; its
    DeleteMessage rebuilds the queue's message list and puts the new list in place, so a message
    sent meanwhile (appended to the old list) was lost, and a message another delete removed
    meanwhile came back. Both seen with two consumer environments on a 2,000-webhook run (two
    bodies never archived, nine archived twice); the second could happen with one, as a webhook
    arrives while its queue's consumer deletes a batch. SQS hides a received message from every
    other receiver and loses no sent message. A long poll lets go while it waits."""
    from moto.sqs.models import Queue, SQSBackend

    lock = threading.RLock()  # a receive may move a message to its dead-letter queue (add_message)
    original_receive = SQSBackend.receive_message
    original_wait = Queue.wait_for_messages
    original_add = Queue.add_message
    original_delete = Queue.delete_message

    @functools.wraps(original_receive)
    def receive_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        with lock:
            _local.receiving = True
            try:
                return original_receive(self, *args, **kwargs)
            finally:
                _local.receiving = False

    @functools.wraps(original_wait)
    def wait_for_messages(self: Queue, timeout: int) -> None:
        if not getattr(_local, "receiving", False):
            return original_wait(self, timeout)
        lock.release()
        try:
            return original_wait(self, timeout)
        finally:
            lock.acquire()

    @functools.wraps(original_add)
    def add_message(self: Queue, message: Any) -> None:
        with lock:
            return original_add(self, message)

    @functools.wraps(original_delete)
    def delete_message(self: Queue, receipt_handle: str) -> None:
        with lock:
            return original_delete(self, receipt_handle)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]
    Queue.add_message = add_message  # type: ignore[method-assign]
    Queue.delete_message = delete_message  # type: ignore[method-assign]


def _dynamodb_update_parse() -> None:
    from moto.dynamodb.parsing import expressions
    from moto.dynamodb.parsing.validators import Validator

    if "deepcopy(expression)" not in inspect.getsource(Validator.__init__):
        raise TypeError("another moto: the validator may change the parsed tree")
    parser: Any = getattr(expressions, "UpdateExpressionParser")  # noqa: B009 - untyped in moto
    parse: Any = functools.lru_cache(maxsize=256)(parser.make.__func__)
    parser.make = classmethod(parse)


# The sources of what ``_json_serializer`` computes again (moto 5.2.5): another version of any of
# them leaves moto's serializer as it is.
_JSON_SERIALIZER_SOURCES = "9c2557f7572ac622ffb2e06953e2a7eb98fac387066dd17b52d20ca83d5b74d3"


def _json_serializer_sources() -> str:
    import hashlib

    from moto.core import serialize, utils

    base, json_base = serialize.ResponseSerializer, serialize.BaseJSONSerializer
    parts: list[Any] = [
        base._serialize,
        base._default_serialize,
        base._serialize_type_structure,
        base._serialize_structure_member,
        base.get_value,
        base.get_serialized_name,
        base._serialize_result,
        base._serialize_type_integer,
        base._serialize_type_float,
        json_base._serialize_type_structure,
        json_base._serialize_type_list,
        json_base._serialize_type_map,
        json_base._serialize_type_string,
        serialize.AttributePicker,
        serialize.XFormedAttributePicker,
        *serialize.DEFAULT_ALIAS_PROVIDERS,
        utils.get_value,
        utils._get_value_for_key,
    ]
    text = "\n".join(inspect.getsource(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_serializer(verify: bool) -> None:
    """moto's serializer for the JSON protocols (DynamoDB, SQS, EventBridge, Secrets Manager) walks
    the botocore shape of a response and, for every member of every structure, asks an attribute
    picker which of up to a dozen spellings of the member's name the value has: seven alias
    providers, each built per member, and ``xform_name`` of each alias. A Query's 25 items of 5
    attributes each had 10 members per value to look up. For a structure given as a plain ``dict``,
    the spellings depend only on the member and its structure (the providers look at the object's
    class name and ``Meta``; a ``dict`` has none), so they are worked out once per member and kept
    on the structure's shape; the walk then does what moto's does, type by type, and hands anything
    else (an object, a timestamp, a blob, a document) to moto's own methods. Any exception, and the
    walk is done again by moto's serializer alone. ``verify``: every response is also serialized by
    moto's serializer, and a different body is an error."""
    from enum import Enum

    from moto.core import serialize

    if _json_serializer_sources() != _JSON_SERIALIZER_SOURCES:
        raise TypeError("another moto: the serializer may compute something else")
    cls = serialize.JSONSerializer
    base, json_base = serialize.ResponseSerializer, serialize.BaseJSONSerializer
    for name, owner in (
        ("_serialize", base),
        ("_default_serialize", base),
        ("_serialize_structure_member", base),
        ("get_value", base),
        ("get_serialized_name", base),
        ("_serialize_result", base),
        ("_serialize_type_integer", base),
        ("_serialize_type_long", base),
        ("_serialize_type_float", base),
        ("_serialize_type_double", base),
        ("_serialize_type_structure", json_base),
        ("_serialize_type_list", json_base),
        ("_serialize_type_map", json_base),
        ("_serialize_type_string", json_base),
    ):
        if getattr(cls, name) is not owner.__dict__[name]:
            raise TypeError(f"another moto: JSONSerializer.{name} is not {owner.__name__}'s")
    if hasattr(cls, "_serialize_type_boolean") or cls.MAP_TYPE is not dict:
        raise TypeError("another moto: JSONSerializer serializes booleans or maps differently")
    picker_cls = serialize.XFormedAttributePicker
    providers = list(serialize.DEFAULT_ALIAS_PROVIDERS)
    original = cls._serialize_result
    plan_attr = "_meeting_vault_members"

    def members(shape: Any, picker: Any) -> list[tuple[str, Any, tuple[str, ...] | None]]:
        """(name, shape, the keys moto's picker tries on a dict, in order; None: ask the picker)."""
        plan: list[tuple[str, Any, tuple[str, ...] | None]] | None = shape.__dict__.get(plan_attr)
        if plan is None:
            plan = []
            for key, member in shape.members.items():
                member.parent = shape
                context = serialize.AttributePickerContext(obj={}, key=key, shape=member)
                keys: tuple[str, ...] | None = tuple(picker.get_possible_keys(context))
                if not all(isinstance(k, str) and "." not in k for k in keys or ()):
                    keys = None  # a dotted key is a path to moto's get_value
                plan.append((key, member, keys))
            shape.__dict__[plan_attr] = plan
        return plan

    def walk(self: Any, serialized: dict[str, Any], value: Any, shape: Any, key: str) -> None:
        """What ``self._serialize(serialized, value, shape, key)`` does."""
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                serialized[key] = value
                return
            if value is None:
                return
            if type(value) is not dict:
                self._serialize(serialized, value, shape, key)
                return
            wrapper: dict[str, Any] = {} if key else serialized
            picker = self._value_picker
            for member_key, member, keys in members(shape, picker):
                member.parent = shape
                if keys is None:
                    member_value = self.get_value(value, member_key, member)
                else:
                    member_value = None
                    for candidate in keys:
                        if candidate in value:
                            member_value = value[candidate]
                            break
                if member_value is not None:
                    walk(self, wrapper, member_value, member, member_key)
            if key:
                serialized[shape.serialization.get("name", key)] = wrapper
        elif kind == "list":
            member = shape.member
            item_key = member.name
            items = []
            for item in value:
                item_wrapper: dict[str, Any] = {}
                walk(self, item_wrapper, item, member, item_key)
                items.append(item_wrapper.get(item_key, item))
            serialized[shape.serialization.get("name", key)] = items
        elif kind == "map":
            if type(value) is not dict:
                self._serialize(serialized, value, shape, key)
                return
            entries: dict[str, Any] = {}
            serialized[shape.serialization.get("name", key)] = entries
            value_shape = shape.value
            for entry_key, entry_value in value.items():
                walk(self, entries, entry_value, value_shape, entry_key)
        elif kind == "string":
            if isinstance(value, Enum):
                value = value.value
            serialized[shape.serialization.get("name", key)] = (
                str(value) if value not in [None, {}, []] else value
            )
        elif kind in ("integer", "long"):
            serialized[shape.serialization.get("name", key)] = int(value)
        elif kind in ("float", "double"):
            serialized[shape.serialization.get("name", key)] = float(value)
        elif kind == "boolean":
            serialized[shape.serialization.get("name", key)] = value
        else:
            self._serialize(serialized, value, shape, key)

    def moto_walk(self: Any, result: Any, shape: Any) -> dict[str, Any]:
        serialized: dict[str, Any] = self.MAP_TYPE()
        self.path = [self.operation_name]
        self._serialize(serialized, result, shape, "")
        return serialized

    @functools.wraps(original)
    def _serialize_result(self: Any, resp: Any, result: Any) -> Any:
        picker = self._value_picker
        shape = self.operation_model.output_shape
        if (
            type(self) is not cls
            or type(picker) is not picker_cls
            or picker.response_transformers
            or list(picker.alias_providers) != providers
            or shape is None
        ):
            return original(self, resp, result)
        serialized: dict[str, Any] = self.MAP_TYPE()
        try:
            walk(self, serialized, result, shape, "")
        except Exception:  # noqa: BLE001 - moto's walk answers (or raises) instead
            serialized = moto_walk(self, result, shape)
        if verify:
            expected = self._serialize_body(moto_walk(self, result, shape))
            if self._serialize_body(serialized) != expected:
                raise AssertionError(f"{self.operation_name}: the JSON serializer's speed-up differs")
        return self._serialized_result_to_response(resp, result, shape, serialized)

    cls._serialize_result = _serialize_result  # type: ignore[method-assign]


def apply_atomicity() -> list[str]:
    """Only the two patches about correctness (DynamoDB's per-item atomicity, SQS's one receiver
    per message), for in-process moto: tests whose handlers write from several threads, as the
    sessions consumer does with a batch's records."""
    return _apply_each([("dynamodb-atomic", _dynamodb_atomic), ("sqs-atomic", _sqs_atomic)])
