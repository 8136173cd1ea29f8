"""EventBridge Scheduler dead-letter events through the engine (runner.execute, as the
module and the CLI run it) against the moto server over HTTP, through the fault proxy:
each is sent again to the API its schedule called, with the body's request parameters,
and what the receiving side got is read there; what cannot be sent stays in the DLQ with
its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.scenarios import engine_run
from tests.support.aws_cli import aws, cli_env
from tests.support.events import (
    ACCOUNT,
    REGION,
    scheduler_dead_letter_message,
    scheduler_request,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import World, client

FAST = {"wait_seconds": 0, "empty_receives": 1, "concurrency": 2}
SEND = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=3) as running:
        yield running


def redrive(proxy: FaultProxy, dlq: str, dry_run: bool = False, **options: Any) -> dict[str, Any]:
    params = {"queue": dlq, **FAST, **options}
    if not dry_run:
        return engine_run(proxy.url, params)
    from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import (
        ConnectionOptions,
        make_clients,
    )
    from ansible_collections.redrive.eventbridge.plugins.module_utils.runner import execute

    connection = ConnectionOptions(
        endpoint_url=proxy.url, region=REGION, access_key="testing", secret_key="testing"
    )
    return execute(make_clients(connection, 4), params, dry_run=True)


def test_a_documented_send_message_dead_letter_event_reaches_its_queue(
    world: World, proxy: FaultProxy
) -> None:
    target = world.queue("invoices")
    dlq = world.queue("schedule-dlq")
    body = 'Invoice run 2026-11-21 — 月末 "quoted"'
    request = scheduler_request(
        target, body, MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}}
    )
    ids = world.send(
        dlq,
        [
            scheduler_dead_letter_message(request, execution_id="exec-1"),
            # A second copy of the same invocation: delivered once.
            scheduler_dead_letter_message(request, execution_id="exec-1"),
            scheduler_dead_letter_message(
                scheduler_request(target, "cut"), truncated="true", execution_id="exec-2"
            ),
            scheduler_dead_letter_message(
                json.dumps({"MessageBody": "no queue"}), execution_id="exec-3"
            ),
            scheduler_dead_letter_message(
                json.dumps({"FunctionName": "send-invoices", "Payload": "{}"}),
                target_arn="arn:aws:scheduler:::aws-sdk:lambda:invoke",
                error_code="Lambda.ResourceNotFoundException",
                execution_id="exec-4",
            ),
        ],
    )

    preview = redrive(proxy, dlq, dry_run=True, deliver_to="target")

    assert proxy.mutating_calls() == 0
    assert (preview["redriven"], preview["duplicates_skipped"], preview["kept"]) == (1, 1, 3)
    routes = [m for m in preview["messages"] if m["outcome"] == "redriven"]
    assert routes[0]["target"] == {"arn": SEND, "type": "scheduler:sqs:sendMessage"}
    assert routes[0]["payload_size"] == len(request.encode("utf-8"))
    assert world.drain(target) == []

    result = redrive(proxy, dlq, deliver_to="target")

    assert (result["redriven"], result["duplicates_skipped"], result["kept"]) == (1, 1, 3)
    assert result["api_calls"]["SendMessage"] == 1
    delivered = world.drain(target)
    assert [m["Body"] for m in delivered] == [body]
    assert delivered[0]["MessageAttributes"]["tenant"]["StringValue"] == "acme"
    assert world.visible_ids(dlq) == sorted(ids[2:])
    kept = {item["message_id"]: item for item in result["kept_messages"]}
    assert kept[ids[2]]["code"] == "scheduler_input_truncated"
    assert kept[ids[3]]["code"] == "scheduler_input_invalid"
    assert "SendMessage needs QueueUrl" in kept[ids[3]]["reason"]
    assert kept[ids[4]]["code"] == "scheduler_target_not_supported"
    assert kept[ids[4]]["reason"].startswith("scheduler_target_not_supported: lambda:invoke: ")
    lambda_item = kept[ids[4]]
    assert {name: lambda_item[name] for name in ("origin", "schedule_arn", "target_arn")} == {
        "origin": "scheduler",
        "schedule_arn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly-invoices",
        "target_arn": "arn:aws:scheduler:::aws-sdk:lambda:invoke",
    }
    assert lambda_item["error_code"] == "Lambda.ResourceNotFoundException"
    assert lambda_item["error_message"].startswith("The specified queue")
    assert lambda_item["retry_attempts"] == 0
    assert all("body" not in item and "send-invoices" not in str(item) for item in kept.values())

    again = redrive(proxy, dlq, deliver_to="auto")
    assert (again["redriven"], again["kept"]) == (0, 3)  # auto never puts them on a bus
    assert world.drain(target) == []


def test_a_queue_that_does_not_exist_holds_only_its_own_message(
    world: World, proxy: FaultProxy
) -> None:
    target = world.queue("exists")
    dlq = world.queue("schedule-dlq")
    missing = target.rsplit("/", 1)[0] + "/" + world.name("gone")
    ids = world.send(
        dlq,
        [
            scheduler_dead_letter_message(scheduler_request(missing, "lost?")),
            scheduler_dead_letter_message(scheduler_request(target, "arrives")),
        ],
    )

    result = redrive(proxy, dlq, deliver_to="target")

    assert (result["redriven"], result["kept"]) == (1, 1), result
    assert result["kept_messages"][0]["kind"] == "target_not_found"
    assert [m["Body"] for m in world.drain(target)] == ["arrives"]
    assert world.visible_ids(dlq) == [ids[0]]


def test_publish_and_start_execution_get_the_body_as_it_is(world: World, proxy: FaultProxy) -> None:
    sns = client("sns", world.endpoint_url)
    topic = sns.create_topic(Name=world.name("reminders"))["TopicArn"]
    inbox = world.queue("reminders-inbox")
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=world.queue_arn(inbox), ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sfn = client("stepfunctions", world.endpoint_url)
    machine = sfn.create_state_machine(
        name=world.name("billing"),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/billing",
    )["stateMachineArn"]
    execution_input = json.dumps({"run": "2026-11-21", "note": "月末"}, ensure_ascii=False)
    dlq = world.queue("schedule-dlq")
    sent = [
        scheduler_dead_letter_message(
            json.dumps({"TopicArn": topic, "Message": "Pay your invoices"}),
            target_arn="arn:aws:scheduler:::aws-sdk:sns:publish",
        ),
        scheduler_dead_letter_message(
            json.dumps({"stateMachineArn": machine, "input": execution_input, "name": "n-1"}),
            target_arn="arn:aws:scheduler:::aws-sdk:sfn:startExecution",
        ),
    ]
    world.send(dlq, sent)

    result = redrive(proxy, dlq, deliver_to="target")

    assert (result["redriven"], result["kept"]) == (2, 0), result["kept_messages"]
    assert [m["Body"] for m in world.drain(inbox)] == ["Pay your invoices"]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["name"] for e in executions] == ["n-1"]
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert described["input"] == execution_input
    assert world.visible_ids(dlq) == []

    # The same invocation dead-lettered again: the execution the body names exists (running,
    # with the same input, StartExecution answers it again; closed, ExecutionAlreadyExists
    # counts as delivered before), so nothing new starts and the message goes.
    world.send(dlq, [sent[1]])
    repeated = redrive(proxy, dlq, deliver_to="target")
    assert (repeated["redriven"], repeated["kept"]) == (1, 0), repeated["kept_messages"]
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert world.visible_ids(dlq) == []


def test_the_cli_sends_it_and_names_what_it_kept(world: World, tmp_path: Path) -> None:
    target = world.queue("invoices")
    dlq = world.queue("schedule-dlq")
    ids = world.send(
        dlq,
        [
            scheduler_dead_letter_message(scheduler_request(target, "Hello, world!")),
            scheduler_dead_letter_message(scheduler_request(target, "cut"), truncated="true"),
        ],
    )

    run = aws(cli_env(tmp_path), world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq,
              "--deliver-to", "target", "--wait-seconds", "0", "--empty-receives", "1")  # fmt: skip

    assert run.returncode == 2, run.stderr  # some kept
    result = json.loads(run.stdout)
    assert (result["redriven"], result["kept"]) == (1, 1)
    [kept] = result["kept_messages"]
    assert (kept["message_id"], kept["origin"], kept["code"]) == (
        ids[1],
        "scheduler",
        "scheduler_input_truncated",
    )
    assert kept["target_arn"] == SEND and kept["retry_attempts"] == 0
    assert "body" not in kept and "cut" not in json.dumps(kept)
    assert [m["Body"] for m in world.drain(target)] == ["Hello, world!"]
