"""The core with a botocore whose SQS model predates MessageSystemAttributeNames.

Such a botocore (AWS CLI v2 2.9's among them, and PyPI's up to early 2024) knows only
`AttributeNames`; with parameter validation off, its serializer fails on the unknown
name with a KeyError. aws.py sends the older name to such a model, so receive counts and
sent times still arrive. The model is trimmed from today's (tests/support/old_models.py);
the requests go to the moto server over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils import aws, runner
from tests.support.events import custom_event, eventbridge_dlq_message
from tests.support.old_models import session_with, without
from tests.support.world import World

OLD_RECEIVE = [("ReceiveMessageRequest", "MessageSystemAttributeNames")]


@pytest.fixture
def old_session(tmp_path: Path) -> Any:
    return session_with(without(tmp_path / "models", "sqs", members=OLD_RECEIVE))


def test_such_a_model_fails_on_the_new_name_without_the_adaptation(
    world: World, old_session: Any
) -> None:
    dlq = world.queue("dlq")
    sqs = old_session.create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=world.endpoint_url,
        config=aws.client_config(1),
    )
    with pytest.raises(KeyError, match="MessageSystemAttributeNames"):
        sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["SentTimestamp"])


def test_receive_counts_and_sent_times_arrive_through_such_a_model(
    world: World, old_session: Any
) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    clients = aws.session_clients(
        old_session.create_client,
        region="us-east-1",
        endpoint_url=world.endpoint_url,
        config=aws.client_config(1),
    )

    items = runner.list_messages(clients, [dlq], {}, 10, include_body=False)
    again = runner.list_messages(clients, [dlq], {}, 10, include_body=False)

    assert len(items) == 3
    assert all(item["sent_at"] and item["age_seconds"] >= 0 for item in items)
    assert [item["receive_count"] for item in items] == [1, 1, 1]
    assert [item["receive_count"] for item in again] == [2, 2, 2]


def test_a_redrive_through_such_a_model_delivers(world: World, old_session: Any) -> None:
    dlq = world.queue("dlq")
    capture, failed = world.capture_rule()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n), **failed) for n in range(4)])
    clients = aws.session_clients(
        old_session.create_client,
        region="us-east-1",
        endpoint_url=world.endpoint_url,
        config=aws.client_config(4),
    )

    result = runner.execute(clients, {"queue": dlq, "wait_seconds": 0, "empty_receives": 1})

    assert (result["redriven"], result["kept"]) == (4, 0)
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    assert len(world.captured_events(capture)) == 4
