"""The whole story on a local moto server: a failing rule's DLQ, look, check, redrive.

moto does not fail deliveries, so the demo writes into the DLQ exactly what
EventBridge writes when a rule target keeps failing (the event as the body,
RULE_ARN/TARGET_ARN/ERROR_CODE/... as attributes). With --aws it does the same
in a real account, with the usual AWS_* or profile settings, and deletes what
it created at the end.
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
from pathlib import Path

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


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def seed(sqs, events, endpoint: str | None, prefix: str) -> dict:
    """A bus, a rule with a failing target and a DLQ, then the failed events."""
    bus = f"{prefix}-orders"
    events.create_event_bus(Name=bus)
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-billing-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    capture_url = sqs.create_queue(QueueName=f"{prefix}-billing-inbox")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    rule = f"{prefix}-to-billing"
    events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps({"detail-type": ["注文確定", "AWS API Call via CloudTrail"]}),
    )
    # The target that "failed": its DLQ is where the events below came from. It
    # now points at a working queue, as after the outage was fixed.
    events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[{"Id": "billing", "Arn": capture_arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    arn = rule_arn(rule, bus=bus)
    failed = [custom_event(n) for n in range(1, 6)] + [
        s3_cloudtrail_event(f"in/{n}.pdf") for n in range(3)
    ]
    messages = [eventbridge_dlq_message(event, rule=arn) for event in failed]
    # The same event twice: one copy per failed target is normal in a DLQ.
    messages.append(eventbridge_dlq_message(failed[0], rule=arn, error_code="TIMEOUT"))
    messages.append(malformed_message())
    for message in messages:
        sqs.send_message(QueueUrl=dlq_url, **message)
    print(f"bus {bus}, rule {rule}, DLQ {dlq_url}")
    print(
        f"seeded {len(messages)} DLQ messages: 5 custom (Japanese text), 3 aws.s3 via CloudTrail, "
        "1 duplicate copy, 1 malformed body"
    )
    return {"dlq": dlq_url, "capture": capture_url, "bus": bus, "rule": rule}


def run(command: list[str], env: dict) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, env=env, check=True, stdin=subprocess.DEVNULL)


def story(endpoint: str | None, region: str, quick: bool) -> None:
    session = boto3.session.Session(region_name=region)
    sqs = session.client("sqs", endpoint_url=endpoint)
    events = session.client("events", endpoint_url=endpoint)
    prefix = "demo-" + uuid.uuid4().hex[:6]
    say("Set-up: a bus, a rule whose target failed, and its dead-letter queue")
    world = seed(sqs, events, endpoint, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(collections_root(Path(tmp))),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        extra = {"demo_dlq": world["dlq"], "demo_region": region}
        if endpoint:
            extra["demo_endpoint_url"] = endpoint
        say("The playbook: look (lookup), preview (--check), redrive, redrive again")
        run(
            [
                str(BIN / "ansible-playbook"),
                "-i",
                "localhost,",
                str(HERE / "site.yml"),
                "-e",
                json.dumps(extra),
            ],
            env,
        )
        delivered = []
        while True:
            batch = sqs.receive_message(QueueUrl=world["capture"], MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                break
            delivered += batch
            sqs.delete_message_batch(
                QueueUrl=world["capture"],
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        say(f"The rule's target received {len(delivered)} redriven events, e.g.:")
        if delivered:
            event = json.loads(delivered[0]["Body"])
            print(
                json.dumps(
                    {k: event[k] for k in ("source", "detail-type", "time", "detail")},
                    ensure_ascii=False,
                    indent=2,
                )[:800]
            )
        if not quick:
            config = Path(tmp) / "aws-config"
            config.write_text(
                f"[default]\nregion = {region}\n[plugins]\n"
                "eventbridge_dlq = ansible_collections.redrive.eventbridge.cli.eventbridge_dlq\n"
            )
            cli_env = dict(
                env, AWS_CONFIG_FILE=str(config), PYTHONPATH=str(collections_root(Path(tmp)))
            )
            say("What is left, seen with the AWS CLI plugin")
            command = [
                str(BIN / "aws"),
                "eventbridge-dlq",
                "peek",
                "--queue",
                world["dlq"],
                "--output",
                "table",
            ]
            if endpoint:
                command += ["--endpoint-url", endpoint]
            run(command, cli_env)


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
        story(endpoint, args.region, args.quick)
    say(f"Done in {time.monotonic() - started:.1f} s; nothing left running.")


if __name__ == "__main__":
    main()
