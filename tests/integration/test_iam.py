"""The IAM policies in docs/iam are enough, and each action in them is needed.

A separate moto server runs in a subprocess with IAM enforcement switched on
after set-up (`/moto-api/reset-auth`), so the session server of the other
tests keeps running without it. The module runs through ansible-playbook with
the keys of an IAM user holding exactly the documented policy, or that policy
with one action removed.

Where moto 5.2 differs from AWS, the test adapts and says so (`for_moto`,
`SERVER`):
- moto authorises batch calls by their API name (`sqs:DeleteMessageBatch`),
  AWS by the single action (`sqs:DeleteMessage`): each such action gets its
  batch name added, and removing the action removes both;
- moto authorises EventBridge calls and `sqs:GetQueueUrl` against resource
  `*` (it does not work out the bus or queue ARN), so those actions get
  `Resource: *`; the other SQS actions are checked against the queue ARN,
  so their scoping is exercised;
- moto answers a denied call of a JSON-protocol API (SQS, EventBridge) with
  an XML body botocore cannot parse (the error code becomes "403"); AWS
  answers JSON with code AccessDenied / AccessDeniedException. The server
  below answers JSON like AWS.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import boto3
import botocore.exceptions
import pytest

from tests.support.ansible_run import REPO, PlaybookRun, run_playbook
from tests.support.events import (
    ACCOUNT,
    REGION,
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
)
from tests.support.moto_server import free_port
from tests.support.world import World, visible_messages

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
MARKER = "_redrive"
IAM_DOCS = REPO / "docs" / "iam"
Policy = dict[str, Any]

SERVER = """
import sys, time
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

def json_errors(self, resource="*"):
    try:
        original(self, resource)
    except JsonRESTError:
        raise
    except Exception as error:
        if not self.headers.get("X-Amz-Target") or not hasattr(error, "error_type"):
            raise
        answer = JsonRESTError(error.error_type, error.message)
        answer.code = error.code
        raise answer from None

ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = json_errors
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
while True:
    time.sleep(3600)
