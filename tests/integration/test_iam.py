"""The IAM policies in docs/iam are enough, and each action in them is needed.

A separate moto server runs in a subprocess with IAM enforcement switched on
after set-up (`/moto-api/reset-auth`), so the session server of the other
tests keeps running without it. The module runs through ansible-playbook with
the keys of an IAM user holding exactly the documented policy, or that policy
with one action removed.

Bus mode (`deliver_to: bus`, the redrive and peek policies) redrives messages
that name a real rule, so the rule check (DescribeRule) is made and needed.
Target delivery (the default `auto`, the target-delivery policy) sends to real
targets of real rules: an SQS queue, an SNS topic (read through a raw SQS
subscription), a Lambda function, a Step Functions state machine, a Kinesis
stream, a Firehose stream (read in its S3 bucket), a CloudWatch Logs group and
another event bus (read through a rule to a queue); one more message belongs
to a target type not delivered to, so `auto` puts it on the bus and checks its
rule first.

moto 5.2 enforces IAM for every one of these services, by API name and, except
for SQS, against resource `*`. Where it differs from AWS the test adapts and
says so (`for_moto`, `SERVER`):
- moto authorises calls by their API name, AWS by the IAM action:
  `sqs:DeleteMessageBatch` for `sqs:DeleteMessage` (likewise
  ChangeMessageVisibilityBatch and SendMessageBatch), `sns:PublishBatch` for
  `sns:Publish`, `lambda:Invoke` for `lambda:InvokeFunction`. Each such action
  gets its API name added, and removing the action removes both;
- moto authorises `sqs:GetQueueUrl` and the calls of every other service
  against resource `*` (it does not work out the bus, rule, topic, function,
  state machine, stream or log group ARN), so those actions get `Resource: *`
  and their scoping is not exercised here. The other SQS actions are checked
  against the queue ARN (the DLQ, the quarantine queue, the target queue), so
  their scoping is. Because of this, removing `sqs:GetQueueUrl` from the
  quarantine statement cannot be observed in moto (that case is skipped);
- moto's SQS stores a queue's `KmsMasterKeyId` but never calls KMS, so the
  KMS statement for encrypted target queues and topics cannot be observed
  (its cases are skipped), and conditions are not translated;
- moto answers a denied call of a JSON-protocol API (SQS, EventBridge, Step
  Functions, Kinesis, Firehose, CloudWatch Logs) and of Lambda's REST-JSON API
  with an XML body botocore cannot parse (the error code becomes "403"), and
  a denied SNS call with `AccessDenied`. AWS answers JSON with
  AccessDenied / AccessDeniedException, and SNS answers `AuthorizationError`.
  The server below answers like AWS;
- moto's Lambda without docker runs no code and keeps no record of what it was
  invoked with: the server below writes each payload its Lambda backend
  received to a file, which the test reads as the function's side.
"""

from __future__ import annotations

import copy
import datetime
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import boto3
import botocore.exceptions
import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import aws_error
from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import (
    CodeClass,
    classify,
)
from tests.support.ansible_run import REPO, PlaybookRun, run_playbook
from tests.support.events import (
    ACCOUNT,
    REGION,
    body_of,
    custom_event,
    eventbridge_dlq_message,
    malformed_message,
    s3_cloudtrail_event,
)
from tests.support.moto_server import free_port
from tests.support.world import World, visible_messages

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
MARKER = "_redrive"
IAM_DOCS = REPO / "docs" / "iam"
Policy = dict[str, Any]

SERVER = """
import json, sys, time
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.core.models import default_user_config
from moto.core.responses import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
invoke = LambdaSimpleBackend.invoke


def refusal_like_aws(response, error):
    # The refusal AWS sends in this protocol, or None where moto's is already right.
    if response.headers.get("X-Amz-Target"):
        return JsonRESTError(error.error_type, error.message)
    if response.service_name == "awslambda":
        return JsonRESTError("AccessDeniedException", error.message)
    if response.service_name == "sns":
        return _RESTError("AuthorizationError", error.message)
    return None


def authorize_like_aws(self, resource="*"):
    try:
        authorize(self, resource)
    except JsonRESTError:
        raise
    except Exception as error:
        answer = refusal_like_aws(self, error) if hasattr(error, "error_type") else None
        if answer is None:
            raise
        answer.code = error.code
        raise answer from None


def recorded_invoke(self, function_name, qualifier, body, headers, response_headers):
    payload = body.decode("utf-8") if isinstance(body, bytes) else body
    with open(sys.argv[2], "a", encoding="utf-8") as log:
        log.write(json.dumps({"function": function_name, "payload": payload}) + "\\n")
    return invoke(self, function_name, qualifier, body, headers, response_headers)


ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize_like_aws
LambdaSimpleBackend.invoke = recorded_invoke
default_user_config["lambda"] = {"use_docker": False}
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
while True:
    time.sleep(3600)
"""

