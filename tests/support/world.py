"""An AWS world on the moto server: a DLQ, buses, capture rules and queues."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

import boto3
import botocore.config

from .events import ACCOUNT, REGION, rule_arn

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        config=botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}),
        **CREDENTIALS,
    )


@dataclass
class World:
    """Resources with unique names, so tests can share one moto server."""

    endpoint_url: str
    prefix: str = field(default_factory=lambda: "t" + uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        self.sqs = client("sqs", self.endpoint_url)
        self.events = client("events", self.endpoint_url)

    def name(self, base: str) -> str:
        return f"{self.prefix}-{base}"

    def queue(self, base: str) -> str:
        return self.sqs.create_queue(QueueName=self.name(base))["QueueUrl"]

    def queue_arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def bus(self, base: str) -> str:
        name = self.name(base)
        self.events.create_event_bus(Name=name)
        return name

    def capture(self, bus: str = "default", pattern: Optional[dict[str, Any]] = None) -> str:
        """A rule on `bus` sending every matching event to a new capture queue."""
        return self.capture_rule(bus, pattern)[0]

    def capture_rule(
        self, bus: str = "default", pattern: Optional[dict[str, Any]] = None
    ) -> tuple[str, dict[str, str]]:
        """A capture queue behind a new rule, and what a DLQ message of that rule and target
        names: `{"rule": RULE_ARN, "target_arn": TARGET_ARN}` for eventbridge_dlq_message."""
        queue_url = self.queue(f"capture-{uuid.uuid4().hex[:6]}")
        rule = self.name(f"capture-{uuid.uuid4().hex[:6]}")
        self.events.put_rule(
            Name=rule,
            EventBusName=bus,
            EventPattern=json.dumps(pattern or {"account": [ACCOUNT]}),
        )
        self.events.put_targets(
            Rule=rule,
            EventBusName=bus,
            Targets=[{"Id": "capture", "Arn": self.queue_arn(queue_url)}],
        )
        return queue_url, {"rule": rule_arn(rule, bus), "target_arn": self.queue_arn(queue_url)}

    def send(self, queue_url: str, messages: Iterable[dict[str, Any]]) -> list[str]:
        """Send send_message kwargs; return the message ids in order."""
        return [
            self.sqs.send_message(QueueUrl=queue_url, **message)["MessageId"]
            for message in messages
        ]

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Receive and delete everything (for capture queues)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return found
            found.extend(messages)
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def captured_events(self, queue_url: str) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.drain(queue_url)]

    def depth(self, queue_url: str) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }

    def visible_messages(self, queue_url: str) -> dict[str, dict[str, Any]]:
        return visible_messages(self.sqs, queue_url)

    def visible_ids(self, queue_url: str) -> list[str]:
        return sorted(visible_messages(self.sqs, queue_url))


def visible_messages(sqs: Any, queue_url: str) -> dict[str, dict[str, Any]]:
    """The messages in a queue by id, looked at without changing it for long:
    received with a short visibility and made visible again."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        fresh = [message for message in batch if message["MessageId"] not in found]
        if not fresh:
            break
        found.update((message["MessageId"], message) for message in fresh)
    items = list(found.values())
    for start in range(0, len(items), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(items[start : start + 10])
            ],
        )
    return found
