"""Each target sender against the moto server, through the fault proxy: what the target
received, read on the receiving side, and which deliveries each answer accepted or failed.

Senders use clients with a single attempt, so a fault reaches the sender as it would after
botocore's retries; the engine, not the sender, decides what happens next.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import AwsError, Clients
from ansible_collections.redrive.eventbridge.plugins.module_utils.delivery import (
    ACCEPTED,
    ALREADY_DELIVERED,
    Answer,
    BusSender,
    Delivery,
    Destination,
    Route,
    Target,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import (
    EntryOptions,
    build_entry,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import (
    CodeClass,
    Disposition,
    Failure,
    Kind,
    classify,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from ansible_collections.redrive.eventbridge.plugins.module_utils.targets import (
    FirehoseSender,
    KinesisSender,
    LambdaSender,
    LogsSender,
    SnsSender,
    SqsSender,
    StepFunctionsSender,
    delivery_token,
    sender_for,
    target_type,
)
from tests.support.events import ACCOUNT, REGION, custom_event, rule_arn
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import client as world_client

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
RULE = rule_arn("forward-orders", bus="orders")
OTHER_RULE = rule_arn("audit-orders", bus="orders")
MAX_REQUEST_BYTES = 262_144


def client(service: str, url: str, region: str = REGION) -> Any:
    return world_client(service, url, attempts=1, region=region)


@pytest.fixture(scope="module")
def module_proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=11) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> FaultProxy:
    module_proxy.reset()
    return module_proxy


@pytest.fixture
def clients(proxy: FaultProxy) -> Clients:
    """What a run has: per-region clients made on demand, all through the proxy."""
    return Clients(
        sqs=client("sqs", proxy.url),
        events=client("events", proxy.url),
        factory=lambda service, region: client(service, proxy.url, region or REGION),
    )


def name(base: str) -> str:
    return f"t{uuid.uuid4().hex[:8]}-{base}"


def deliveries(
    arn: str,
    count: int,
    settings: Optional[dict[str, Any]] = None,
    rule: str = RULE,
    events: Optional[list[dict[str, Any]]] = None,
) -> list[Delivery]:
    """DLQ records of `count` custom events for the target at `arn`, each delivering the
    event as EventBridge would without input settings: the DLQ body unchanged."""
    kind, type_name = target_type(arn)
    if kind is None:
        raise ValueError(f"unsupported target {arn}")
    target = Target(arn, type_name, kind, rule, "target-1", settings or {})
    destination = Destination(Route.TARGET, kind, arn, arn.split(":")[3], target)
    made = []
    for number, event in enumerate(events or [custom_event(n) for n in range(count)]):
        body = json.dumps(event, ensure_ascii=False)
        record = parse_message(
            {
                "MessageId": f"m-{number}",
                "ReceiptHandle": f"h-{number}",
                "Body": body,
                "MessageAttributes": {
                    "RULE_ARN": {"StringValue": rule, "DataType": "String"},
                    "TARGET_ARN": {"StringValue": arn, "DataType": "String"},
                },
            }
        )
        made.append(Delivery(record, destination, body, len(body.encode("utf-8"))))
    return made


def failure(answer: Answer) -> Failure:
    assert isinstance(answer, Failure), answer
    return answer


def recent_event(number: int, **overrides: Any) -> dict[str, Any]:
    """A custom event stamped now (CloudWatch Logs refuses events older than 14 days)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    stamp = (now - datetime.timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return custom_event(number, time=stamp, **overrides)


def millis(event: dict[str, Any]) -> int:
    moment = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


# --- SQS -----------------------------------------------------------------------------


def new_queue(sqs: Any, fifo: bool = False, **attributes: str) -> tuple[str, str]:
    if fifo:
        attributes = {"FifoQueue": "true", **attributes}
    queue = sqs.create_queue(QueueName=name("q") + (".fifo" if fifo else ""), Attributes=attributes)
    url = queue["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            return found
        found.extend(batch)


def test_sqs_standard_queue_gets_each_payload_exactly(moto_url: str, clients: Clients) -> None:
    sqs = client("sqs", moto_url)
    url, arn = new_queue(sqs)
    sender = sender_for(deliveries(arn, 1)[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, SqsSender)
    assert (sender.max_items, sender.max_bytes) == (10, MAX_REQUEST_BYTES)
    sent = deliveries(arn, 12)

    answers = sender.send(sent[:10]) + sender.send(sent[10:])

    assert answers == [ACCEPTED] * 12
    bodies = sorted(message["Body"] for message in received(sqs, url))
    assert bodies == sorted(delivery.payload for delivery in sent)  # Japanese text intact


def test_sqs_fifo_group_and_deduplication_ids(moto_url: str, clients: Clients) -> None:
    sqs = client("sqs", moto_url)
    # No content-based deduplication: the explicit id is what keeps repeats out.
    url, arn = new_queue(sqs, fifo=True)
    settings = {"SqsParameters": {"MessageGroupId": "orders"}}
    sent = deliveries(arn, 3, settings)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)

    assert sender.send(sent) == [ACCEPTED] * 3
    assert sender.send(sent) == [ACCEPTED] * 3  # a repeated redrive within SQS's 5 minutes
    # Another rule sending the same events to the same queue is no duplicate of the first.
    other = deliveries(arn, 0, settings, rule=OTHER_RULE, events=[d.record.event for d in sent])
    assert sender.send(other) == [ACCEPTED] * 3

    messages = received(sqs, url)
    assert len(messages) == 6
    by_dedupe = {m["Attributes"]["MessageDeduplicationId"]: m for m in messages}
    for rule, group in ((RULE, sent), (OTHER_RULE, other)):
        for delivery in group:
            message = by_dedupe[delivery_token(delivery.event_id, rule) or ""]
            assert message["Body"] == delivery.payload
            assert message["Attributes"]["MessageGroupId"] == "orders"


def test_sqs_partial_batch_failure_names_the_failed_delivery(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    sqs = client("sqs", moto_url)
    url, arn = new_queue(sqs)
    sent = deliveries(arn, 4)
    proxy.fail_batch_entries(
        "SendMessageBatch", "InternalError", match=lambda e: "ORD-00001" in e["MessageBody"]
    )
    proxy.fail_batch_entries(
        "SendMessageBatch",
        "InvalidMessageContents",
        match=lambda e: "ORD-00003" in e["MessageBody"],
    )

    answers = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES).send(sent)

    assert [answers[0], answers[2]] == [ACCEPTED, ACCEPTED]
    assert (failure(answers[1]).code, failure(answers[1]).kind) == (
        "InternalError",
        Kind.RETRY_EXHAUSTED,
    )
    assert failure(answers[3]).disposition is Disposition.TERMINAL
    bodies = sorted(m["Body"] for m in received(sqs, url))
    assert bodies == sorted([sent[0].payload, sent[2].payload])


def test_sqs_throttled_call_raises_and_sends_nothing(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    sqs = client("sqs", moto_url)
    url, arn = new_queue(sqs)
    sent = deliveries(arn, 3)
    proxy.fail_calls("SendMessageBatch", "ThrottlingException")

    with pytest.raises(AwsError) as raised:
        sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES).send(sent)

    assert raised.value.code == "ThrottlingException"
    assert raised.value.action == "SendMessageBatch"
    assert classify(raised.value.code) is CodeClass.RETRY
    assert received(sqs, url) == []


def test_sqs_lost_answer_is_transient_though_the_queue_got_them(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    sqs = client("sqs", moto_url)
    url, arn = new_queue(sqs)
    sent = deliveries(arn, 2)
    proxy.drop_responses("SendMessageBatch", count=1)

    with pytest.raises(AwsError) as raised:
        sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES).send(sent)

    # Unknown outcome: the messages stay in the DLQ for a later run, never in quarantine.
    assert classify(raised.value.code) is CodeClass.TRANSIENT
    assert len(received(sqs, url)) == 2


# --- SNS -----------------------------------------------------------------------------


def subscribed_queue(moto_url: str, fifo: bool = False) -> tuple[str, str]:
    """A topic whose messages land, raw, in a new queue: (topic ARN, queue URL)."""
    sns, sqs = client("sns", moto_url), client("sqs", moto_url)
    attributes = {"FifoTopic": "true"} if fifo else {}
    topic = sns.create_topic(Name=name("topic") + (".fifo" if fifo else ""), Attributes=attributes)
    url, queue_arn = new_queue(sqs, fifo=fifo)
    sns.subscribe(
        TopicArn=topic["TopicArn"],
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic["TopicArn"], url


def test_sns_standard_topic_through_a_raw_sqs_subscription(moto_url: str, clients: Clients) -> None:
    topic, url = subscribed_queue(moto_url)
    sent = deliveries(topic, 11)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, SnsSender)
    assert (sender.max_items, sender.max_bytes) == (10, 262_144)

    assert sender.send(sent[:10]) + sender.send(sent[10:]) == [ACCEPTED] * 11

    bodies = sorted(m["Body"] for m in received(client("sqs", moto_url), url))
    assert bodies == sorted(delivery.payload for delivery in sent)


def test_sns_fifo_topic_group_and_deduplication_ids(moto_url: str, clients: Clients) -> None:
    topic, url = subscribed_queue(moto_url, fifo=True)
    sent = deliveries(topic, 3, {"SqsParameters": {"MessageGroupId": "orders"}})
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)

    assert sender.send(sent) == [ACCEPTED] * 3
    assert sender.send(sent) == [ACCEPTED] * 3  # deduplicated downstream

    messages = received(client("sqs", moto_url), url)
    assert sorted(m["Body"] for m in messages) == sorted(d.payload for d in sent)
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"orders"}
    assert {m["Attributes"]["MessageDeduplicationId"] for m in messages} == {
        delivery_token(d.event_id, RULE) for d in sent
    }