# moto authorises these by their API name (see the module docstring).
MOTO_API_NAMES = {
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sns:Publish": "sns:PublishBatch",
    "lambda:InvokeFunction": "lambda:Invoke",
}
# The engine goes on without DescribeEventBus (it then just puts).
OPTIONAL_ACTIONS = {"events:DescribeEventBus"}
# Read calls: refused, they keep the messages that needed them, with the action to grant.
READ_ACTIONS = {"events:DescribeRule", "events:ListTargetsByRule"}


def _post(url: str, data: bytes) -> None:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=10).close()


@dataclass(frozen=True)
class IamServer:
    url: str
    invocations: Path  # one JSON line per Invoke moto's Lambda backend received


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IamServer]:
    port = free_port()
    invocations = tmp_path_factory.mktemp("lambda") / "invocations.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(invocations)],
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
        yield IamServer(url, invocations)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def iam_url(iam_server: IamServer) -> str:
    return iam_server.url


def _statement(actions: list[str], resource: Any) -> Policy:
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

    def capture_rule(self, bus: str = "default") -> tuple[str, str]:
        """A rule on `bus` sending every event of the account to a new queue: (queue URL,
        rule ARN)."""
        queue_url = self.queue(f"capture-{uuid.uuid4().hex[:6]}")
        rule = self.name(f"capture-{uuid.uuid4().hex[:6]}")
        arn = self.events.put_rule(
            Name=rule, EventBusName=bus, EventPattern=json.dumps({"account": [ACCOUNT]})
        )["RuleArn"]
        self.events.put_targets(
            Rule=rule,
            EventBusName=bus,
            Targets=[{"Id": "capture", "Arn": self.queue_arn(queue_url)}],
        )
        return queue_url, arn

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


PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]*[A-Z]\b")


def documented(name: str, **values: str) -> Policy:
    """A policy file from docs/iam with its placeholders filled in; REGION, ACCOUNT and
    BUS_NAME default to the test's. Every placeholder in the file must get a value."""
    filled = {"REGION": REGION, "ACCOUNT": ACCOUNT, "BUS_NAME": "default", **values}

    def value(match: re.Match[str]) -> str:
        if match.group() not in filled:
            raise KeyError(f"{name}: no value for placeholder {match.group()}")
        return filled[match.group()]

    return json.loads(PLACEHOLDER.sub(value, (IAM_DOCS / name).read_text()))


def actions_of(policy: Policy) -> list[str]:
    return sorted({action for statement in policy["Statement"] for action in statement["Action"]})


def without(policy: Policy, action: str) -> Policy:
    changed = copy.deepcopy(policy)
    for statement in changed["Statement"]:
        statement["Action"] = [name for name in statement["Action"] if name != action]
    changed["Statement"] = [statement for statement in changed["Statement"] if statement["Action"]]
    return changed


def scoped_in_moto(action: str) -> bool:
    """moto checks these against the resource ARN, everything else against `*`."""
    return action.startswith("sqs:") and action != "sqs:GetQueueUrl"


def for_moto(policy: Policy) -> Policy:
    """The same permissions in the form moto 5.2 checks (see the module docstring)."""
    statements = []
    for statement in policy["Statement"]:
        actions = list(statement["Action"])
        actions += [MOTO_API_NAMES[action] for action in actions if action in MOTO_API_NAMES]
        scoped = [action for action in actions if scoped_in_moto(action)]
        star = [action for action in actions if not scoped_in_moto(action)]
        if scoped:
            statements.append(_statement(scoped, statement["Resource"]))
        if star:
            statements.append(_statement(star, "*"))
    return {"Version": "2012-10-17", "Statement": statements}


# ---- bus mode: the redrive, quarantine and peek policies ---------------------------------


