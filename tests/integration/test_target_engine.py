"""Target delivery through the engine itself, in process, against moto over HTTP behind the
fault proxy: how each target's errors end for the message that met them and for the
others in the same receive, and what each kind of message is sent where. Success is read
at the targets (their queues, executions, and the Invoke requests the proxy saw).

The clients are made as the module makes them (session_clients), with two attempts, so
a fault reaches the engine after botocore's own retry as it would in a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import session_clients
from ansible_collections.redrive.eventbridge.plugins.module_utils.engine import (
    Redrive,
    RedriveSettings,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import EntryOptions
from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import DeliverTo
from tests.integration.test_targets import lambda_function, state_machine
from tests.support.events import (
    ACCOUNT,
    REGION,
    body_of,
    custom_event,
    eventbridge_dlq_message,
    lambda_destination_message,
    lambda_dlq_message,
    rule_arn,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.world import CREDENTIALS, World, client


@pytest.fixture(scope="module")
def module_proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url, seed=17) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> FaultProxy:
    module_proxy.reset()
    module_proxy.record_requests = True
    return module_proxy


@pytest.fixture(scope="module")
def function_arn(moto_url: str) -> str:
    return lambda_function(moto_url)


def redrive(proxy: FaultProxy, dlq: str, preview: bool = False, **options: Any) -> dict[str, Any]:
    """One run of the engine over `dlq`, every call through the proxy."""
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 2})
    clients = session_clients(session.client, REGION, proxy.url, config=config)
    settings = RedriveSettings(dlq, wait_seconds=0, empty_receives=1, concurrency=1, **options)
    return Redrive(clients, settings, preview=preview, preview_limit=100).run()


def rule_to(world: World, target: dict[str, Any], bus: str = "default") -> str:
    """A rule on `bus` with one target; its ARN, as DLQ messages name it."""
    name = world.name(f"rule-{target['Id']}")
    world.events.put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps({"account": [ACCOUNT]})
    )
    world.events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    return rule_arn(name, bus)


def queue_target(world: World, base: str, **settings: Any) -> tuple[str, str, str]:
    """A queue behind a rule of its own: (queue URL, queue ARN, rule ARN)."""
    url = world.queue(base)
    arn = world.queue_arn(url)
    return url, arn, rule_to(world, {"Id": base, "Arn": arn, **settings})


def bodies(world: World, url: str) -> list[str]:
    return [message["Body"] for message in world.drain(url)]


def kept_by_message(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["message_id"]: item for item in result["kept_messages"]}


def executions(moto_url: str, machine: str) -> list[dict[str, Any]]:
    states = client("stepfunctions", moto_url)
    found = states.list_executions(stateMachineArn=machine)["executions"]
    return [states.describe_execution(executionArn=e["executionArn"]) for e in found]


# --- errors at one target end there ----------------------------------------------------


def test_a_deleted_target_queue_keeps_its_messages_and_the_others_go(
    world: World, proxy: FaultProxy
) -> None:
    gone_url, gone_arn, gone_rule = queue_target(world, "gone")
    live_url, live_arn, live_rule = queue_target(world, "live")
    world.sqs.delete_queue(QueueUrl=gone_url)  # still listed as the rule's target
    events = [custom_event(n) for n in range(6)]
    dlq = world.queue("dlq")
    # Interleaved, so one receive holds both targets' messages.
    ids = world.send(
        dlq,
        [
            eventbridge_dlq_message(
                event,
                rule=gone_rule if n % 2 else live_rule,
                target_arn=gone_arn if n % 2 else live_arn,
            )
            for n, event in enumerate(events)
        ],
    )

    result = redrive(proxy, dlq)

    assert result["stopped_by"] == "drained", result.get("error")
    assert (result["redriven"], result["kept"]) == (3, 3), result["kept_messages"]
    assert sorted(bodies(world, live_url)) == sorted(body_of(e) for e in events[0::2])
    kept = kept_by_message(result)
    assert sorted(kept) == sorted(ids[1::2])
    for item in kept.values():
        assert (item["code"], item["disposition"]) == ("target_not_found", "held")
        assert item["target"] == {"arn": gone_arn, "type": "sqs"}
        assert gone_arn in item["reason"]
    assert world.visible_ids(dlq) == sorted(ids[1::2])


def test_step_functions_at_its_execution_limit_is_retried_in_the_same_run(
    world: World, proxy: FaultProxy, moto_url: str
) -> None:
    machine = state_machine(moto_url)
    rule = rule_to(world, {"Id": "fulfil", "Arn": machine})
    event = custom_event(1)
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(event, rule=rule, target_arn=machine)])
    proxy.fail_calls("StartExecution", "ExecutionLimitExceeded", count=2)

    result = redrive(proxy, dlq)

    assert (result["redriven"], result["kept"]) == (1, 0), result["kept_messages"]
    assert proxy.calls["StartExecution"] == 3  # botocore does not retry this code; we do
    assert [e["input"] for e in executions(moto_url, machine)] == [body_of(event)]
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}


def test_a_repeated_redrive_to_step_functions_counts_as_already_delivered(
    world: World, proxy: FaultProxy, moto_url: str
) -> None:
    machine = state_machine(moto_url)
    rule = rule_to(world, {"Id": "fulfil", "Arn": machine})
    message = eventbridge_dlq_message(custom_event(2), rule=rule, target_arn=machine)
    dlq = world.queue("dlq")
    world.send(dlq, [message])
    assert redrive(proxy, dlq)["redriven"] == 1
    # Closed (moto leaves it running), then the same event lands in the DLQ again.
    (execution,) = executions(moto_url, machine)
    client("stepfunctions", moto_url).stop_execution(executionArn=execution["executionArn"])
    world.send(dlq, [message])

    again = redrive(proxy, dlq)

    assert (again["redriven"], again["already_delivered"], again["kept"]) == (1, 1, 0)
    assert len(executions(moto_url, machine)) == 1
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}


def test_an_invoke_refusing_the_event_is_quarantined(
    world: World,
    proxy: FaultProxy,
    function_arn: str,
) -> None:
    rule = rule_to(world, {"Id": "fn", "Arn": function_arn})
    dlq, quarantine = world.queue("dlq"), world.queue("quarantine")
    (message_id,) = world.send(
        dlq, [eventbridge_dlq_message(custom_event(3), rule=rule, target_arn=function_arn)]
    )
    proxy.fail_calls("Invoke", "InvalidRequestContentException")

    result = redrive(proxy, dlq, quarantine_queue_url=quarantine)

    assert (result["redriven"], result["quarantined"], result["kept"]) == (0, 1, 0)
    (item,) = result["kept_messages"]
    assert (item["code"], item["disposition"]) == ("InvalidRequestContentException", "terminal")
    assert proxy.calls["Invoke"] == 1  # terminal: not tried again
    (moved,) = world.drain(quarantine)
    assert moved["MessageAttributes"]["REDRIVE_ORIGINAL_MESSAGE_ID"]["StringValue"] == message_id
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}


def test_an_event_a_template_cannot_carry_is_kept_and_its_neighbour_delivered(
    world: World, proxy: FaultProxy
) -> None:
    template = {"InputPathsMap": {"order": "$.detail.orderId"}, "InputTemplate": '"<order>"'}
    url, arn, rule = queue_target(world, "billing", InputTransformer=template)
    good = custom_event(4)
    bad = custom_event(5)
    # A lone surrogate, escaped: valid JSON, but no UTF-8 text once put in the quotes.
    bad_body = body_of(bad).replace('"ORD-00005"', '"ORD-\\ud800"')
    dlq = world.queue("dlq")
    ids = world.send(
        dlq,
        [
            eventbridge_dlq_message(bad, rule=rule, target_arn=arn, body=bad_body),
            eventbridge_dlq_message(good, rule=rule, target_arn=arn),
        ],
    )

    result = redrive(proxy, dlq)

    assert result["stopped_by"] == "drained", result.get("error")
    assert bodies(world, url) == ['"ORD-00004"']
    (item,) = result["kept_messages"]
    assert (item["message_id"], item["code"]) == (ids[0], "invalid_event")
    assert world.visible_ids(dlq) == [ids[0]]


# --- where each kind of message goes -----------------------------------------------------


def test_a_lambda_dlq_goes_to_the_function_target_arn_names(
    world: World,
    proxy: FaultProxy,
    function_arn: str,
) -> None:
    events = [custom_event(n) for n in range(2)]
    dlq = world.queue("lambda-dlq")
    world.send(dlq, [lambda_dlq_message(event) for event in events])

    result = redrive(proxy, dlq, target_arn=function_arn)

    assert result["redriven"] == 2, result["kept_messages"]
    invoked = proxy.requests("Invoke")
    assert {(r["FunctionName"], r["InvocationType"]) for r in invoked} == {(function_arn, "Event")}
    assert sorted(r["Payload"] for r in invoked) == sorted(body_of(e) for e in events)
    assert result["by_target"] == {function_arn: {"redriven": 2}}


def test_a_lambda_destination_record_goes_to_the_function_it_names(
    world: World,
    proxy: FaultProxy,
    function_arn: str,
) -> None:
    event = custom_event(6)
    message = lambda_destination_message(event)
    record = json.loads(message["MessageBody"])
    record["requestContext"]["functionArn"] = function_arn
    dlq = world.queue("destination")
    world.send(dlq, [{**message, "MessageBody": body_of(record)}])

    # target_arn names another function: the record's own is the one that failed.
    result = redrive(proxy, dlq, target_arn=function_arn + ":other")

    assert result["redriven"] == 1, result["kept_messages"]
    (invoked,) = proxy.requests("Invoke")
    assert (invoked["FunctionName"], invoked["Payload"]) == (function_arn, body_of(event))


def no_target_run(
    world: World, proxy: FaultProxy, deliver_to: DeliverTo
) -> tuple[dict[str, Any], str, str, list[str]]:
    bus = world.bus("orders")
    capture = world.capture(bus)
    dlq = world.queue("lambda-dlq")
    ids = world.send(dlq, [lambda_dlq_message(custom_event(7))])
    result = redrive(proxy, dlq, deliver_to=deliver_to, entry_options=EntryOptions(event_bus=bus))
    return result, capture, dlq, ids


NAMES_NO_TARGET = "the message names no target (set target_arn)"


def test_a_message_naming_no_target_is_kept_in_target_mode(world: World, proxy: FaultProxy) -> None:
    result, capture, dlq, ids = no_target_run(world, proxy, DeliverTo.TARGET)

    (item,) = result["kept_messages"]
    assert (item["message_id"], item["code"], item["disposition"]) == (ids[0], "no_target", "held")
    assert NAMES_NO_TARGET in item["reason"]
    assert world.captured_events(capture) == []
    assert world.visible_ids(dlq) == ids


def test_a_message_naming_no_target_goes_on_the_bus_with_auto_and_says_why(
    world: World, proxy: FaultProxy
) -> None:
    result, capture, dlq, _ids = no_target_run(world, proxy, DeliverTo.AUTO)

    assert (result["redriven"], result["kept"]) == (1, 0), result["kept_messages"]
    assert result["bus_route_reasons"] == {NAMES_NO_TARGET: 1}
    assert [e["detail"]["orderId"] for e in world.captured_events(capture)] == ["ORD-00007"]
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}


def test_check_mode_in_target_mode_sends_nothing_anywhere(
    world: World,
    proxy: FaultProxy,
    moto_url: str,
    function_arn: str,
) -> None:
    url, arn, rule = queue_target(world, "billing")
    machine = state_machine(moto_url)
    machine_rule = rule_to(world, {"Id": "fulfil", "Arn": machine})
    function_rule = rule_to(world, {"Id": "fn", "Arn": function_arn})
    bus = world.bus("orders")
    capture = world.capture(bus)
    dlq = world.queue("dlq")
    world.send(
        dlq,
        [
            eventbridge_dlq_message(custom_event(1), rule=rule, target_arn=arn),
            eventbridge_dlq_message(custom_event(2), rule=machine_rule, target_arn=machine),
            eventbridge_dlq_message(custom_event(3), rule=function_rule, target_arn=function_arn),
            lambda_dlq_message(custom_event(4)),  # names no target: the bus
        ],
    )

    result = redrive(proxy, dlq, preview=True, entry_options=EntryOptions(event_bus=bus))

    assert proxy.mutating_calls() == 0, dict(proxy.calls)
    assert result["redriven"] == 4, result["kept_messages"]
    routes = sorted((m["route"], m.get("route_reason")) for m in result["messages"])
    assert routes == [("bus", NAMES_NO_TARGET)] + [("target", None)] * 3
    assert world.drain(url) == [] and world.captured_events(capture) == []
    assert executions(moto_url, machine) == [] and proxy.requests("Invoke") == []
    assert world.depth(dlq) == {"visible": 4, "in_flight": 0}