def test_sns_partial_batch_failure_and_throttling(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    topic, url = subscribed_queue(moto_url)
    sent = deliveries(topic, 3)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    proxy.fail_batch_entries("PublishBatch", "InternalError", match=lambda e: e["Id"] == "1")
    proxy.fail_batch_entries("PublishBatch", "InvalidParameter", match=lambda e: e["Id"] == "2")

    answers = sender.send(sent)

    assert answers[0] == ACCEPTED
    assert failure(answers[1]).kind is Kind.RETRY_EXHAUSTED
    assert (failure(answers[2]).code, failure(answers[2]).disposition) == (
        "InvalidParameter",
        Disposition.TERMINAL,
    )
    assert [m["Body"] for m in received(client("sqs", moto_url), url)] == [sent[0].payload]

    proxy.fail_calls("PublishBatch", "Throttling", count=1)
    with pytest.raises(AwsError) as raised:
        sender.send(sent[:1])
    assert raised.value.code == "Throttling"
    assert classify(raised.value.code) is CodeClass.RETRY


# --- Step Functions ------------------------------------------------------------------

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def state_machine(moto_url: str) -> str:
    states = client("stepfunctions", moto_url)
    role = f"arn:aws:iam::{ACCOUNT}:role/states"
    created = states.create_state_machine(name=name("sm"), definition=DEFINITION, roleArn=role)
    return created["stateMachineArn"]


def test_step_functions_one_named_execution_per_event(moto_url: str, clients: Clients) -> None:
    machine = state_machine(moto_url)
    states = client("stepfunctions", moto_url)
    sent = deliveries(machine, 2)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, StepFunctionsSender) and sender.max_items == 1

    assert [sender.send([delivery])[0] for delivery in sent] == [ACCEPTED, ACCEPTED]

    executions = states.list_executions(stateMachineArn=machine)["executions"]
    by_name = {e["name"]: e["executionArn"] for e in executions}
    assert set(by_name) == {delivery_token(d.event_id, RULE) for d in sent}
    for delivery in sent:
        arn = by_name[delivery_token(delivery.event_id, RULE) or ""]
        assert states.describe_execution(executionArn=arn)["input"] == delivery.payload