@dataclass
class Seeded:
    dlq: str
    capture: str
    rule: str
    good: set[str]
    bad: str

    @property
    def rule_name(self) -> str:
        return self.rule.split(":rule/", 1)[1]


def seed(world: IamWorld) -> Seeded:
    """A DLQ of three events whose rule (a real one, sending them to a capture queue)
    failed to reach its target, and one malformed message."""
    dlq = world.queue("dlq")
    capture, rule = world.capture_rule()
    target = world.queue_arn(capture)
    messages = [
        eventbridge_dlq_message(custom_event(n), rule=rule, target_arn=target) for n in range(3)
    ]
    good = world.send(dlq, messages)
    bad = world.send(dlq, [malformed_message()])[0]
    return Seeded(dlq, capture, rule, set(good), bad)


def bus_policy(name: str, world: IamWorld, seeded: Seeded, **values: str) -> Policy:
    return documented(name, DLQ_NAME=world.name("dlq"), RULE_NAME=seeded.rule_name, **values)


def run_module(
    endpoint_url: str,
    tmp: Path,
    tasks: list[tuple[str, dict[str, str], dict[str, Any]]],
    args: Optional[list[str]] = None,
) -> dict[str, dict[str, Any]]:
    """One playbook running the module once per (task name, keys, options), each task
    as the IAM user whose keys it gets; the results by task name, with `_status`."""
    playbook = []
    for name, keys, options in tasks:
        module = {
            "wait_seconds": 0,
            "empty_receives": 1,
            "marker_field": MARKER,
            "access_key": keys["aws_access_key_id"],
            "secret_key": keys["aws_secret_access_key"],
            **options,
        }
        playbook.append({"name": name, MODULE: module, "ignore_errors": True})
    run = run_playbook(tmp, playbook, endpoint_url, extra_args=args)
    results = {}
    for name, _keys, _options in tasks:
        results[name] = run.result(name)
        results[name]["_status"] = run.status(name)
    return results


def redrive(
    world: IamWorld,
    tmp: Path,
    keys: dict[str, str],
    args: Optional[list[str]] = None,
    **options: Any,
) -> dict[str, Any]:
    """A bus-mode run as the user with these keys."""
    task = ("redrive", keys, {"deliver_to": "bus", **options})
    return run_module(world.endpoint_url, tmp, [task], args)["redrive"]


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
    """The run failed on the refusal and the message names the IAM action to grant."""
    assert result["_status"] == "failed", result
    code = result["error"]["code"]
    assert code.startswith("AccessDenied") or code == "AuthorizationError", result["error"]
    assert f"grant {action} to the caller" in result["msg"], result["msg"]


def assert_kept_for(result: dict[str, Any], action: str, message_ids: set[str]) -> None:
    """A refused read call kept exactly these messages, each with the action to grant."""
    assert result["_status"] == "ok", result
    denied = {
        item["message_id"]
        for item in result["kept_messages"]
        if f"grant {action} on " in item["reason"] and item["code"].startswith("AccessDenied")
    }
    assert denied == message_ids, result["kept_messages"]


def test_exact_redrive_policy_redrives(iam_world: IamWorld, tmp_path: Path) -> None:
    seeded = seed(iam_world)
    keys = iam_world.user(for_moto(bus_policy("redrive-policy.json", iam_world, seeded)))

    result = redrive(iam_world, tmp_path, keys, queue=iam_world.name("dlq"))

    assert result["_status"] == "ok", result
    assert (result["redriven"], result["kept"]) == (3, 1)
    # Every call the policy must cover was made, and nothing else.
    assert set(result["api_calls"]) == {
        "ReceiveMessage",
        "DescribeRule",
        "PutEvents",
        "DeleteMessageBatch",
        "ChangeMessageVisibilityBatch",
        "DescribeEventBus",
    }
    assert assert_nothing_lost(iam_world, seeded) == seeded.good
    assert set(iam_world.messages(seeded.dlq)) == {seeded.bad}


REDRIVE_ACTIONS = [
    "events:DescribeEventBus",
    "events:DescribeRule",
    "events:PutEvents",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
]


def test_parametrized_actions_are_the_documented_ones() -> None:
    policy = documented("redrive-policy.json", DLQ_NAME="dlq", RULE_NAME="rule")
    assert actions_of(policy) == REDRIVE_ACTIONS


