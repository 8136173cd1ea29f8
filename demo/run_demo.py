"""The seed case on a local moto server, redriven twice side by side: on the bus, and to
the target that failed. Who received what is the point.

Two rules' targets failed:
- CloudTrail S3 events (`source: aws.s3`) to a rule on the default bus: target `ingest`
  failed, target `audit` on the same rule was healthy;
- order events on the `orders` bus: target `billing` (with an InputTransformer) failed,
  a second rule `analytics` on the same events was healthy.
moto does not fail deliveries, so the demo writes into one DLQ exactly what EventBridge
writes when targets keep failing (the event as the body, RULE_ARN/TARGET_ARN/ERROR_CODE/...
as attributes), plus a second copy of one event and a malformed body. Two identical
worlds are built; one is redriven with `deliver_to: bus`, the other with the default.

With --aws it does the same in a real account, with the usual AWS_* or profile settings,
and deletes what it created at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import boto3

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support.ansible_run import collections_root  # noqa: E402
from tests.support.events import (  # noqa: E402
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.moto_server import moto_server  # noqa: E402

BIN = Path(sys.executable).parent
QUEUES = ("ingest", "audit", "billing", "analytics")
ROLES = {
    "ingest": "failed target of the aws.s3 rule",
    "audit": "healthy target of the aws.s3 rule",
    "billing": "failed target on orders (InputTransformer)",
    "analytics": "healthy second rule on orders",
}
TEMPLATE = '{"order": "<order>", "tier": "<tier>"}'


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


@dataclass
class World:
    """One copy of the seed case: queues by name, the DLQ, and what was created."""

    sqs: Any
    events: Any
    prefix: str
    queues: dict[str, str] = field(default_factory=dict)
    dlq: str = ""
    buses: list[str] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)

    def queue(self, name: str) -> str:
        url = self.sqs.create_queue(QueueName=f"{self.prefix}-{name}")["QueueUrl"]
        self.queues[name] = url
        return url

    def arn(self, name: str) -> str:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queues[name], AttributeNames=["QueueArn"]
        )
        return attributes["Attributes"]["QueueArn"]

    def rule(self, bus: str, name: str, pattern: dict, targets: list[dict]) -> str:
        full = f"{self.prefix}-{name}"
        self.events.put_rule(Name=full, EventBusName=bus, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=full, EventBusName=bus, Targets=targets)
        self.rules.append((bus, full))
        return rule_arn(full, bus=bus)

    def received(self, name: str) -> list[str]:
        bodies: list[str] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queues[name], MaxNumberOfMessages=10
            ).get("Messages", [])
            if not batch:
                return bodies
            bodies += [message["Body"] for message in batch]
            self.sqs.delete_message_batch(
                QueueUrl=self.queues[name],
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )

    def left_in_dlq(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def clean_up(self) -> None:
        for bus, rule in self.rules:
            targets = self.events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
            self.events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
            self.events.delete_rule(Name=rule, EventBusName=bus)
        for bus in self.buses:
            self.events.delete_event_bus(Name=bus)
        for url in [*self.queues.values(), self.dlq]:
            self.sqs.delete_queue(QueueUrl=url)


def seed(sqs: Any, events: Any, prefix: str) -> World:
    world = World(sqs, events, prefix)
    for name in QUEUES:
        world.queue(name)
    s3_rule = world.rule(
        "default",
        "s3-ingest",
        {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"]},
        [{"Id": "ingest", "Arn": world.arn("ingest")}, {"Id": "audit", "Arn": world.arn("audit")}],
    )
    bus = f"{prefix}-orders"
    events.create_event_bus(Name=bus)
    world.buses.append(bus)
    billing = {
        "Id": "billing",
        "Arn": world.arn("billing"),
        "InputTransformer": {
            "InputPathsMap": {"order": "$.detail.orderId", "tier": "$.detail.customer.tier"},
            "InputTemplate": TEMPLATE,
        },
    }
    orders = {"source": ["com.example.shop"]}
    orders_rule = world.rule(bus, "to-billing", orders, [billing])
    world.rule(bus, "analytics", orders, [{"Id": "analytics", "Arn": world.arn("analytics")}])
    s3_events = [s3_cloudtrail_event(f"in/{n}.pdf") for n in range(3)]
    order_events = [custom_event(n) for n in range(1, 6)]
    messages = [
        eventbridge_dlq_message(e, rule=s3_rule, target_arn=world.arn("ingest")) for e in s3_events
    ]
    messages += [
        eventbridge_dlq_message(e, rule=orders_rule, target_arn=world.arn("billing"))
        for e in order_events
    ]
    # One event twice (SQS and EventBridge deliver at least once), and a broken body.
    messages.append(messages[3])
    messages.append(malformed_message())
    world.dlq = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    for message in messages:
        sqs.send_message(QueueUrl=world.dlq, **message)
    return world


def run(command: list[str], env: dict) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, env=env, check=True, stdin=subprocess.DEVNULL)


def playbook(world: World, env: dict, region: str, endpoint: Optional[str], mode: str) -> None:
    extra = {"demo_dlq": world.dlq, "demo_region": region, "demo_deliver_to": mode}
    if endpoint:
        extra["demo_endpoint_url"] = endpoint
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(HERE / "site.yml")]
    run([*command, "-e", json.dumps(extra)], env)


def who_received_what(bus_world: World, target_world: World) -> None:
    say("Who received what (10 DLQ messages: 3 aws.s3, 5 orders, 1 copy, 1 malformed)")
    print(f"{'queue':<11} {'role':<45} {'bus mode':>9} {'target mode':>12}")
    example: Optional[str] = None
    for name in QUEUES:
        on_bus, to_target = bus_world.received(name), target_world.received(name)
        if name == "billing" and to_target:
            example = to_target[0]
        print(f"{name:<11} {ROLES[name]:<45} {len(on_bus):>9} {len(to_target):>12}")
    print(
        f"{'DLQ':<11} {'messages left':<45} {bus_world.left_in_dlq():>9} "
        f"{target_world.left_in_dlq():>12}"
    )
    print(
        "\nOn the bus, aws.s3 must become redrive.aws.s3 (PutEvents refuses aws.*), which the "
        "failed rule\nno longer matches: those stay in the DLQ (when_rule_unmatched: keep); "
        "the orders events reach\nthe healthy analytics rule a second time. To the target, "
        "each failed target gets its events once,\nas EventBridge would have delivered them."
    )
    if example:
        print(f"billing received (the InputTransformer applied): {example}")


def environment(tmp: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_root(Path(tmp))),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def peek(world: World, env: dict, tmp: str, region: str, endpoint: Optional[str]) -> None:
    config = Path(tmp) / "aws-config"
    config.write_text(
        f"[default]\nregion = {region}\n[plugins]\n"
        "eventbridge_dlq = ansible_collections.redrive.eventbridge.cli.eventbridge_dlq\n"
    )
    cli_env = dict(env, AWS_CONFIG_FILE=str(config), PYTHONPATH=str(collections_root(Path(tmp))))
    say("What is left after the target-mode run, seen with the AWS CLI plugin")
    command = [str(BIN / "aws"), "eventbridge-dlq", "peek", "--queue", world.dlq]
    command += ["--output", "table"]
    if endpoint:
        command += ["--endpoint-url", endpoint]
    run(command, cli_env)


def story(endpoint: Optional[str], region: str, quick: bool, stack: ExitStack) -> None:
    session = boto3.session.Session(region_name=region)
    sqs = session.client("sqs", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    prefix = "demo-" + uuid.uuid4().hex[:6]
    say("Set-up: the seed case twice, each with its DLQ of failed deliveries")
    bus_world = seed(sqs, events, prefix + "-bus")
    target_world = seed(sqs, events, prefix + "-target")
    if endpoint is None:  # a real account: leave nothing behind
        stack.callback(bus_world.clean_up)
        stack.callback(target_world.clean_up)
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(tmp)
        say("Bus mode (deliver_to: bus): look, preview, redrive, redrive again")
        playbook(bus_world, env, region, endpoint, "bus")
        say("Target mode (the default): look, preview, redrive, redrive again")
        playbook(target_world, env, region, endpoint, "auto")
        who_received_what(bus_world, target_world)
        if not quick:
            peek(target_world, env, tmp, region, endpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--aws",
        action="store_true",
        help="use the real AWS account of the usual AWS_*/profile settings",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--quick", action="store_true", help="skip the AWS CLI part")
    args = parser.parse_args()
    started = time.monotonic()
    with ExitStack() as stack:
        endpoint = None
        if not args.aws:
            endpoint = stack.enter_context(moto_server())
            os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo")
            print(f"local moto server at {endpoint}")
        story(endpoint, args.region, args.quick, stack)
    say(f"Done in {time.monotonic() - started:.1f} s; nothing left running.")


if __name__ == "__main__":
    main()