def test_step_functions_repeated_redrive_is_already_delivered(
    moto_url: str, clients: Clients
) -> None:
    machine = state_machine(moto_url)
    states = client("stepfunctions", moto_url)
    (delivery,) = deliveries(machine, 1)
    sender = sender_for(delivery.destination, clients, MAX_REQUEST_BYTES)
    assert sender.send([delivery]) == [ACCEPTED]
    # Same name and input while it runs: StartExecution succeeds, starting nothing new.
    # (Moto does not run the definition, so the execution stays RUNNING until stopped; on
    # AWS this Pass machine succeeds at once and the refusal below comes straight away.)
    assert sender.send([delivery]) == [ACCEPTED]
    (execution,) = states.list_executions(stateMachineArn=machine)["executions"]
    states.stop_execution(executionArn=execution["executionArn"])

    # Closed: the name is refused with ExecutionAlreadyExists for 90 days.
    assert sender.send([delivery]) == [ALREADY_DELIVERED]
    assert len(states.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_step_functions_lost_answer_then_resend_starts_nothing_new(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    machine = state_machine(moto_url)
    (delivery,) = deliveries(machine, 1)
    sender = sender_for(delivery.destination, clients, MAX_REQUEST_BYTES)
    proxy.drop_responses("StartExecution", count=1)

    with pytest.raises(AwsError) as raised:
        sender.send([delivery])
    assert classify(raised.value.code) is CodeClass.TRANSIENT

    # The execution started; asking again by the same name is safe.
    assert sender.send([delivery]) == [ACCEPTED]
    executions = client("stepfunctions", moto_url).list_executions(stateMachineArn=machine)
    assert len(executions["executions"]) == 1


def test_step_functions_throttled_and_missing_machine(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    (delivery,) = deliveries(state_machine(moto_url), 1)
    sender = sender_for(delivery.destination, clients, MAX_REQUEST_BYTES)
    proxy.fail_calls("StartExecution", "ThrottlingException", count=1)
    with pytest.raises(AwsError) as raised:
        sender.send([delivery])
    assert classify(raised.value.code) is CodeClass.RETRY

    (gone,) = deliveries(f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name('gone')}", 1)
    with pytest.raises(AwsError) as raised:
        sender_for(gone.destination, clients, MAX_REQUEST_BYTES).send([gone])
    assert raised.value.code == "StateMachineDoesNotExist"
    assert classify(raised.value.code) is CodeClass.TERMINAL


# --- Kinesis Data Streams ------------------------------------------------------------


def stream(moto_url: str) -> str:
    kinesis = client("kinesis", moto_url)
    stream_name = name("stream")
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    return kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]


def stream_records(moto_url: str, arn: str) -> list[dict[str, Any]]:
    kinesis = client("kinesis", moto_url)
    shard = kinesis.list_shards(StreamARN=arn)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamARN=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return kinesis.get_records(ShardIterator=iterator, StreamARN=arn)["Records"]


def test_kinesis_records_and_partition_keys(moto_url: str, clients: Clients) -> None:
    arn = stream(moto_url)
    keyed = deliveries(arn, 3, {"KinesisParameters": {"PartitionKeyPath": "$.detail.orderId"}})
    plain = deliveries(arn, 2)
    sender = sender_for(keyed[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, KinesisSender)
    assert (sender.max_items, sender.max_bytes, sender.max_item_bytes) == (
        500,
        5 * 1024 * 1024,
        1024 * 1024,
    )

    assert sender.send(keyed) == [ACCEPTED] * 3
    assert (
        sender_for(plain[0].destination, clients, MAX_REQUEST_BYTES).send(plain) == [ACCEPTED] * 2
    )

    got = [(r["Data"].decode("utf-8"), r["PartitionKey"]) for r in stream_records(moto_url, arn)]
    expected = [(d.payload, d.record.event["detail"]["orderId"]) for d in keyed]
    expected += [(d.payload, d.event_id) for d in plain]  # default: the event id
    assert got == expected


def test_kinesis_partial_failure_and_lost_answer(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    arn = stream(moto_url)
    sent = deliveries(arn, 3, {"KinesisParameters": {"PartitionKeyPath": "$.detail.orderId"}})
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    proxy.fail_batch_entries(
        "PutRecords",
        "ProvisionedThroughputExceededException",
        match=lambda record: record["PartitionKey"] == "ORD-00001",
        count=1,
    )

    answers = sender.send(sent)

    assert [answers[0], answers[2]] == [ACCEPTED, ACCEPTED]
    assert (failure(answers[1]).code, failure(answers[1]).kind) == (
        "ProvisionedThroughputExceededException",
        Kind.RETRY_EXHAUSTED,
    )
    assert [r["PartitionKey"] for r in stream_records(moto_url, arn)] == ["ORD-00000", "ORD-00002"]

    proxy.drop_responses("PutRecords", count=1)
    with pytest.raises(AwsError) as raised:
        sender.send(sent[1:2])
    assert classify(raised.value.code) is CodeClass.TRANSIENT
    assert len(stream_records(moto_url, arn)) == 3  # it arrived; only the answer was lost


# --- Firehose ------------------------------------------------------------------------


def delivery_stream(moto_url: str) -> tuple[str, str]:
    s3, firehose = client("s3", moto_url), client("firehose", moto_url)
    bucket = name("bucket")
    s3.create_bucket(Bucket=bucket)
    created = firehose.create_delivery_stream(
        DeliveryStreamName=name("firehose"),
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
        },
    )
    return created["DeliveryStreamARN"], bucket


def bucket_contents(moto_url: str, bucket: str) -> list[str]:
    s3 = client("s3", moto_url)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    return [s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8") for key in keys]


def test_firehose_records_reach_the_s3_destination_unchanged(
    moto_url: str, clients: Clients
) -> None:
    arn, bucket = delivery_stream(moto_url)
    sent = deliveries(arn, 3)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, FirehoseSender)

    assert sender.send(sent) == [ACCEPTED] * 3

    # Moto writes one object per call at once; Firehose buffers by size and interval. Either
    # way the records are concatenated as sent: no delimiter is added.
    assert bucket_contents(moto_url, bucket) == ["".join(d.payload for d in sent)]


def test_firehose_partial_failure(moto_url: str, clients: Clients, proxy: FaultProxy) -> None:
    arn, bucket = delivery_stream(moto_url)
    sent = deliveries(arn, 3)
    proxy.fail_batch_entries(
        "PutRecordBatch",
        "ServiceUnavailableException",
        match=lambda record: "ORD-00000" in base64.b64decode(record["Data"]).decode("utf-8"),
    )

    answers = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES).send(sent)

    assert failure(answers[0]).kind is Kind.RETRY_EXHAUSTED
    assert answers[1:] == [ACCEPTED, ACCEPTED]
    assert bucket_contents(moto_url, bucket) == [sent[1].payload + sent[2].payload]


# --- CloudWatch Logs -----------------------------------------------------------------


def log_group(moto_url: str) -> tuple[str, str]:
    logs = client("logs", moto_url)
    group = "/aws/events/" + name("audit")
    logs.create_log_group(logGroupName=group)
    return group, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"


def stream_events(moto_url: str, group: str, stream_name: str) -> list[dict[str, Any]]:
    logs = client("logs", moto_url)
    return logs.get_log_events(logGroupName=group, logStreamName=stream_name)["events"]


def test_logs_one_stream_per_event_named_by_its_id(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    group, arn = log_group(moto_url)
    sent = deliveries(arn, 0, events=[recent_event(1), recent_event(2)])
    counted: list[str] = []
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES, counted.append)
    assert isinstance(sender, LogsSender)

    assert [sender.send([delivery])[0] for delivery in sent] == [ACCEPTED, ACCEPTED]
    # The dispatcher counts PutLogEvents; the stream each needs first is counted here, so
    # api_calls shows every call the logs:CreateLogStream permission covers.
    assert counted == ["CreateLogStream"] * 2 and proxy.calls["CreateLogStream"] == 2

    for delivery in sent:
        (logged,) = stream_events(moto_url, group, delivery.event_id or "")
        assert logged["message"] == delivery.payload
        assert logged["timestamp"] == millis(delivery.record.event or {})


def test_logs_existing_stream_and_timestamp_message_template(
    moto_url: str, clients: Clients
) -> None:
    group, arn = log_group(moto_url)
    event = recent_event(3)
    client("logs", moto_url).create_log_stream(logGroupName=group, logStreamName=event["id"])
    settings = {
        "InputTransformer": {
            "InputPathsMap": {"t": "$.time", "order": "$.detail.orderId"},
            "InputTemplate": '{"timestamp": <t>, "message": "order <order>"}',
        }
    }
    (delivery,) = deliveries(arn, 0, settings, events=[event])
    delivery.payload = json.dumps({"timestamp": event["time"], "message": "order ORD-00003"})

    assert sender_for(delivery.destination, clients, MAX_REQUEST_BYTES).send([delivery]) == [
        ACCEPTED
    ]

    (logged,) = stream_events(moto_url, group, event["id"])
    assert (logged["timestamp"], logged["message"]) == (millis(event), "order ORD-00003")


def test_logs_refuses_an_event_older_than_14_days(moto_url: str, clients: Clients) -> None:
    group, arn = log_group(moto_url)
    (delivery,) = deliveries(arn, 0, events=[recent_event(15 * 24 * 60)])

    (answer,) = sender_for(delivery.destination, clients, MAX_REQUEST_BYTES).send([delivery])

    assert (failure(answer).code, failure(answer).disposition) == (
        "TooOldLogEvent",
        Disposition.TERMINAL,
    )
    assert stream_events(moto_url, group, delivery.event_id or "") == []


def test_logs_throttled_and_missing_group(
    moto_url: str, clients: Clients, proxy: FaultProxy
) -> None:
    _group, arn = log_group(moto_url)
    (delivery,) = deliveries(arn, 0, events=[recent_event(4)])
    proxy.fail_calls("PutLogEvents", "ThrottlingException", count=1)
    with pytest.raises(AwsError) as raised:
        sender_for(delivery.destination, clients, MAX_REQUEST_BYTES).send([delivery])
    assert (raised.value.action, classify(raised.value.code)) == ("PutLogEvents", CodeClass.RETRY)

    missing = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/events/{name('gone')}"
    (gone,) = deliveries(missing, 0, events=[recent_event(5)])
    with pytest.raises(AwsError) as raised:
        sender_for(gone.destination, clients, MAX_REQUEST_BYTES).send([gone])
    assert (raised.value.action, raised.value.code) == (
        "CreateLogStream",
        "ResourceNotFoundException",
    )


# --- Lambda --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def function_arn(moto_url: str) -> str:
    return lambda_function(moto_url)


def lambda_function(moto_url: str) -> str:
    """A function with a published version and an alias, on moto's no-docker backend."""
    config = json.dumps({"lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(
        moto_url + "/moto-api/config",
        data=config,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()
    role = client("iam", moto_url).create_role(
        RoleName=name("lambda"), AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    lambda_ = client("lambda", moto_url)
    function_name = name("fn")
    created = lambda_.create_function(
        FunctionName=function_name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )
    lambda_.create_alias(FunctionName=function_name, Name="live", FunctionVersion="1")
    return str(created["FunctionArn"])


@pytest.mark.parametrize("qualifier", ["", ":live", ":1"])
def test_lambda_asynchronous_invoke_with_the_arn_as_given(
    function_arn: str, clients: Clients, proxy: FaultProxy, qualifier: str
) -> None:
    proxy.record_requests = True
    sent = deliveries(function_arn + qualifier, 2)
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, LambdaSender) and sender.max_items == 1

    assert [sender.send([delivery])[0] for delivery in sent] == [ACCEPTED, ACCEPTED]

    invoked = proxy.requests("Invoke")
    assert [request["Payload"] for request in invoked] == [d.payload for d in sent]
    assert {request["FunctionName"] for request in invoked} == {function_arn + qualifier}
    assert {request["InvocationType"] for request in invoked} == {"Event"}


def test_lambda_lost_answer_is_transient(
    function_arn: str, clients: Clients, proxy: FaultProxy
) -> None:
    proxy.record_requests = True
    (delivery,) = deliveries(function_arn, 1)
    proxy.drop_responses("Invoke", count=1)

    with pytest.raises(AwsError) as raised:
        sender_for(delivery.destination, clients, MAX_REQUEST_BYTES).send([delivery])

    assert classify(raised.value.code) is CodeClass.TRANSIENT
    # Lambda took the event: a later redrive invokes the function again (Invoke has no
    # idempotency token), which is why a lost answer is kept, never counted as delivered.
    assert [r["Payload"] for r in proxy.requests("Invoke")] == [delivery.payload]


def test_lambda_throttled_and_missing_function(
    moto_url: str, function_arn: str, clients: Clients, proxy: FaultProxy
) -> None:
    (delivery,) = deliveries(function_arn, 1)
    sender = sender_for(delivery.destination, clients, MAX_REQUEST_BYTES)
    proxy.fail_calls("Invoke", "TooManyRequestsException", count=1)
    with pytest.raises(AwsError) as raised:
        sender.send([delivery])
    assert (raised.value.code, classify(raised.value.code)) == (
        "TooManyRequestsException",
        CodeClass.RETRY,
    )

    # Moto's no-docker backend answers 202 for any function name; AWS answers 404
    # ResourceNotFoundException (Lambda API reference, Invoke, Errors). The proxy stands in.
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name('gone')}"
    assert (
        client("lambda", moto_url).invoke(FunctionName=missing, InvocationType="Event")[
            "StatusCode"
        ]
        == 202
    )
    proxy.fail_calls(
        "Invoke", "ResourceNotFoundException", match=lambda r: r["FunctionName"] == missing
    )
    (gone,) = deliveries(missing, 1)
    with pytest.raises(AwsError) as raised:
        sender_for(gone.destination, clients, MAX_REQUEST_BYTES).send([gone])
    assert (raised.value.code, classify(raised.value.code)) == (
        "ResourceNotFoundException",
        CodeClass.TERMINAL,
    )


# --- another event bus ---------------------------------------------------------------


def test_event_bus_in_another_region_gets_the_entry(moto_url: str, clients: Clients) -> None:
    other = "eu-west-1"
    events, sqs = client("events", moto_url, other), client("sqs", moto_url, other)
    bus = name("central")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    url = sqs.create_queue(QueueName=name("capture"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["com.example.shop"]})
    )
    events.put_targets(
        Rule="all",
        EventBusName=bus,
        Targets=[{"Id": "capture", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    sent = deliveries(bus_arn, 2)
    for delivery in sent:
        delivery.entry = build_entry(delivery.record, EntryOptions(event_bus=bus_arn))
    sender = sender_for(sent[0].destination, clients, MAX_REQUEST_BYTES)
    assert isinstance(sender, BusSender)

    assert sender.send(sent) == [ACCEPTED, ACCEPTED]

    captured = [json.loads(m["Body"]) for m in received(sqs, url)]
    assert sorted(e["detail"]["orderId"] for e in captured) == ["ORD-00000", "ORD-00001"]
    assert {e["region"] for e in captured} == {other}


def test_senders_use_clients_of_the_target_region(clients: Clients) -> None:
    made: list[tuple[str, Optional[str]]] = []
    factory = clients.factory

    def recording(service: str, region: Optional[str]) -> Any:
        made.append((service, region))
        return factory(service, region) if factory is not None else None

    clients.factory = recording
    arns = [
        f"arn:aws:sqs:ap-south-1:{ACCOUNT}:orders",
        f"arn:aws:sns:eu-west-2:{ACCOUNT}:alerts",
        f"arn:aws:lambda:ca-central-1:{ACCOUNT}:function:f:live",
        f"arn:aws:states:eu-north-1:{ACCOUNT}:stateMachine:m",
        f"arn:aws:kinesis:eu-central-1:{ACCOUNT}:stream/clicks",
        f"arn:aws:firehose:sa-east-1:{ACCOUNT}:deliverystream/archive",
        f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/aws/events/a",
        f"arn:aws:events:ap-northeast-1:{ACCOUNT}:event-bus/central",
    ]
    for arn in arns:
        sender_for(deliveries(arn, 1)[0].destination, clients, MAX_REQUEST_BYTES)
    assert made == [
        ("sqs", "ap-south-1"),
        ("sns", "eu-west-2"),
        ("lambda", "ca-central-1"),
        ("stepfunctions", "eu-north-1"),
        ("kinesis", "eu-central-1"),
        ("firehose", "sa-east-1"),
        ("logs", "us-west-2"),
        ("events", "ap-northeast-1"),
    ]
    # In the run's own region a target queue is sent to with the run's SQS client.
    sender_for(deliveries(f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", 1)[0].destination, clients, 1024)
    assert len(made) == len(arns)


# --- the proxy's AWS limits for target batch APIs that moto does not check -------------


def test_proxy_refuses_target_batches_over_the_documented_limits(
    moto_url: str, proxy: FaultProxy
) -> None:
    big = [{"Data": b"x" * 1_000_000}] * 5
    with pytest.raises(Exception) as raised:
        client("firehose", proxy.url).put_record_batch(DeliveryStreamName="any", Records=big)
    assert raised.value.response["Error"]["Code"] == "InvalidArgumentException"  # type: ignore[attr-defined]

    topic, _url = subscribed_queue(moto_url)
    entries = [{"Id": str(i), "Message": "m" * 30_000} for i in range(9)]
    with pytest.raises(Exception) as raised:
        client("sns", proxy.url).publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert raised.value.response["Error"]["Code"] == "BatchRequestTooLong"  # type: ignore[attr-defined]
    assert proxy.calls["PublishBatch"] == 1 and proxy.mutating_calls() == 2

    with pytest.raises(ValueError, match="no per-entry answers"):
        proxy.fail_batch_entries("StartExecution", "ThrottlingException")