@pytest.mark.parametrize("action", REDRIVE_ACTIONS)
def test_each_action_is_needed(iam_world: IamWorld, tmp_path: Path, action: str) -> None:
    seeded = seed(iam_world)
    policy = bus_policy("redrive-policy.json", iam_world, seeded)
    keys = iam_world.user(for_moto(without(policy, action)))

    result = redrive(iam_world, tmp_path, keys, queue=iam_world.name("dlq"))

    if action in OPTIONAL_ACTIONS:
        # moto does refuse it; the engine tolerates the refusal and just puts.
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            iam_world.client("events", keys).describe_event_bus(Name="default")
        assert result["_status"] == "ok", result
        assert result["api_calls"]["DescribeEventBus"] >= 1
        assert result["redriven"] == 3
    elif action in READ_ACTIONS:
        # Without the rule check nothing is put: the events might reach no rule.
        assert_kept_for(result, action, seeded.good)
        assert result["redriven"] == 0
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
        "events:DescribeRule",
    ):
        assert delivered == set()
    if action == "sqs:DeleteMessage":
        # Delivered, but the messages are back in the DLQ: a later run puts them again.
        assert delivered == seeded.good
        assert set(iam_world.messages(seeded.dlq)) == seeded.good | {seeded.bad}


def quarantine_policy(world: IamWorld, seeded: Seeded, removed: str = "") -> Policy:
    policy = bus_policy("redrive-policy.json", world, seeded)
    statement = documented("quarantine-statement.json", QUARANTINE_NAME=world.name("quarantine"))
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
    keys = iam_world.user(for_moto(quarantine_policy(iam_world, seeded, removed)))

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


def peek_keys(world: IamWorld, seeded: Seeded, removed: str = "") -> dict[str, str]:
    policy = bus_policy("peek-policy.json", world, seeded)
    return world.user(for_moto(without(policy, removed) if removed else policy))


def test_peek_policy_allows_check_mode_but_not_a_redrive(
    iam_world: IamWorld, tmp_path: Path
) -> None:
    seeded = seed(iam_world)
    # Check mode does not need ChangeMessageVisibility: it receives with visibility 0.
    keys = peek_keys(iam_world, seeded, "sqs:ChangeMessageVisibility")

    check = redrive(iam_world, tmp_path / "check", keys, ["--check"], queue=iam_world.name("dlq"))

    assert check["_status"] == "ok", check
    # Redriven in check mode: the rule was read (DescribeRule) and still matches them.
    assert (check["redriven"], check["kept"]) == (3, 1)
    assert set(check["api_calls"]) <= {"ReceiveMessage", "DescribeEventBus", "DescribeRule"}
    assert check["api_calls"]["DescribeRule"] == 1
    real = redrive(
        iam_world, tmp_path / "real", peek_keys(iam_world, seeded), queue=iam_world.name("dlq")
    )
    assert_denied(real, "events:PutEvents")
    assert assert_nothing_lost(iam_world, seeded) == set()


@pytest.mark.parametrize("removed", ["", "sqs:ChangeMessageVisibility"])
def test_peek_policy_serves_the_lookup(iam_world: IamWorld, tmp_path: Path, removed: str) -> None:
    seeded = seed(iam_world)
    keys = peek_keys(iam_world, seeded, removed)
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
        items = {item["message_id"]: item for item in result["ansible_facts"]["found"]}
        assert set(items) == seeded.good | {seeded.bad}
        # The default `auto` read the rule's targets (ListTargetsByRule) to plan each event.
        capture_arn = iam_world.queue_arn(seeded.capture)
        assert {items[id_]["route"] for id_ in seeded.good} == {"target"}
        assert {items[id_]["target"]["arn"] for id_ in seeded.good} == {capture_arn}
    # Without ChangeMessageVisibility what the lookup saw stays hidden for its short timeout.
    assert_nothing_lost(iam_world, seeded, hidden=seeded.good | {seeded.bad} if removed else set())


# ---- target delivery: the target-delivery policy ---------------------------------------

