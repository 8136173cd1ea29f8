"""The fault proxy makes moto behave like AWS where our tests need it, and injects faults."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from tests.support.fault_proxy import FaultProxy, entry_size, fault_proxy
from tests.support.moto_server import moto_server
from tests.support.world import client as world_client

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(service: str, url: str, attempts: int = 1) -> Any:
    return world_client(service, url, attempts=attempts)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def module_proxy(upstream: str) -> Iterator[FaultProxy]:
    with fault_proxy(upstream, seed=7) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> FaultProxy:
    module_proxy.reset()
    return module_proxy


@pytest.fixture
def sqs(proxy: FaultProxy) -> Any:
    return client("sqs", proxy.url)


@pytest.fixture
def events(proxy: FaultProxy) -> Any:
    return client("events", proxy.url)


@pytest.fixture
def direct_sqs(upstream: str) -> Any:
    """Moto itself, bypassing every proxy rule: the ground truth."""
    return client("sqs", upstream)


def new_queue(direct_sqs: Any) -> str:
    return direct_sqs.create_queue(QueueName="q-" + uuid.uuid4().hex[:10])["QueueUrl"]


@pytest.fixture
def bus(upstream: str, direct_sqs: Any) -> dict[str, str]:
    """A bus whose every event lands in a capture queue."""
    direct_events = client("events", upstream)
    name = "bus-" + uuid.uuid4().hex[:10]
    direct_events.create_event_bus(Name=name)
    capture = new_queue(direct_sqs)
    arn = direct_sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])
    direct_events.put_rule(
        Name="all", EventBusName=name, EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    direct_events.put_targets(
        Rule="all",
        EventBusName=name,
        Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}],
    )
    return {"name": name, "capture": capture}


def captured(direct_sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        messages = direct_sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return found
        found.extend(json.loads(m["Body"]) for m in messages)


def entry(bus: dict[str, str], source: str = "com.example.shop", **detail: Any) -> dict[str, Any]:
    return {
        "EventBusName": bus["name"],
        "Source": source,
        "DetailType": "注文確定",
        "Detail": json.dumps(detail or {"n": 1}, ensure_ascii=False),
    }


def visible_ids(direct_sqs: Any, queue_url: str) -> set[str]:
    """Message ids moto still holds, peeked with VisibilityTimeout=0."""
    messages = direct_sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return {m["MessageId"] for m in messages}


def test_forwards_everything_else_and_counts_calls(proxy: FaultProxy, sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fwd-" + uuid.uuid4().hex[:8])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="héllo")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "héllo"
    assert proxy.calls == {"CreateQueue": 1, "SendMessage": 1, "ReceiveMessage": 1}
    assert proxy.mutating_calls() == 1


def test_client_connections_are_kept_alive(proxy: FaultProxy) -> None:
    host, port = proxy.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }
    for _attempt in range(3):
        conn.request("POST", "/", body=b"{}", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") != "close"
        response.read()
        sock = conn.sock
    assert sock is not None and conn.sock is sock
    conn.close()
    assert proxy.calls["ListQueues"] == 3


def test_latency_per_action(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    proxy.set_latency(0.3, action="GetQueueAttributes")
    started = time.monotonic()
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    slow = time.monotonic() - started
    started = time.monotonic()
    sqs.list_queues()
    fast = time.monotonic() - started
    assert slow >= 0.3 > fast


def test_aws_sources_are_refused_per_entry(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    answer = events.put_events(
        Entries=[entry(bus, source="aws.s3", n=1), entry(bus, source="com.example", n=2)]
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert "EventId" in answer["Entries"][1]
    assert [e["detail"] for e in captured(direct_sqs, bus["capture"])] == [{"n": 2}]

    proxy.refuse_aws_sources = False  # moto itself takes aws.* sources
    answer = events.put_events(Entries=[entry(bus, source="aws.s3", n=3)])
    assert answer["FailedEntryCount"] == 0
    assert [e["source"] for e in captured(direct_sqs, bus["capture"])] == ["aws.s3"]


def test_detail_must_be_a_json_object(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    entries = [entry(bus), entry(bus), entry(bus, n=3)]
    entries[0]["Detail"], entries[1]["Detail"] = "[1, 2]", "{not json"
    answer = events.put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 2
    assert [e.get("ErrorCode") for e in answer["Entries"]] == [
        "MalformedDetail",
        "MalformedDetail",
        None,
    ]
    assert [e["detail"] for e in captured(direct_sqs, bus["capture"])] == [{"n": 3}]


def test_entry_faults_by_predicate_and_count_merge_by_index(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    rule = proxy.fail_entries("ThrottlingException", match=lambda e: "boom" in e["Detail"], count=2)
    entries = [entry(bus, n=0), entry(bus, boom=1), entry(bus, n=2)]
    codes = []
    for _attempt in range(3):
        answer = events.put_events(Entries=entries)
        codes.append([e.get("ErrorCode") for e in answer["Entries"]])
        assert answer["FailedEntryCount"] == sum(c is not None for c in codes[-1])
    assert codes == [
        [None, "ThrottlingException", None],
        [None, "ThrottlingException", None],
        [None, None, None],
    ]
    assert rule.fired == 2
    delivered = [e["detail"] for e in captured(direct_sqs, bus["capture"])]
    assert sorted(json.dumps(d) for d in delivered) == sorted(
        [json.dumps({"n": 0})] * 3 + [json.dumps({"n": 2})] * 3 + [json.dumps({"boom": 1})]
    )


def test_entry_faults_by_rate_are_seeded(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    proxy.fail_entries("InternalFailure", rate=0.3)
    failed = accepted = 0
    for call in range(6):
        answer = events.put_events(Entries=[entry(bus, n=call * 10 + i) for i in range(10)])
        failed += answer["FailedEntryCount"]
        accepted += sum("EventId" in e for e in answer["Entries"])
    assert 0 < failed < 60 and failed + accepted == 60
    assert len(captured(direct_sqs, bus["capture"])) == accepted == proxy.accepted_count

    proxy.reset()  # same seed, same draws
    proxy.fail_entries("InternalFailure", rate=0.3)
    again = sum(
        events.put_events(Entries=[entry(bus, n=i) for i in range(10)])["FailedEntryCount"]
        for _attempt in range(6)
    )
    assert again == failed


def test_put_events_limits(proxy: FaultProxy, events: Any, bus: dict[str, str]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        events.put_events(Entries=[entry(bus, n=i) for i in range(11)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"

    def sized(total: int, with_time: bool = False) -> dict[str, Any]:
        item = entry(bus, pad="")
        if with_time:
            item["Time"] = 1_700_000_000
        item["Detail"] = json.dumps({"pad": "x" * (total - entry_size(item))})
        assert entry_size(item) == total
        return item

    timed = sized(262_144, with_time=True)
    untimed = {k: v for k, v in timed.items() if k != "Time"}  # 14 bytes less
    assert events.put_events(Entries=[sized(262_143)])["FailedEntryCount"] == 0
    assert events.put_events(Entries=[untimed])["FailedEntryCount"] == 0
    for too_big in ([sized(262_144)], [timed], [sized(200_000), sized(62_144)]):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            events.put_events(Entries=too_big)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert proxy.accepted_count == 2

    proxy.max_request_bytes = 1_048_576
    assert events.put_events(Entries=[sized(262_144)])["FailedEntryCount"] == 0


@pytest.mark.parametrize(
    ("action", "code", "status"),
    [
        ("PutEvents", "ThrottlingException", 400),
        ("ReceiveMessage", "InternalFailure", 500),
        ("DeleteMessageBatch", "ServiceUnavailable", 503),
    ],
)
def test_whole_call_faults(
    proxy: FaultProxy,
    events: Any,
    sqs: Any,
    direct_sqs: Any,
    bus: dict[str, str],
    action: str,
    code: str,
    status: int,
) -> None:
    url = new_queue(direct_sqs)
    calls = {
        "PutEvents": lambda: events.put_events(Entries=[entry(bus)]),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=url),
        "DeleteMessageBatch": lambda: sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": "unknown"}]
        ),
    }
    proxy.fail_calls(action, code, count=1)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        calls[action]()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    calls[action]()  # the fault was used up: moto answers again
    assert proxy.calls[action] == 2


def test_botocore_retries_injected_throttling(
    proxy: FaultProxy, direct_sqs: Any, bus: dict[str, str]
) -> None:
    proxy.fail_calls("PutEvents", "ThrottlingException", count=2)
    patient = client("events", proxy.url, attempts=3)
    assert patient.put_events(Entries=[entry(bus)])["FailedEntryCount"] == 0
    assert proxy.calls["PutEvents"] == 3
    assert len(captured(direct_sqs, bus["capture"])) == 1


def test_ambiguous_put_events_took_effect(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    proxy.drop_responses("PutEvents", count=1)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        events.put_events(Entries=[entry(bus, n=42)])
    assert [e["detail"] for e in captured(direct_sqs, bus["capture"])] == [{"n": 42}]
    assert events.put_events(Entries=[entry(bus)])["FailedEntryCount"] == 0


def test_ambiguous_delete_took_effect(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    direct_sqs.send_message(QueueUrl=url, MessageBody="m")
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    proxy.drop_responses("DeleteMessageBatch", count=1)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}]
        )
    assert visible_ids(direct_sqs, url) == set()


def test_delete_batch_failed_entries_merge(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    for n in range(3):
        direct_sqs.send_message(QueueUrl=url, MessageBody=str(n))
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 3
    proxy.fail_delete_entries(match=lambda e: e["Id"] == "1")
    answer = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ],
    )
    assert [s["Id"] for s in answer["Successful"]] == ["0", "2"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [
        ("1", "InternalError", False)
    ]
    direct_sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=messages[1]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert visible_ids(direct_sqs, url) == {messages[1]["MessageId"]}


def test_empty_receives(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    direct_sqs.send_message(QueueUrl=url, MessageBody="m")
    proxy.empty_receives(count=2)
    bodies = [
        [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]
        for _attempt in range(3)
    ]
    assert bodies == [[], [], ["m"]]


def test_batch_strictness(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    direct_sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(2)]
    )
    handles = [
        m["ReceiptHandle"]
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    duplicate = [{"Id": "same", "ReceiptHandle": handle} for handle in handles]
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as raised:
        sqs.delete_message_batch(QueueUrl=url, Entries=duplicate)
    assert raised.value.response["Error"]["Code"] == (
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    )
    eleven = [
        {"Id": str(i), "ReceiptHandle": handles[0], "VisibilityTimeout": 0} for i in range(11)
    ]
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=eleven)

    proxy.check_batches = False  # moto itself takes both
    assert (
        len(sqs.change_message_visibility_batch(QueueUrl=url, Entries=eleven)["Successful"]) == 11
    )
    assert len(sqs.delete_message_batch(QueueUrl=url, Entries=duplicate)["Successful"]) == 2


def test_stale_receipt_handles_do_not_delete(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    message_id = direct_sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"]
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    latest = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    assert first["ReceiptHandle"] != latest["ReceiptHandle"]

    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    answer = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": first["ReceiptHandle"]}]
    )
    assert [s["Id"] for s in answer["Successful"]] == ["a"] and answer["Failed"] == []
    assert proxy.calls["DeleteMessageBatch"] == 1
    assert visible_ids(direct_sqs, url) == {message_id}

    proxy.stale_handles = False  # moto itself deletes with a stale handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert visible_ids(direct_sqs, url) == set()


def test_latest_receipt_handle_deletes(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    direct_sqs.send_message(QueueUrl=url, MessageBody="m")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    latest = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=latest["ReceiptHandle"])
    assert visible_ids(direct_sqs, url) == set()


def test_local_put_events_answering_records_and_counts(
    proxy: FaultProxy, events: Any, sqs: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    proxy.answer_put_events = True
    proxy.record_entries = True
    sent = [entry(bus, n=i) for i in range(3)] + [entry(bus, source="aws.s3")]
    answer = events.put_events(Entries=sent)
    assert answer["FailedEntryCount"] == 1
    assert len({e["EventId"] for e in answer["Entries"][:3]}) == 3
    assert proxy.accepted_count == 3
    assert proxy.accepted_entries == sent[:3]
    assert captured(direct_sqs, bus["capture"]) == []  # moto never saw them
    assert proxy.calls["PutEvents"] == 1


def test_counters_show_read_only_runs(proxy: FaultProxy, sqs: Any, direct_sqs: Any) -> None:
    url = new_queue(direct_sqs)
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert proxy.mutating_calls() == 0
    sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": "nope", "VisibilityTimeout": 0}]
    )
    assert proxy.mutating_calls() == 1


def test_reset_clears_faults_and_counters(
    proxy: FaultProxy, events: Any, bus: dict[str, str]
) -> None:
    proxy.fail_calls("PutEvents", "InternalFailure")
    proxy.refuse_aws_sources = False
    proxy.reset()
    assert proxy.calls == {} and proxy.refuse_aws_sources
    answer = events.put_events(Entries=[entry(bus, source="aws.s3")])
    assert answer["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"


def test_blank_slots_are_forwarded_but_answer_neither_way(
    proxy: FaultProxy, events: Any, direct_sqs: Any, bus: dict[str, str]
) -> None:
    proxy.blank_entries(match=lambda e: "blank" in e["Detail"])
    answer = events.put_events(Entries=[entry(bus, n=0), entry(bus, blank=1)])
    assert answer["Entries"][0].get("EventId") and answer["Entries"][1] == {}
    assert len(captured(direct_sqs, bus["capture"])) == 2  # the blank one was put too


def test_send_batches_over_the_byte_limit_are_refused(
    proxy: FaultProxy, sqs: Any, direct_sqs: Any
) -> None:
    url = new_queue(direct_sqs)
    big = [{"Id": str(i), "MessageBody": "x" * 100_000} for i in range(3)]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sqs.send_message_batch(QueueUrl=url, Entries=big)
    assert raised.value.response["Error"]["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert len(sqs.send_message_batch(QueueUrl=url, Entries=big[:2])["Successful"]) == 2