"""

# Actions moto checks against resource "*" and batch API names moto authorises separately.
MOTO_STAR_ACTIONS = {"sqs:GetQueueUrl", "events:PutEvents", "events:DescribeEventBus"}
MOTO_BATCH_NAMES = {
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
    "sqs:SendMessage": "sqs:SendMessageBatch",
}
# The engine goes on without DescribeEventBus (it then just puts).
OPTIONAL_ACTIONS = {"events:DescribeEventBus"}


def _post(url: str, data: bytes) -> None:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def iam_url() -> Iterator[str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _statement(actions: list[str], resource: str) -> Policy:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


@dataclass
class IamWorld(World):
    """A World whose clients use an admin IAM user, so it works with enforcement on."""

    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sqs = self.client("sqs")
        self.events = self.client("events")
        self.iam = self.client("iam")

    def client(self, service: str, keys: Optional[dict[str, str]] = None) -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=REGION, **(keys or self.keys)
        )

    def user(self, policy: Policy) -> dict[str, str]:
        """A new IAM user with exactly this inline policy; its keys as boto3 kwargs."""
        name = f"u{uuid.uuid4().hex[:10]}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(
            UserName=name, PolicyName="redrive", PolicyDocument=json.dumps(policy)
        )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def messages(self, queue_url: str) -> dict[str, dict[str, Any]]:
        """Visible messages by id, left visible (received with a short timeout, released)."""
        return visible_messages(self.sqs, queue_url)


@pytest.fixture(scope="module")
def admin(iam_url: str) -> dict[str, str]:
    """An admin user made before enforcement starts; then every call must be signed."""
    setup = IamWorld(iam_url, keys={"aws_access_key_id": "testing", "aws_secret_access_key": "x"})
    keys = setup.user({"Version": "2012-10-17", "Statement": [_statement(["*"], "*")]})
    _post(iam_url + "/moto-api/reset-auth", b"0")
    return keys


@pytest.fixture
def iam_world(iam_url: str, admin: dict[str, str]) -> IamWorld:
    return IamWorld(iam_url, keys=admin)


def documented(name: str, world: IamWorld, dlq: str, quarantine: str = "") -> Policy:
    """A policy file from docs/iam with its placeholders filled in."""
    text = (IAM_DOCS / name).read_text()
    for placeholder, value in (
        ("REGION", REGION),
        ("ACCOUNT", ACCOUNT),
        ("DLQ_NAME", dlq),
        ("QUARANTINE_NAME", quarantine),
        ("BUS_NAME", "default"),
    ):
        text = text.replace(placeholder, value)
    return json.loads(text)


def actions_of(policy: Policy) -> list[str]:
    return sorted({action for statement in policy["Statement"] for action in statement["Action"]})


def without(policy: Policy, action: str) -> Policy:
    changed = copy.deepcopy(policy)
    for statement in changed["Statement"]:
        statement["Action"] = [name for name in statement["Action"] if name != action]
    changed["Statement"] = [statement for statement in changed["Statement"] if statement["Action"]]
    return changed


def for_moto(policy: Policy) -> Policy:
    """The same permissions in the form moto 5.2 checks (see the module docstring)."""
    statements = []
    for statement in policy["Statement"]:
        actions = list(statement["Action"])
        actions += [MOTO_BATCH_NAMES[action] for action in actions if action in MOTO_BATCH_NAMES]
        scoped = [action for action in actions if action not in MOTO_STAR_ACTIONS]
        star = [action for action in actions if action in MOTO_STAR_ACTIONS]
        if scoped:
            statements.append(_statement(scoped, statement["Resource"]))
        if star:
            statements.append(_statement(star, "*"))
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass
class Seeded:
    dlq: str
    capture: str
    good: set[str]
    bad: str


def seed(world: IamWorld) -> Seeded:
    dlq = world.queue("dlq")
    capture = world.capture()
    good = world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    bad = world.send(dlq, [malformed_message()])[0]
    return Seeded(dlq, capture, set(good), bad)


def redrive(
    world: IamWorld,
    tmp: Path,
    keys: dict[str, str],
    args: Optional[list[str]] = None,
    **options: Any,
) -> dict[str, Any]:
    task = {
        "name": "redrive",
        MODULE: {
            "wait_seconds": 0,
            "empty_receives": 1,
            "marker_field": MARKER,
            "deliver_to": "bus",
            "when_rule_unmatched": "put",
            **options,
        },
        "ignore_errors": True,
    }
    run = run_playbook(tmp, [task], world.endpoint_url, extra_args=args, env=aws_env(keys))
    result = run.result("redrive")
    result["_status"] = run.status("redrive")
    return result


def aws_env(keys: dict[str, str]) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
    }


def assert_nothing_lost(
    world: IamWorld, seeded: Seeded, quarantine: str = "", hidden: Optional[set[str]] = None
) -> set[str]:
    """Every seeded message is delivered, in the DLQ or in quarantine, except `hidden`
    ones still in flight in the DLQ (they reappear after their visibility timeout);
    return the delivered message ids."""
    events = world.captured_events(seeded.capture)
    delivered = {event["detail"][MARKER]["message_id"] for event in events}
    in_dlq = set(world.messages(seeded.dlq))
    quarantined = {
        message["MessageAttributes"]["REDRIVE_ORIGINAL_MESSAGE_ID"]["StringValue"]
        for message in (world.drain(quarantine) if quarantine else [])
    }
    hidden = hidden or set()
    assert (seeded.good | {seeded.bad}) - hidden <= delivered | in_dlq | quarantined
    assert world.depth(seeded.dlq)["in_flight"] == len(hidden)
    return delivered


def assert_denied(result: dict[str, Any], action: str) -> None:
    """The run failed on AccessDenied and the message names the IAM action to grant."""
    assert result["_status"] == "failed", result
    assert result["error"]["code"].startswith("AccessDenied"), result["error"]
    assert f"grant {action} to the caller" in result["msg"], result["msg"]


def test_exact_redrive_policy_redrives(iam_world: IamWorld, tmp_path: Path) -> None:
    seeded = seed(iam_world)
    policy = documented("redrive-policy.json", iam_world, iam_world.name("dlq"))
    keys = iam_world.user(for_moto(policy))

    result = redrive(iam_world, tmp_path, keys, queue=iam_world.name("dlq"))

    assert result["_status"] == "ok", result
    assert (result["redriven"], result["kept"]) == (3, 1)
    # Every call the policy must cover was made, and nothing else.
    assert set(result["api_calls"]) == {
        "ReceiveMessage",
        "PutEvents",
        "DeleteMessageBatch",
        "ChangeMessageVisibilityBatch",
        "DescribeEventBus",
    }
    assert assert_nothing_lost(iam_world, seeded) == seeded.good
    assert set(iam_world.messages(seeded.dlq)) == {seeded.bad}


REDRIVE_ACTIONS = [
    "events:DescribeEventBus",
    "events:PutEvents",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
]


def test_parametrized_actions_are_the_documented_ones(tmp_path: Path) -> None:
    world = IamWorld("http://unused", keys={})
    policy = documented("redrive-policy.json", world, "dlq")
    assert actions_of(policy) == REDRIVE_ACTIONS


@pytest.mark.parametrize("action", REDRIVE_ACTIONS)
def test_each_action_is_needed(iam_world: IamWorld, tmp_path: Path, action: str) -> None:
    seeded = seed(iam_world)
    policy = documented("redrive-policy.json", iam_world, iam_world.name("dlq"))
    keys = iam_world.user(for_moto(without(policy, action)))

    result = redrive(iam_world, tmp_path, keys, queue=iam_world.name("dlq"))

    if action in OPTIONAL_ACTIONS:
        # moto does refuse it; the engine tolerates the refusal and just puts.
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            iam_world.client("events", keys).describe_event_bus(Name="default")
        assert result["_status"] == "ok", result
        assert result["api_calls"]["DescribeEventBus"] >= 1
        assert result["redriven"] == 3
    else:
        assert_denied(result, action)
    # Without ChangeMessageVisibility the kept message stays hidden till its timeout ends.
    hidden = {seeded.bad} if action == "sqs:ChangeMessageVisibility" else set()
    delivered = assert_nothing_lost(iam_world, seeded, hidden=hidden)
    if action in (
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "events:PutEvents",
    ):
        assert delivered == set()
    if action == "sqs:DeleteMessage":
        # Delivered, but the messages are back in the DLQ: a later run puts them again.
        assert delivered == seeded.good
        assert set(iam_world.messages(seeded.dlq)) == seeded.good | {seeded.bad}


def quarantine_policy(world: IamWorld, removed: str = "") -> Policy:
    policy = documented("redrive-policy.json", world, world.name("dlq"))
    statement = documented(
        "quarantine-statement.json", world, world.name("dlq"), world.name("quarantine")
    )
    statement["Action"] = [action for action in statement["Action"] if action != removed]
    policy["Statement"].append(statement)
    return policy


@pytest.mark.parametrize(
    "removed", ["", "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
)
def test_quarantine_statement(iam_world: IamWorld, tmp_path: Path, removed: str) -> None:
    if removed == "sqs:GetQueueUrl":
        pytest.skip(
            "moto authorises GetQueueUrl against resource '*', not the queue ARN, so "
            "removing it from the quarantine statement cannot be observed"
        )
    seeded = seed(iam_world)
    quarantine = iam_world.queue("quarantine")
    keys = iam_world.user(for_moto(quarantine_policy(iam_world, removed)))

    # Given by name, the queue is found with GetQueueUrl; given by URL, it is checked with
    # GetQueueAttributes (the statement allows both, so either form works).
    by_url = removed == "sqs:GetQueueAttributes"
    result = redrive(
        iam_world,
        tmp_path,
        keys,
        queue=iam_world.name("dlq"),
        quarantine_queue=quarantine if by_url else iam_world.name("quarantine"),
    )

    if not removed:
        assert result["_status"] == "ok", result
        assert (result["redriven"], result["quarantined"]) == (3, 1)
        assert "SendMessageBatch" in result["api_calls"]
    else:
        assert_denied(result, removed)
    assert_nothing_lost(iam_world, seeded, quarantine)


def peek_keys(world: IamWorld, removed: str = "") -> dict[str, str]:
    policy = documented("peek-policy.json", world, world.name("dlq"))
    return world.user(for_moto(without(policy, removed) if removed else policy))


def test_peek_policy_allows_check_mode_but_not_a_redrive(
    iam_world: IamWorld, tmp_path: Path
) -> None:
    seeded = seed(iam_world)
    # Check mode does not need ChangeMessageVisibility: it receives with visibility 0.
    keys = peek_keys(iam_world, "sqs:ChangeMessageVisibility")

    check = redrive(iam_world, tmp_path / "check", keys, ["--check"], queue=iam_world.name("dlq"))

    assert check["_status"] == "ok", check
    assert (check["redriven"], check["kept"]) == (3, 1)
    assert set(check["api_calls"]) <= {"ReceiveMessage", "DescribeEventBus"}
    real = redrive(iam_world, tmp_path / "real", peek_keys(iam_world), queue=iam_world.name("dlq"))
    assert_denied(real, "events:PutEvents")
    assert assert_nothing_lost(iam_world, seeded) == set()


@pytest.mark.parametrize("removed", ["", "sqs:ChangeMessageVisibility"])
def test_peek_policy_serves_the_lookup(iam_world: IamWorld, tmp_path: Path, removed: str) -> None:
    seeded = seed(iam_world)
    keys = peek_keys(iam_world, removed)
    task = {
        "name": "peek",
        "ansible.builtin.set_fact": {"found": f"{{{{ query('{LOOKUP}', '{seeded.dlq}') }}}}"},
        "ignore_errors": True,
    }

    run: PlaybookRun = run_playbook(tmp_path, [task], iam_world.endpoint_url, env=aws_env(keys))

    result = run.result("peek")
    if removed:
        # The lookup hides each message it has seen and must make it visible again.
        assert run.status("peek") == "failed", result
        assert "AccessDenied" in result["msg"] and removed in result["msg"], result["msg"]
    else:
        assert run.status("peek") == "ok", result
        ids = {item["message_id"] for item in result["ansible_facts"]["found"]}
        assert ids == seeded.good | {seeded.bad}
    # Without ChangeMessageVisibility what the lookup saw stays hidden for its short timeout.
    assert_nothing_lost(iam_world, seeded, hidden=seeded.good | {seeded.bad} if removed else set())