TARGET_POLICY = "target-delivery-policy.json"
# Target types in the order their messages are seeded, and the action each one's sender
# needs (CloudWatch Logs needs two: the stream is created first).
KINDS = ("sqs", "sns", "lambda", "states", "kinesis", "firehose", "logs", "events")
DELIVERY_ACTIONS = {
    "sqs:SendMessage": "sqs",
    "sns:Publish": "sns",
    "lambda:InvokeFunction": "lambda",
    "states:StartExecution": "states",
    "kinesis:PutRecords": "kinesis",
    "firehose:PutRecordBatch": "firehose",
    "logs:CreateLogStream": "logs",
    "logs:PutLogEvents": "logs",
    "events:PutEvents": "events",
}
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
TARGET_CASES = ["", *sorted(READ_ACTIONS), *DELIVERY_ACTIONS]
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@dataclass
class Targets:
    """One of each target type, the targets of two rules; a third rule's only target is
    an API destination, a type `auto` does not deliver to."""

    arns: dict[str, str] = field(default_factory=dict)  # kind -> target ARN
    rules: dict[str, str] = field(default_factory=dict)  # kind -> ARN of the target's rule
    fallback_rule: str = ""
    fallback_target: str = ""
    names: dict[str, str] = field(default_factory=dict)  # the policy's placeholders
    queue_url: str = ""
    topic_queue_url: str = ""
    bucket: str = ""
    log_group: str = ""
    bus_capture_url: str = ""


def add_queue(world: IamWorld, targets: Targets) -> None:
    # Encrypted with a customer managed key, as the KMS statement is for (moto never uses it).
    key_id = world.client("kms").create_key()["KeyMetadata"]["KeyId"]
    attributes = {"KmsMasterKeyId": key_id}
    name = world.name("target")
    targets.queue_url = world.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    targets.arns["sqs"] = world.queue_arn(targets.queue_url)
    targets.names.update(TARGET_QUEUE_NAME=name, TARGET_KEY_ID=key_id)


def add_topic(world: IamWorld, targets: Targets) -> None:
    sns = world.client("sns")
    targets.arns["sns"] = sns.create_topic(Name=world.name("topic"))["TopicArn"]
    targets.topic_queue_url = world.queue("topic-subscriber")
    sns.subscribe(
        TopicArn=targets.arns["sns"],
        Protocol="sqs",
        Endpoint=world.queue_arn(targets.topic_queue_url),
        Attributes={"RawMessageDelivery": "true"},
    )
    targets.names["TOPIC_NAME"] = world.name("topic")


