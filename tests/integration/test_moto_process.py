"""moto's server as local mode runs it: a child process, behind waitress, with ``local.moto_speedups``.
The speed-ups must not change an answer: each behaviour they touch is checked here against what
SQS and DynamoDB do."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.moto_process import MotoProcess
from tests.support.moto_server import client


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoProcess]:
    process = MotoProcess("127.0.0.1").start()
    try:
        yield process
    finally:
        process.stop()


def create_indexed_table(ddb: Any, name: str, index: str, part: str, sort: tuple[str, str]) -> None:
    """A table keyed (pk, sk), strings, with one index keyed (``part``, ``sort``: name and type)."""
    definitions = {"pk": "S", "sk": "S", part: "S", sort[0]: sort[1]}
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in definitions.items()],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": part, "KeyType": "HASH"},
                    {"AttributeName": sort[0], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_a_taken_port_is_an_error_not_a_hang(moto: MotoProcess) -> None:
    with pytest.raises(OSError, match="did not start"):
        MotoProcess("127.0.0.1", moto.port).start()


def test_fifo_content_deduplication_still_drops_the_repeat(moto: MotoProcess) -> None:
    sqs = client(moto, "sqs")
    url = sqs.create_queue(
        QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="another body", MessageGroupId="g")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"] == {"ApproximateNumberOfMessages": "2"}


def test_queue_depths_and_receiving_count_every_kind_of_message(moto: MotoProcess) -> None:
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName="depths")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(received) == 2
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
            "MessageRetentionPeriod",
        ],
    )["Attributes"]
    assert attrs == {
        "ApproximateNumberOfMessages": "3",
        "ApproximateNumberOfMessagesNotVisible": "2",
        "ApproximateNumberOfMessagesDelayed": "1",
        "MessageRetentionPeriod": "345600",
    }
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(rest) == 3  # the delayed one is not yet visible
    assert sorted(m["Body"] for m in [*received, *rest]) == ["m0", "m1", "m2", "m3", "m4"]


def test_a_table_query_reads_its_partition_in_key_order(moto: MotoProcess) -> None:
    ddb = client(moto, "dynamodb")
    create_indexed_table(ddb, "records", "by-g", "g", ("sk", "S"))
    for pk in ("a", "b", "c"):
        for sk in ("3", "1", "2"):
            ddb.put_item(TableName="records", Item={"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": "all"}})

    def query(**kwargs: Any) -> list[tuple[str, str]]:
        items = ddb.query(TableName="records", **kwargs)["Items"]
        return [(i["pk"]["S"], i["sk"]["S"]) for i in items]

    values = {":p": {"S": "b"}}
    assert query(KeyConditionExpression="pk = :p", ExpressionAttributeValues=values) == [
        ("b", "1"),
        ("b", "2"),
        ("b", "3"),
    ]
    assert query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues=values, ScanIndexForward=False
    ) == [
        ("b", "3"),
        ("b", "2"),
        ("b", "1"),
    ]
    assert query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}}) == []
    by_index = query(
        IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "all"}}
    )
    assert len(by_index) == 9
    assert [sk for _, sk in by_index] == sorted(sk for _, sk in by_index)


def test_concurrent_adds_to_one_item_are_all_counted(moto: MotoProcess) -> None:
    """DynamoDB applies each UpdateItem atomically; moto's server, on many threads, could lose one."""
    ddb = client(moto, "dynamodb")
    ddb.create_table(
        TableName="counters",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    threads, adds = 8, 40

    def add() -> None:
        own = client(moto, "dynamodb")
        for _ in range(adds):
            own.update_item(
                TableName="counters",
                Key={"pk": {"S": "n"}},
                UpdateExpression="ADD v :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    workers = [threading.Thread(target=add) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    item = ddb.get_item(TableName="counters", Key={"pk": {"S": "n"}}, ConsistentRead=True)["Item"]
    assert item["v"] == {"N": str(threads * adds)}


def test_concurrent_receivers_never_get_the_same_message(moto: MotoProcess) -> None:
    """SQS hides a received message from every other receiver until its visibility timeout; moto's
    server, receiving on many threads, could hand one message to two of them (two consumer
    environments would then archive one body twice). Long polls and short ones, side by side."""
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName="shared-by-receivers", Attributes={"VisibilityTimeout": "300"})[
        "QueueUrl"
    ]
    messages = 600
    for start in range(0, messages, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    received: list[str] = []
    guard = threading.Lock()

    def receive(wait_seconds: int) -> None:
        own = client(moto, "sqs")
        while True:
            got = own.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
            bodies = [m["Body"] for m in got.get("Messages", [])]
            if not bodies:
                return
            with guard:
                received.extend(bodies)

    workers = [threading.Thread(target=receive, args=(i % 2,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(received) == len(set(received)), "a message was handed to two receivers"
    assert set(received) == {f"m{i}" for i in range(messages)}


def test_messages_sent_while_others_are_deleted_all_arrive_once(moto: MotoProcess) -> None:
    """SQS loses no message sent while receivers delete others; moto's DeleteMessage rebuilt the
    queue's list and put it in place, dropping a message appended meanwhile (and bringing back one
    another delete had removed). Senders and receivers that delete, side by side."""
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName="sent-while-deleting", Attributes={"VisibilityTimeout": "300"})[
        "QueueUrl"
    ]
    senders, batches = 4, 30
    sent = {f"s{n}-{b}-{i}" for n in range(senders) for b in range(batches) for i in range(10)}
    received: list[str] = []
    guard = threading.Lock()
    sending_done = threading.Event()

    def send(n: int) -> None:
        own = client(moto, "sqs")
        for b in range(batches):
            own.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"s{n}-{b}-{i}"} for i in range(10)]
            )

    def receive() -> None:
        own = client(moto, "sqs")
        while True:
            got = own.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = got.get("Messages", [])
            if not messages:
                if sending_done.is_set():
                    return
                continue
            with guard:
                received.extend(m["Body"] for m in messages)
            for m in messages:  # one at a time: as many deletes as possible beside the sends
                own.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    receivers = [threading.Thread(target=receive) for _ in range(4)]
    sending = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for worker in (*receivers, *sending):
        worker.start()
    for worker in sending:
        worker.join()
    sending_done.set()
    for worker in receivers:
        worker.join()
    assert len(received) == len(set(received)), "a message was received twice"
    assert set(received) == sent, f"{len(sent - set(received))} sent messages were lost"


def test_an_action_moto_lacks_is_a_server_error_and_the_next_request_is_answered(moto: MotoProcess) -> None:
    """The server's action names are listed once per class, and its Flask apps run without debug
    mode: an action moto does not have is still a 500 (not a hang or a dropped connection), and the
    actions it has still answer."""
    request = urllib.request.Request(
        moto.endpoint + "/",
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.NoSuchAction",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=10)
    assert failed.value.code == 500
    ddb = client(moto, "dynamodb")
    assert "TableNames" in ddb.list_tables()


def test_stopping_ends_the_child(moto: MotoProcess) -> None:
    other = MotoProcess("127.0.0.1").start()
    child = other._process
    assert child is not None
    assert child.poll() is None
    other.stop()
    assert child.poll() is not None


def test_an_index_query_reads_its_partition_in_index_order_page_by_page(moto: MotoProcess) -> None:
    """DynamoDB's order on an index: its sort key, then (for equal sort keys, which an index
    allows) the table's keys. Numbers sort as numbers. Pages continue where the last one ended."""
    import random

    ddb = client(moto, "dynamodb")
    create_indexed_table(ddb, "listing", "by-time", "part", ("at", "N"))
    rng = random.Random(7)
    rows = []
    for i in range(300):
        pk, sk = f"p{rng.randrange(40):02d}", f"s{i:03d}"
        part = rng.choice(["all", "all", "other"])
        at = rng.choice([5, 9, 10, 11, 100, 1000])  # ties, and 9 < 10 < 100 as numbers only
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "at": {"N": str(at)}}
        if rng.random() > 0.1:  # some items are not in the index at all
            item["part"] = {"S": part}
            rows.append((part, at, pk, sk))
        ddb.put_item(TableName="listing", Item=item)

    def query_all(forward: bool, low: int, high: int) -> list[tuple[int, str, str]]:
        got: list[tuple[int, str, str]] = []
        start: dict[str, Any] | None = None
        for _ in range(100):  # 300 items, 7 a page: a loop past this repeats pages
            page = ddb.query(
                TableName="listing",
                IndexName="by-time",
                KeyConditionExpression="part = :p AND #at BETWEEN :lo AND :hi",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={
                    ":p": {"S": "all"},
                    ":lo": {"N": str(low)},
                    ":hi": {"N": str(high)},
                },
                ScanIndexForward=forward,
                Limit=7,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            got += [(int(i["at"]["N"]), i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return got
        raise AssertionError(f"pages never ended; read {len(got)} items")

    expected = sorted((at, pk, sk) for part, at, pk, sk in rows if part == "all" and 9 <= at <= 100)
    assert expected
    assert len({at for at, _, _ in expected}) == 4
    assert query_all(True, 9, 100) == expected
    assert query_all(False, 9, 100) == expected[::-1]

    # Every kind of write shows in the next query: a new item, an item moved out of the partition
    # (an update of its index key), and a deleted one.
    _, at, pk, sk = next(row for row in rows if row[0] == "all" and row[1] == 10)
    ddb.put_item(
        TableName="listing",
        Item={"pk": {"S": "new"}, "sk": {"S": "s"}, "part": {"S": "all"}, "at": {"N": "10"}},
    )
    ddb.update_item(
        TableName="listing",
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="SET part = :o",
        ExpressionAttributeValues={":o": {"S": "other"}},
    )
    gone = expected[-1]
    ddb.delete_item(TableName="listing", Key={"pk": {"S": gone[1]}, "sk": {"S": gone[2]}})
    changed = sorted({*expected, (10, "new", "s")} - {(at, pk, sk), gone})
    assert query_all(True, 9, 100) == changed
    assert query_all(False, 9, 100) == changed[::-1]
