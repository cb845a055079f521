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
- **DynamoDB queries.** A query on a table's own key sorted every item of the table, then kept the
  partition's: O(table) per query where DynamoDB reads one partition.

One patch is about correctness, not speed: moto's server answers requests on many threads, and its
DynamoDB is not thread-safe (two concurrent ``ADD``s to one item could lose one, and a conditional
write could pass a condition another thread was about to break). DynamoDB applies each item write
atomically; so does the stand-in now, by handling one DynamoDB request at a time. They are
CPU-bound under one GIL anyway, so this costs no throughput.

Each speed-up below computes exactly what moto computed, from the same state; the test suite, which
runs every local-mode flow on them, is the check. They apply to the moto version ``uv.lock`` pins;
any name that is missing (another moto) leaves moto as it is.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

_local = threading.local()


def apply() -> list[str]:
    """Apply every patch that fits the installed moto; returns the names of those applied."""
    applied = []
    for name, patch in (
        ("routing", _routing),
        ("sqs-attributes", _sqs_attributes),
        ("jsonpath", _jsonpath),
        ("dynamodb-query", _dynamodb_query),
        ("dynamodb-update-parse", _dynamodb_update_parse),
        ("dynamodb-atomic", _dynamodb_atomic),
    ):
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


def _dynamodb_query() -> None:
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)
    if "index_name" not in signature.parameters or "hash_key" not in signature.parameters:
        raise TypeError("another moto")

    def all_items(self: Table) -> list[Any]:
        only = getattr(_local, "partition", None)
        if only is None or only[0] is not self:
            return original_all_items(self)
        # moto: every item of the table, sorted by (hash, range), then those of this hash key.
        # Sorted the same way, one partition's items are that list's items of this hash key.
        hash_set = self.items.get(only[1]) if only[1] in self.items else None
        if hash_set is None:
            return []
        items = list(hash_set.values()) if self.range_key_attr else [hash_set]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or hash_key is None:
            return original_query(self, *args, **kwargs)
        _local.partition = (self, hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _local.partition = None

    Table.all_items = all_items  # type: ignore[method-assign]
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


def _dynamodb_update_parse() -> None:
    from moto.dynamodb.parsing import expressions
    from moto.dynamodb.parsing.validators import Validator

    if "deepcopy(expression)" not in inspect.getsource(Validator.__init__):
        raise TypeError("another moto: the validator may change the parsed tree")
    parser: Any = getattr(expressions, "UpdateExpressionParser")  # noqa: B009 - untyped in moto
    parse: Any = functools.lru_cache(maxsize=256)(parser.make.__func__)
    parser.make = classmethod(parse)