def add_function_and_state_machine(world: IamWorld, targets: Targets) -> None:
    role = world.iam.create_role(RoleName=world.name("role"), AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    targets.arns["lambda"] = world.client("lambda").create_function(
        FunctionName=world.name("fn"),
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    targets.arns["states"] = world.client("stepfunctions").create_state_machine(
        name=world.name("sm"), definition=DEFINITION, roleArn=role["Role"]["Arn"]
    )["stateMachineArn"]
    targets.names.update(FUNCTION_NAME=world.name("fn"), STATE_MACHINE_NAME=world.name("sm"))


def add_streams(world: IamWorld, targets: Targets) -> None:
    kinesis = world.client("kinesis")
    kinesis.create_stream(StreamName=world.name("stream"), ShardCount=1)
    summary = kinesis.describe_stream_summary(StreamName=world.name("stream"))
    targets.arns["kinesis"] = summary["StreamDescriptionSummary"]["StreamARN"]
    targets.bucket = world.name("archive")
    world.client("s3").create_bucket(Bucket=targets.bucket)
    targets.arns["firehose"] = world.client("firehose").create_delivery_stream(
        DeliveryStreamName=world.name("firehose"),
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/{world.name('role')}",
            "BucketARN": f"arn:aws:s3:::{targets.bucket}",
        },
    )["DeliveryStreamARN"]
    targets.names.update(
        STREAM_NAME=world.name("stream"), DELIVERY_STREAM_NAME=world.name("firehose")
    )


def add_log_group_and_bus(world: IamWorld, targets: Targets) -> None:
    targets.log_group = f"/aws/events/{world.name('audit')}"
    world.client("logs").create_log_group(logGroupName=targets.log_group)
    targets.arns["logs"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{targets.log_group}:*"
    bus = world.bus("central")
    targets.arns["events"] = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
    targets.bus_capture_url, _rule = world.capture_rule(bus)
    targets.names.update(
        LOG_GROUP_NAME=targets.log_group,
        TARGET_BUS_NAME=bus,
        TARGET_REGION=REGION,
        TARGET_ACCOUNT=ACCOUNT,
    )


def add_rules(world: IamWorld, targets: Targets) -> None:
    # EventBridge allows five targets per rule.
    for rule, kinds in (("orders", KINDS[:5]), ("audit", KINDS[5:])):
        arn = world.events.put_rule(
            Name=world.name(rule), EventPattern=json.dumps({"source": ["com.example.shop"]})
        )["RuleArn"]
        world.events.put_targets(
            Rule=world.name(rule),
            Targets=[{"Id": kind, "Arn": targets.arns[kind]} for kind in kinds],
        )
        targets.rules.update((kind, arn) for kind in kinds)
    hook = world.name("hook")
    targets.fallback_target = f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/{hook}/1"
    targets.fallback_rule = world.events.put_rule(
        Name=world.name("legacy"), EventPattern=json.dumps({"source": ["aws.s3"]})
    )["RuleArn"]
    world.events.put_targets(
        Rule=world.name("legacy"), Targets=[{"Id": "webhook", "Arn": targets.fallback_target}]
    )
    targets.names["RULE_NAME"] = f"{world.prefix}-*"


def make_targets(world: IamWorld) -> Targets:
    targets = Targets()
    for add in (add_queue, add_topic, add_function_and_state_machine, add_streams):
        add(world, targets)
    add_log_group_and_bus(world, targets)
    add_rules(world, targets)
    return targets


@dataclass
class TargetCase:
    """One DLQ, one message per target type (tagged by its event's orderId) and one for
    the API destination, redriven by a user holding the policy less `removed`."""

    removed: str
    dlq: str
    events: dict[str, dict[str, Any]]  # tag -> the event in the DLQ message
    message_ids: dict[str, str]  # tag -> DLQ message id
    fallback_id: str
    keys: dict[str, str]
    result: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def tag(removed: str, kind: str) -> str:
        return f"{removed or 'exact'}/{kind}"

    @property
    def every_message(self) -> set[str]:
        return set(self.message_ids.values()) | {self.fallback_id}


def recent(event: dict[str, Any]) -> dict[str, Any]:
    """Stamped now: CloudWatch Logs refuses events older than 14 days."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    event["time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def target_case(world: IamWorld, targets: Targets, index: int, removed: str) -> TargetCase:
    dlq = world.queue(f"dlq-{index}")
    events, messages = {}, []
    for kind in KINDS:
        tag = TargetCase.tag(removed, kind)
        events[tag] = recent(custom_event(index))
        events[tag]["detail"]["orderId"] = tag
        messages.append(
            eventbridge_dlq_message(
                events[tag], rule=targets.rules[kind], target_arn=targets.arns[kind]
            )
        )
    fallback = eventbridge_dlq_message(
        recent(s3_cloudtrail_event()),
        rule=targets.fallback_rule,
        target_arn=targets.fallback_target,
    )
    *ids, fallback_id = world.send(dlq, [*messages, fallback])
    policy = documented(TARGET_POLICY, DLQ_NAME=world.name(f"dlq-{index}"), **targets.names)
    keys = world.user(for_moto(without(policy, removed) if removed else policy))
    return TargetCase(removed, dlq, events, dict(zip(events, ids)), fallback_id, keys)


@dataclass
class TargetRuns:
    targets: Targets
    cases: dict[str, TargetCase]
    received: dict[str, list[tuple[str, str]]]  # tag -> [(kind, what that target got)]
    world: IamWorld


def queue_bodies(world: IamWorld, queue_url: str) -> list[str]:
    return [message["Body"] for message in world.drain(queue_url)]


def invoked_payloads(invocations: Path, function_arn: str) -> list[str]:
    if not invocations.exists():
        return []
    calls = [json.loads(line) for line in invocations.read_text("utf-8").splitlines()]
    return [call["payload"] for call in calls if call["function"] == function_arn]


def execution_inputs(world: IamWorld, machine_arn: str) -> list[str]:
    states = world.client("stepfunctions")
    executions = states.list_executions(stateMachineArn=machine_arn)["executions"]
    return [states.describe_execution(executionArn=e["executionArn"])["input"] for e in executions]


def stream_records(world: IamWorld, stream_arn: str) -> list[str]:
    kinesis = world.client("kinesis")
    shard = kinesis.list_shards(StreamARN=stream_arn)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamARN=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, StreamARN=stream_arn)["Records"]
    return [record["Data"].decode("utf-8") for record in records]


def bucket_records(world: IamWorld, bucket: str) -> list[str]:
    """Firehose writes the records of a call one after another, with no delimiter."""
    s3, decoder, found = world.client("s3"), json.JSONDecoder(), []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        text = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8")
        at = 0
        while at < len(text):
            _record, end = decoder.raw_decode(text, at)
            found.append(text[at:end])
            at = end
    return found


def log_messages(world: IamWorld, log_group: str) -> list[str]:
    events = world.client("logs").filter_log_events(logGroupName=log_group)["events"]
    return [event["message"] for event in events]


def what_targets_received(
    world: IamWorld, targets: Targets, invocations: Path
) -> dict[str, list[tuple[str, str]]]:
    """Everything each target got, read on its own side, by the tag of the event in it."""
    got = {
        "sqs": queue_bodies(world, targets.queue_url),
        "sns": queue_bodies(world, targets.topic_queue_url),  # raw delivery: the message
        "lambda": invoked_payloads(invocations, targets.arns["lambda"]),
        "states": execution_inputs(world, targets.arns["states"]),
        "kinesis": stream_records(world, targets.arns["kinesis"]),
        "firehose": bucket_records(world, targets.bucket),
        "logs": log_messages(world, targets.log_group),
        "events": queue_bodies(world, targets.bus_capture_url),  # what the bus's rule sent
    }
    received: dict[str, list[tuple[str, str]]] = {}
    for kind, texts in got.items():
        for text in texts:
            tag = str(json.loads(text)["detail"]["orderId"])
            received.setdefault(tag, []).append((kind, text))
    return received


@pytest.fixture(scope="module")
def target_runs(
    iam_server: IamServer, admin: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> TargetRuns:
    """Every target case, one task each in one playbook (a playbook costs seconds, a task
    less than one), then what every target received."""
    world = IamWorld(iam_server.url, keys=admin)
    targets = make_targets(world)
    cases = {
        removed: target_case(world, targets, index, removed)
        for index, removed in enumerate(TARGET_CASES)
    }
    tasks = [(case.removed or "exact", case.keys, {"queue": case.dlq}) for case in cases.values()]
    results = run_module(world.endpoint_url, tmp_path_factory.mktemp("targets"), tasks)
    for case in cases.values():
        case.result = results[case.removed or "exact"]
    received = what_targets_received(world, targets, iam_server.invocations)
    return TargetRuns(targets, cases, received, world)


def delivered_tags(runs: TargetRuns, case: TargetCase) -> set[str]:
    return {tag for tag in case.events if tag in runs.received}


def assert_nothing_lost_at_targets(runs: TargetRuns, case: TargetCase) -> set[str]:
    """Every message of the case reached its own target exactly once or is in the DLQ
    (and none is left hidden); return the tags delivered."""
    delivered = delivered_tags(runs, case)
    for tag in delivered:
        kind = tag.rsplit("/", 1)[1]
        assert [got_kind for got_kind, _text in runs.received[tag]] == [kind], tag
    in_dlq = set(runs.world.messages(case.dlq))
    kept = {case.message_ids[tag] for tag in set(case.events) - delivered}
    assert kept | {case.fallback_id} == in_dlq, case.result
    assert runs.world.depth(case.dlq)["in_flight"] == 0
    return delivered


TARGET_PLACEHOLDERS = (
    "DLQ_NAME",
    "RULE_NAME",
    "TARGET_QUEUE_NAME",
    "TOPIC_NAME",
    "FUNCTION_NAME",
    "STATE_MACHINE_NAME",
    "STREAM_NAME",
    "DELIVERY_STREAM_NAME",
    "LOG_GROUP_NAME",
    "TARGET_REGION",
    "TARGET_ACCOUNT",
    "TARGET_BUS_NAME",
    "TARGET_KEY_ID",
)


def test_target_cases_are_the_documented_actions() -> None:
    policy = documented(TARGET_POLICY, **{name: "x" for name in TARGET_PLACEHOLDERS})
    dlq_statement = documented("redrive-policy.json", DLQ_NAME="x", RULE_NAME="x")["Statement"][0]
    # The DLQ statement is the redrive policy's, whose actions are proved one by one above.
    assert policy["Statement"][0] == dlq_statement
    assert actions_of(policy) == sorted({*dlq_statement["Action"], *TARGET_CASES[1:], *KMS_ACTIONS})


def test_exact_target_delivery_policy_delivers_to_every_target(target_runs: TargetRuns) -> None:
    case = target_runs.cases[""]
    result = case.result

    assert result["_status"] == "ok", result
    assert (result["redriven"], result["kept"]) == (len(KINDS), 1)
    assert assert_nothing_lost_at_targets(target_runs, case) == set(case.events)
    for tag, event in case.events.items():
        ((kind, got),) = target_runs.received[tag]
        if kind == "events":
            # PutEvents on the target bus: a new event with the original's content.
            put = json.loads(got)
            assert (put["source"], put["detail-type"]) == (event["source"], event["detail-type"])
            assert {k: v for k, v in put["detail"].items() if k != MARKER} == event["detail"]
        else:
            assert got == body_of(event), kind  # the DLQ body, byte for byte
    # The API destination's message went the bus way: its rule was read and no longer
    # matches the rewritten source, so it stays. (DescribeEventBus, not in the policy, was
    # refused, and the engine went on without it.)
    (kept,) = result["kept_messages"]
    assert (kept["message_id"], kept["code"]) == (case.fallback_id, "no_longer_matches_rule")
    assert set(result["api_calls"]) == {
        "ReceiveMessage",
        "ListTargetsByRule",
        "DescribeEventBus",
        "DescribeRule",
        "SendMessageBatch",
        "PublishBatch",
        "Invoke",
        "StartExecution",
        "PutRecords",
        "PutRecordBatch",
        "CreateLogStream",
        "PutLogEvents",
        "PutEvents",
        "DeleteMessageBatch",
        "ChangeMessageVisibilityBatch",
    }
    assert result["api_calls"]["ListTargetsByRule"] == 3  # once per rule


@pytest.mark.parametrize("action", sorted(READ_ACTIONS))
def test_each_read_action_is_needed(target_runs: TargetRuns, action: str) -> None:
    case = target_runs.cases[action]

    delivered = assert_nothing_lost_at_targets(target_runs, case)

    if action == "events:ListTargetsByRule":
        # No target can be resolved, and `auto` does not guess the bus instead.
        assert_kept_for(case.result, action, case.every_message)
        assert delivered == set()
    else:
        # Only the message that goes the bus way reads its rule.
        assert_kept_for(case.result, action, {case.fallback_id})
        assert delivered == set(case.events)


KMS_UNOBSERVABLE = (
    "moto's SQS and SNS never call KMS for an encrypted queue or topic (the target queue "
    "here is one), so removing a KMS action from the target-delivery policy cannot be observed"
)


@pytest.mark.parametrize(
    "action",
    [
        *DELIVERY_ACTIONS,
        *(
            pytest.param(name, marks=pytest.mark.skip(reason=KMS_UNOBSERVABLE))
            for name in KMS_ACTIONS
        ),
    ],
)
def test_each_delivery_action_is_needed(target_runs: TargetRuns, action: str) -> None:
    case = target_runs.cases[action]

    assert_denied(case.result, action)
    delivered = assert_nothing_lost_at_targets(target_runs, case)
    assert TargetCase.tag(action, DELIVERY_ACTIONS[action]) not in delivered


KMS_HINT = "grant kms:GenerateDataKey and kms:Decrypt on the target's KMS key to the caller"


@pytest.mark.parametrize(
    ("action", "code", "hint"),
    [
        # SNS refuses with AuthorizationError (the PublishBatch API reference, Errors).
        ("PublishBatch", "AuthorizationError", "grant sns:Publish to the caller"),
        ("Invoke", "AccessDeniedException", "grant lambda:InvokeFunction to the caller"),
        # An encrypted target whose key the caller may not use, as SQS (JSON and query
        # spellings), SNS and Kinesis name the refusal.
        ("SendMessageBatch", "KMS.AccessDeniedException", KMS_HINT),
        ("SendMessageBatch", "KmsAccessDenied", KMS_HINT),
        ("PublishBatch", "KMSAccessDenied", KMS_HINT),
        ("PutRecords", "KMSAccessDeniedException", KMS_HINT),
    ],
)
def test_refusals_stop_the_run_and_say_what_to_grant(action: str, code: str, hint: str) -> None:
    """What moto cannot send: the refusals of real AWS, as botocore raises them."""
    error = botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "no"}}, action)

    translated = aws_error(error, action)

    assert hint in translated.describe()
    assert classify(translated.code) is CodeClass.FATAL
