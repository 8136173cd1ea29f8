"""Reliability scenarios shared by the full suite (tests/reliability) and its short form
(tests/integration/test_reliability_short.py): one function per scenario, sized by arguments.

Every scenario seeds a DLQ with realistic messages, redrives it under some hostility, and
accounts for every seeded message afterwards (`Ledger.check`):

- delivered: redrivable events seen on a capture queue behind a rule on the target bus,
  matched by the `_redrive` marker (PutEvents gives each entry a new id);
- kept: messages still in the DLQ, or in the quarantine queue with a `REDRIVE_REASON`;
- lost: a redrivable event neither delivered nor kept, or a poison message neither in the
  DLQ nor in quarantine. Every scenario must report lost = 0;
- duplicates: deliveries beyond the first of one event id.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from tests.support import events as shapes
from tests.support.ansible_run import BIN, base_env, run_playbook, write_playbook
from tests.support.aws_cli import aws, aws_command, cli_env, cli_flags
from tests.support.events import (
    REGION,
    custom_event,
    eventbridge_dlq_message,
    lambda_destination_message,
    lambda_dlq_message,
    rule_arn,
    s3_cloudtrail_event,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.stand_in import StandInServer
from tests.support.world import World, client, visible_messages

MARKER = "_redrive"
MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
REFUSED = "refused-by-aws"  # entries whose Detail holds this are refused by the proxy
SECRET_KEY = "sEcReT/ReliabilityProbe+0123456789abcdefXYZ"
SESSION_TOKEN = "tOkEn-ReliabilityProbe-9876543210"
BODY_MARKER = "本文-body-probe-7f3a"  # text only an event body carries

Row = dict[str, Any]


# ---- the seeded DLQ ----------------------------------------------------------------------


@dataclass
class Seeded:
    """What was put in the DLQ and what each message must become."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # redrivable, by event id
    message_event: dict[str, str] = field(default_factory=dict)  # message id -> event id
    poison: dict[str, str] = field(default_factory=dict)  # message id -> kind
    copies: Counter[str] = field(default_factory=Counter)  # event id -> DLQ copies

    @property
    def messages(self) -> int:
        return len(self.message_event) + len(self.poison)


def _rng_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def dlq_messages(
    rng: random.Random, count: int, bus: str
) -> list[tuple[dict[str, Any], Optional[str], Optional[dict[str, Any]]]]:
    """`count` messages: (send kwargs, poison kind or None, event or None).

    Sources aws.s3 (via CloudTrail) and custom (Japanese text, floats), EventBridge DLQ,
    Lambda DLQ and Lambda destination shapes, copies of one event id, and poison: bodies
    that cannot be parsed or turned into an entry, and entries AWS refuses.
    """
    rule = rule_arn("billing-ingest", bus)
    made: list[tuple[dict[str, Any], Optional[str], Optional[dict[str, Any]]]] = []
    redrivable: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for number in range(count):
        roll = rng.random()
        if redrivable and roll < 0.08:  # another copy: one per failed target
            kwargs, event = rng.choice(redrivable)
            other = copy.deepcopy(kwargs)
            if "RULE_ARN" in other["MessageAttributes"]:
                other["MessageAttributes"]["TARGET_ARN"]["StringValue"] += f"-{number}"
            made.append((other, None, event))
            continue
        if roll < 0.15:
            kind = rng.choice(["malformed_json", "detail_not_object", "missing_detail_type"])
            if kind == "malformed_json":
                body = '{"source": "com.example.shop", "detail-type": "注文", "detail": {'
            elif kind == "detail_not_object":
                body = json.dumps(custom_event(number, detail=[1, 2]), ensure_ascii=False)
            else:
                event = custom_event(number)
                del event["detail-type"]
                body = json.dumps(event, ensure_ascii=False)
            kwargs = eventbridge_dlq_message({}, rule=rule, body=body, error_code="INVALID_JSON")
            made.append((kwargs, kind, None))
            continue
        if roll < 0.19:  # parses, but PutEvents refuses it (terminal per-entry error)
            event = custom_event(number, id=_rng_uuid(rng))
            event["detail"]["flag"] = REFUSED
            made.append((eventbridge_dlq_message(event, rule=rule), "refused_by_aws", None))
            continue
        if roll < 0.50:
            event = s3_cloudtrail_event(f"in/{number:05d}.pdf", id=_rng_uuid(rng))
        else:
            event = custom_event(number, id=_rng_uuid(rng))
            event["detail"]["note"] += f" #{number}"
        shape = rng.random()
        if shape < 0.7:
            kwargs = eventbridge_dlq_message(event, rule=rule)
        elif shape < 0.85:
            kwargs = lambda_dlq_message(event)
        else:
            kwargs = lambda_destination_message(event)
        redrivable.append((kwargs, event))
        made.append((kwargs, None, event))
    return made


def seed(world: World, dlq: str, rng: random.Random, count: int, bus: str) -> Seeded:
    seeded = Seeded()
    made = dlq_messages(rng, count, bus)
    for start in range(0, len(made), 10):
        chunk = made[start : start + 10]
        answer = world.sqs.send_message_batch(
            QueueUrl=dlq,
            Entries=[{"Id": str(i), **kwargs} for i, (kwargs, _poison, _event) in enumerate(chunk)],
        )
        assert not answer.get("Failed"), answer
        ids = {item["Id"]: item["MessageId"] for item in answer["Successful"]}
        for index, (_kwargs, poison, event) in enumerate(chunk):
            message_id = ids[str(index)]
            if poison is not None:
                seeded.poison[message_id] = poison
            else:
                assert event is not None
                seeded.events[event["id"]] = event
                seeded.message_event[message_id] = event["id"]
                seeded.copies[event["id"]] += 1
    return seeded


def refuse_poison(proxy: FaultProxy) -> None:
    """AWS refuses some entries for good (a terminal per-entry error)."""
    proxy.fail_entries("InvalidArgument", match=lambda entry: REFUSED in entry.get("Detail", ""))


# ---- reading the world back ------------------------------------------------------------


def wait_settled(world: World, queue_url: str, timeout: float) -> None:
    """Until nothing is in flight (a killed run's hidden messages come back)."""
    deadline = time.monotonic() + timeout
    while world.depth(queue_url)["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.5)


def strip_marker(detail: dict[str, Any]) -> tuple[dict[str, Any], Optional[dict[str, Any]]]:
    detail = dict(detail)
    return detail, detail.pop(MARKER, None)


@dataclass
class Ledger:
    """One DLQ, its capture queue and quarantine; everything delivered so far."""

    world: World
    bus: str
    dlq: str
    capture: str
    quarantine: str
    seeded: Seeded = field(default_factory=Seeded)
    delivered: Counter[str] = field(default_factory=Counter)
    damaged: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, world: World, rng: random.Random, count: int) -> Ledger:
        bus = world.bus("bus")
        ledger = cls(
            world,
            bus,
            world.queue("dlq"),
            world.capture(bus, {"source": [{"prefix": ""}]}),
            world.queue("quarantine"),
        )
        ledger.seeded = seed(world, ledger.dlq, rng, count, bus)
        return ledger

    def params(self, **extra: Any) -> dict[str, Any]:
        base = {
            "queue": self.dlq,
            "event_bus": self.bus,
            "deliver_to": "bus",
            "when_rule_unmatched": "put",
            "marker_field": MARKER,
            "wait_seconds": 0,
            "empty_receives": 2,
            "visibility_timeout": 10,
            "concurrency": 2,
        }
        return {**base, **extra}

    def collect(self) -> None:
        """Drain the capture queue into `delivered`, checking each event is intact."""
        for event in self.world.captured_events(self.capture):
            detail, marker = strip_marker(event.get("detail") or {})
            if not marker:
                self.damaged.append(f"no marker in {event.get('id')}")
                continue
            event_id = marker["event_id"]
            self.delivered[event_id] += 1
            original = self.seeded.events.get(event_id)
            if original is None:
                self.damaged.append(f"unknown event {event_id} (poison redriven?)")
                continue
            expected_source = {original["source"], "redrive." + original["source"]}
            checks = {
                "detail": detail == original["detail"],
                "detail-type": event.get("detail-type") == original["detail-type"],
                "resources": event.get("resources") == original["resources"],
                "time": event.get("time") == original["time"],
                "source": event.get("source") in expected_source,
            }
            bad = [name for name, ok in checks.items() if not ok]
            if bad:
                self.damaged.append(f"{event_id}: {bad}")

    def redelivered(self) -> int:
        """Deliveries beyond an event's DLQ copies: one message put twice. (Copies of one
        event left for a later run are put again by it: a run dedupes only what it saw.)"""
        return sum(max(0, n - self.seeded.copies[event]) for event, n in self.delivered.items())

    def check(self, settle_seconds: float = 0.0) -> dict[str, Any]:
        """Account for every seeded message; the figures of one run."""
        if settle_seconds:
            wait_settled(self.world, self.dlq, settle_seconds)
        self.collect()
        in_dlq = self.world.visible_messages(self.dlq)
        quarantined = self.world.visible_messages(self.quarantine)
        reasons: dict[str, str] = {}
        for message in quarantined.values():
            attributes = message.get("MessageAttributes", {})
            original = attributes.get("REDRIVE_ORIGINAL_MESSAGE_ID", {}).get("StringValue", "")
            reasons[original] = attributes.get("REDRIVE_REASON", {}).get("StringValue", "")
        kept_events = {
            self.seeded.message_event[mid] for mid in in_dlq if mid in self.seeded.message_event
        }
        kept_events |= {
            self.seeded.message_event[mid] for mid in reasons if mid in self.seeded.message_event
        }
        lost_events = sorted(set(self.seeded.events) - set(self.delivered) - kept_events)
        lost_poison = sorted(m for m in self.seeded.poison if m not in in_dlq and m not in reasons)
        no_reason = sorted(m for m, reason in reasons.items() if not reason)
        return {
            "messages": self.seeded.messages,
            "events": len(self.seeded.events),
            "poison": len(self.seeded.poison),
            "delivered": len(self.delivered),
            "lost": len(lost_events) + len(lost_poison),
            "lost_ids": lost_events + lost_poison,
            "duplicates": sum(n - 1 for n in self.delivered.values()),
            "redelivered": self.redelivered(),
            "undelivered": len(set(self.seeded.events) - set(self.delivered)),
            "in_dlq": len(in_dlq),
            "quarantined": len(quarantined),
            "quarantine_copies": len(quarantined) - len(reasons),
            "kept": len(set(in_dlq) | set(reasons)),
            "quarantined_without_reason": no_reason,
            "damaged": list(self.damaged),
        }


def assert_sound(figures: dict[str, Any], *, complete: bool = True) -> None:
    """lost = 0, nothing damaged, every quarantined message has its reason; with
    `complete`, every redrivable event was delivered."""
    assert figures["lost"] == 0, figures["lost_ids"]
    assert not figures["damaged"], figures["damaged"][:5]
    assert not figures["quarantined_without_reason"], figures
    if complete:
        assert figures["undelivered"] == 0, figures


# ---- running a redrive -----------------------------------------------------------------


def engine_run(endpoint: str, params: dict[str, Any], **connection: Any) -> dict[str, Any]:
    """A redrive in this process, as the module and CLI run it (runner.execute)."""
    from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import (
        ConnectionOptions,
        make_clients,
    )
    from ansible_collections.redrive.eventbridge.plugins.module_utils.runner import execute

    options = {
        "endpoint_url": endpoint,
        "region": REGION,
        "access_key": "testing",
        "secret_key": "testing",
        **connection,
    }
    clients = make_clients(ConnectionOptions(**options), int(params.get("concurrency") or 8) * 2)
    return execute(clients, params)


def quiet_rerun(ledger: Ledger, proxy: FaultProxy, **extra: Any) -> dict[str, Any]:
    """What an operator does after trouble: run again, with AWS behaving."""
    proxy.reset()
    refuse_poison(proxy)
    return engine_run(proxy.url, ledger.params(**extra))


# ---- scenario 1: faults ------------------------------------------------------------------

Injector = Callable[[FaultProxy], None]

FAULTS: dict[str, Injector] = {
    "entry throttling": lambda p: p.fail_entries("ThrottlingException", rate=0.3),
    "entry InternalFailure": lambda p: p.fail_entries("InternalFailure", rate=0.3),
    "call throttling / 5xx": lambda p: (
        p.fail_calls("PutEvents", "ThrottlingException", rate=0.25),
        p.fail_calls("ReceiveMessage", "ServiceUnavailable", rate=0.15),
        p.fail_calls("DeleteMessageBatch", "InternalFailure", rate=0.15),
        p.fail_calls("SendMessageBatch", "ServiceUnavailable", rate=0.15),
    ),
    "lost PutEvents answers": lambda p: p.drop_responses("PutEvents", rate=0.2),
    "lost delete answers": lambda p: p.drop_responses("DeleteMessageBatch", rate=0.2),
    "delete entry failures": lambda p: p.fail_delete_entries("InternalError", rate=0.3),
    "empty receives": lambda p: p.empty_receives(rate=0.4),
    "latency": lambda p: p.set_latency(0.05),
}


def inject(proxy: FaultProxy, fault: str) -> None:
    for name, injector in FAULTS.items():
        if fault in (name, "all together"):
            injector(proxy)


def fault_run(world: World, fault: str, seed_value: int, count: int) -> Row:
    """One DLQ through one fault (or all): the faulty run, then a quiet rerun."""
    rng = random.Random(f"{fault}/{seed_value}")
    ledger = Ledger.create(world, rng, count)
    with fault_proxy(world.endpoint_url, seed=seed_value) as proxy:
        refuse_poison(proxy)
        inject(proxy, fault)
        quarantine = ledger.quarantine if seed_value % 2 == 0 else None
        result = engine_run(proxy.url, ledger.params(quarantine_queue=quarantine))
        assert "error" not in result, result.get("error")
        after_fault = ledger.check()
        assert_sound(after_fault, complete=False)
        dropped_puts = sum(rule.fired for rule in proxy.drops.get("PutEvents", []))
        rerun = quiet_rerun(ledger, proxy, quarantine_queue=quarantine)
    final = ledger.check()
    assert_sound(final)
    # A message whose delete kept failing comes back and is put (or quarantined) again; a
    # PutEvents answer lost on the wire leaves up to 10 entries that may be put twice.
    delete_failures = result["delete_failures"] + rerun["delete_failures"]
    assert final["redelivered"] <= delete_failures + 10 * dropped_puts, (final, result)
    assert final["quarantine_copies"] <= delete_failures, (final, result)
    assert final["kept"] == final["poison"], final
    return {
        **final,
        "kept_after_fault_run": after_fault["kept"],
        "delivered_in_fault_run": after_fault["delivered"],
        "delete_failures": delete_failures,
        "dropped_put_answers": dropped_puts,
    }


# ---- scenario 2: SIGKILL at random moments -------------------------------------------------


def start(via: str, base: Path, endpoint: str, params: dict[str, Any]) -> subprocess.Popen:
    """The redrive as its own process group (ansible-playbook forks the module)."""
    if via == "module":
        env = base_env(base, endpoint)
        task = {"name": "redrive", MODULE: params, "register": "out"}
        command = [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            str(write_playbook(base, [task])),
        ]
    else:
        env = cli_env(base)
        command = aws_command(endpoint, "eventbridge-dlq", "redrive", *cli_flags(params))
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Ansible's worker calls setsid: a process group is not
    enough to reach the module)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the deepest processes first (the module), then the rest, then the root."""
    for pid in reversed(descendants(process.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def kill_run(world: World, base: Path, via: str, seed_value: int, count: int) -> Row:
    """SIGKILL the redrive at a random moment of its work, then rerun."""
    rng = random.Random(f"kill/{via}/{seed_value}")
    ledger = Ledger.create(world, rng, count)
    base.mkdir(parents=True, exist_ok=True)
    with fault_proxy(world.endpoint_url, seed=seed_value) as proxy:
        refuse_poison(proxy)
        proxy.set_latency(0.15)  # stretches the run (~3 s) so a kill lands inside it
        process = start(via, base, proxy.url, ledger.params())
        try:
            # A random moment inside the work: when the proxy has seen the n-th call (it is
            # then in flight: counted, about to be forwarded), plus a random part of a call.
            moment = rng.randint(2, 24)
            deadline = time.monotonic() + 120
            while sum(proxy.calls.values()) < moment and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
            finished_first = process.poll() is not None
            at_kill = {a: proxy.calls[a] for a in ("PutEvents", "DeleteMessageBatch")}
            at_kill["calls"] = sum(proxy.calls.values())
            accepted_before_kill = proxy.accepted_count
        finally:
            kill_tree(process)
        # Calls of the killed run still at the proxy take effect after the kill.
        assert proxy.wait_idle(), "the proxy is still serving the killed run"
        # What the kill left: once the hidden messages are back, nothing may be missing.
        after_kill = ledger.check(settle_seconds=60)
        assert_sound(after_kill, complete=False)
        quiet_rerun(ledger, proxy)
    final = ledger.check()
    assert_sound(final)
    assert final["kept"] == final["poison"], final
    # A kill can only duplicate what was in flight: a worker delivers its next batch only
    # after its previous one was deleted, so at most one batch of 10 per worker.
    in_flight = 10 * int(ledger.params()["concurrency"])
    assert final["redelivered"] <= in_flight, (final, in_flight)
    return {
        **final,
        "mid_run": accepted_before_kill > 0 and not finished_first,
        "in_flight_bound": in_flight,
        "delivered_before_rerun": after_kill["delivered"],
        "finished_before_kill": finished_first,
        "puts_before_kill": at_kill["PutEvents"],
        "deletes_before_kill": at_kill["DeleteMessageBatch"],
        "calls_before_kill": at_kill["calls"],
    }


# ---- scenario 3: concurrent runners on the stand-in ------------------------------------------

VISIBILITY_TIMEOUT = 10  # the least the module accepts


@dataclass(frozen=True)
class Contention:
    """How concurrent runners are made to contend. Every call answers after `latency`, so
    each run lasts several visibility timeouts; `slow_puts` PutEvents calls (every
    `slow_every`-th, early in the run while every runner is busy) answer `slow_seconds`
    later still, as under throttling back-off, longer than the visibility timeout: the
    messages of that receive stay hidden from the other runners only while their runner's
    heartbeat extends them."""

    runners: int
    messages: int
    latency: float
    slow_every: int
    slow_puts: int
    slow_seconds: float = 1.5 * VISIBILITY_TIMEOUT
    concurrency: int = 2


def _seed_stand_in(
    sqs: Any, dlq: str, made: list[tuple[dict[str, Any], Optional[str], Optional[dict[str, Any]]]]
) -> tuple[set[str], set[str]]:
    """Send `made` to the DLQ; (every message id, the poison message ids)."""
    sent_ids: set[str] = set()
    poison_ids: set[str] = set()
    for start_at in range(0, len(made), 10):
        chunk = made[start_at : start_at + 10]
        sent = sqs.send_message_batch(
            QueueUrl=dlq, Entries=[{"Id": str(i), **k} for i, (k, _p, _e) in enumerate(chunk)]
        )["Successful"]
        for answer in sent:
            sent_ids.add(answer["MessageId"])
            # The stand-in refuses nothing: an entry AWS would refuse is redrivable here.
            if chunk[int(answer["Id"])][1] not in (None, "refused_by_aws"):
                poison_ids.add(answer["MessageId"])
    return sent_ids, poison_ids


def _run_runners(
    contention: Contention, url: str, params: dict[str, Any], base: Path
) -> tuple[list[dict[str, Any]], list[float]]:
    """Start every runner at once, each its own `aws` process signing with its own access
    key id (how the stand-in tells them apart); their results and how long each ran."""
    started = time.monotonic()
    processes = []
    for number in range(contention.runners):
        env = {**cli_env(base), "AWS_ACCESS_KEY_ID": f"RUNNER{number}"}
        processes.append(
            subprocess.Popen(
                aws_command(url, "eventbridge-dlq", "redrive", *cli_flags(params)),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )

    def finish(process: subprocess.Popen) -> tuple[str, str, float]:
        stdout, stderr = process.communicate(timeout=900)
        return stdout, stderr, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(processes)) as pool:
        outputs = list(pool.map(finish, processes))
    for process, (stdout, stderr, _seconds) in zip(processes, outputs):
        # 2: the run finished with messages kept or quarantined (the poison).
        assert process.returncode in (0, 2) and stdout.strip(), (process.returncode, stderr[-2000:])
    return [json.loads(stdout) for stdout, _e, _s in outputs], [s for _o, _e, s in outputs]


def _handled_by_several(trails: dict[str, dict[str, Any]]) -> list[str]:
    """Messages put or deleted by more than one runner: each must be one runner's work."""
    return sorted(
        message_id
        for message_id, trail in trails.items()
        if len(set(trail["put_by"]) | set(trail["delete_asked_by"])) > 1
    )


def _held_past_timeout(trails: dict[str, dict[str, Any]]) -> int:
    """Messages deleted by their receiver later than their receive's visibility timeout:
    hidden that long only because the heartbeat extended them."""
    return sum(
        1
        for trail in trails.values()
        if trail["deleted_by"] and trail["held_seconds"] > trail["timeout"] > 0
    )


def concurrent_runners(contention: Contention, seed_value: int, base: Path) -> Row:
    """`contention.runners` separate `aws eventbridge-dlq redrive` processes at once on one
    DLQ (the O(1) stand-in) with a 10 s visibility timeout, each run lasting more than three
    of them, some calls slower than one: the runners contend for the same messages, and only
    the visibility heartbeat keeps one runner's work from another. Accounted per message id:
    no message is put or deleted by two runners, no event is delivered more often than the
    DLQ held copies of it, nothing is lost, every poison message is in exactly one place."""
    rng = random.Random(f"concurrent/{seed_value}")
    with StandInServer() as server:
        url = server.url
        sqs = client("sqs", url)
        server.control("ControlSet", record_marker=MARKER, trails=True)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        quarantine = sqs.create_queue(QueueName="quarantine")["QueueUrl"]
        made = dlq_messages(rng, contention.messages, "default")
        sent_ids, poison_ids = _seed_stand_in(sqs, dlq, made)
        params = {
            "queue": dlq,
            "quarantine_queue": quarantine,
            "deliver_to": "bus",
            "when_rule_unmatched": "put",
            "marker_field": MARKER,
            "wait_seconds": 0,
            "empty_receives": 3,
            "concurrency": contention.concurrency,
            "visibility_timeout": VISIBILITY_TIMEOUT,
        }
        slow = {"PutEvents": [contention.slow_every, contention.slow_seconds, contention.slow_puts]}
        server.control("ControlSet", latency=contention.latency, slow=slow)
        results, run_seconds = _run_runners(contention, url, params, base)
        server.control("ControlSet", latency=0, slow={})
        stats = server.control("ControlStats")
        left = visible_messages(sqs, dlq)
        in_quarantine = visible_messages(sqs, quarantine)
    delivered = Counter(stats["delivered"])
    trails = {m: t for m, t in stats["trails"].items() if m in sent_ids}
    expected_events = {e["id"] for _k, p, e in made if p is None and e is not None}
    refusable = {json.loads(k["MessageBody"])["id"] for k, p, _e in made if p == "refused_by_aws"}
    quarantined_ids = Counter(
        m["MessageAttributes"]["REDRIVE_ORIGINAL_MESSAGE_ID"]["StringValue"]
        for m in in_quarantine.values()
    )
    wanted = expected_events | refusable
    lost_poison = sorted(p for p in poison_ids if p not in left and p not in quarantined_ids)
    lost = len(wanted - set(delivered)) + len(lost_poison)
    handled_by_several = _handled_by_several(trails)
    quarantined_twice = sorted(m for m, n in quarantined_ids.items() if n > 1)
    figures = {
        "runners": contention.runners,
        "concurrency": contention.concurrency,
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "latency": contention.latency,
        "slow_every": contention.slow_every,
        "slow_seconds": contention.slow_seconds,
        "slow_puts": stats.get("slowed", {}).get("PutEvents", 0),
        "messages": len(made),
        "events": len(wanted),
        "poison": len(poison_ids),
        "delivered": len(set(delivered) & wanted),
        "lost": lost,
        "lost_poison_ids": lost_poison,
        "duplicates": sum(n - 1 for n in delivered.values()),
        "dlq_copies": sum(1 for _k, p, _e in made if p is None) - len(expected_events),
        "in_dlq": len(left),
        "quarantined": len(in_quarantine),
        "quarantined_twice": len(quarantined_twice),
        "kept": len(set(left) | set(quarantined_ids)),
        "seconds": round(max(run_seconds), 1),
        "shortest_run": round(min(run_seconds), 1),
        "received_total": sum(r["received"] for r in results),
        "received_again": sum(1 for t in trails.values() if len(t["received_by"]) > 1),
        "received_by_several": sum(1 for t in trails.values() if len(set(t["received_by"])) > 1),
        "extensions": sum(t["extensions"] for t in trails.values()),
        "held_past_timeout": _held_past_timeout(trails),
        "handled_by_several": len(handled_by_several),
    }
    # The premise: runs outlast the visibility timeout several times over.
    assert figures["shortest_run"] >= 3 * VISIBILITY_TIMEOUT, figures
    assert not handled_by_several, (handled_by_several[:10], figures)
    assert not quarantined_twice, (quarantined_twice[:10], figures)
    assert lost == 0, figures
    assert set(delivered) <= wanted, set(delivered) - wanted
    # A duplicate may only come from another DLQ copy of the same event.
    copies = Counter(e["id"] for _k, p, e in made if p is None and e is not None)
    over = {event: n for event, n in delivered.items() if n > max(copies[event], 1)}
    assert not over, (over, figures)
    # Nothing but poison is left, each poison message in exactly one place.
    assert set(left) | set(quarantined_ids) == poison_ids, figures
    assert not set(left) & set(quarantined_ids), figures
    # The runs did contend: messages outlived their visibility timeout while held.
    assert figures["slow_puts"] and figures["held_past_timeout"], figures
    return figures


# ---- scenario 4: hypothesis bodies and attributes --------------------------------------------


def judge_message(message: dict[str, Any]) -> str:
    """parse → plan → entry for one hostile message: 'put' or the specific reason it is kept.
    Raises AssertionError when the answer is not sound; nothing else may escape."""
    from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import EntryOptions
    from ansible_collections.redrive.eventbridge.plugins.module_utils.filters import RecordFilter
    from ansible_collections.redrive.eventbridge.plugins.module_utils.planning import (
        Deliver,
        Keep,
        Planner,
        PlanSettings,
    )
    from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
        parse_message,
    )
    from ansible_collections.redrive.eventbridge.plugins.module_utils.routing import DeliverTo

    record = parse_message(message)
    # Bus mode: every message either becomes an entry or is kept with its reason.
    settings = PlanSettings(
        EntryOptions(marker_field=MARKER), RecordFilter(), deliver_to=DeliverTo.BUS
    )
    planner = Planner(settings)
    plan = planner.decide(record, int(time.time() * 1000))
    if record.problem_kind is not None:  # wrappers, dead-letter events, foreign records
        assert isinstance(plan, Keep) and plan.failure.code == record.problem, plan
    if record.origin == "scheduler":  # target mode: the call to make again, or why not
        aimed = Planner(PlanSettings(deliver_to=DeliverTo.TARGET)).decide(record, 0)
        assert isinstance(aimed, Deliver) or aimed.failure.code.startswith("scheduler_"), aimed
    if isinstance(plan, Keep):
        assert plan.failure.code and plan.failure.describe().strip(), plan
        return plan.failure.code
    assert isinstance(plan, Deliver) and plan.delivery.entry is not None, plan
    fields = plan.delivery.entry.fields
    detail = json.loads(fields["Detail"])
    assert isinstance(detail, dict) and MARKER in detail, fields["Detail"][:200]
    assert isinstance(fields["Source"], str) and fields["Source"], fields
    assert not fields["Source"].startswith("aws."), fields["Source"]
    wrapper = ((record.event or {}).get("source"), fields["DetailType"])
    assert wrapper != ("aws.events", "Encrypted Events") and record.origin != "scheduler", record
    assert isinstance(fields["DetailType"], str) and fields["DetailType"], fields
    assert all(isinstance(r, str) for r in fields.get("Resources", [])), fields
    json.dumps(fields, default=str)  # botocore can serialise it
    original = dict(record.event["detail"])  # type: ignore[index]
    if MARKER not in original:
        detail.pop(MARKER)
        same = json.dumps(detail, sort_keys=True) == json.dumps(original, sort_keys=True)
        assert same, "detail changed"
    return "put"


def hostile_messages() -> Any:
    """A hypothesis strategy of ReceiveMessage entries no one should trust."""
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
    )

    def containers(inner: Any) -> Any:
        return st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        )

    values = st.recursive(scalars, containers, max_leaves=20)
    escapes = st.sampled_from(
        ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\xff", "\\uZZZZ", "\\"]
    )
    field_values = st.one_of(values, st.text(max_size=30), st.just("aws.s3"), st.just(""))
    keys = ["version", "id", "detail-type", "source", "account", "time", "region", "resources"]

    @st.composite
    def event_text(draw: Any) -> str:
        event: dict[str, Any] = {}
        for key in keys:
            if draw(st.booleans()) or key in ("source", "detail-type"):
                if draw(st.integers(0, 4)) == 0:
                    event[key] = draw(field_values)
                elif key == "resources":
                    event[key] = draw(st.lists(st.text(max_size=30), max_size=3))
                elif key == "time":
                    event[key] = draw(st.sampled_from(["2026-11-21T12:00:00Z", "yesterday", ""]))
                else:
                    event[key] = draw(st.text(min_size=1, max_size=30))
        detail: Any = draw(st.dictionaries(st.text(max_size=10), values, max_size=5))
        if draw(st.integers(0, 5)) == 0:
            detail = draw(values)
        if draw(st.integers(0, 8)) == 0 and isinstance(detail, dict):  # an oversize entry
            detail["pad"] = "x" * draw(st.sampled_from([200_000, 262_144, 400_000]))
        text = json.dumps({**event, "detail": detail}, ensure_ascii=draw(st.booleans()))
        if draw(st.integers(0, 6)) == 0:  # drop a field after the fact
            event.pop(draw(st.sampled_from(keys)), None)
            text = json.dumps(event, ensure_ascii=False)
        if draw(st.integers(0, 5)) == 0:  # an escape sequence spliced into a string value
            at = text.find('"', 1)
            if at > 0:
                text = text[: at + 1] + draw(escapes) + text[at + 1 :]
        if draw(st.integers(0, 8)) == 0:  # a huge body (beyond the entry)
            size = draw(st.sampled_from([70_000, 262_000, 300_000]))
            text = text[:-1].rstrip() + (", " if len(text) > 2 else "") + f'"pad": "{"x" * size}"}}'
        if draw(st.integers(0, 10)) == 0:  # deeply nested
            depth = draw(st.sampled_from([50, 2_000, 100_000]))
            text = text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
        if draw(st.integers(0, 6)) == 0:  # a Lambda on-failure destination wrapping it
            payload = text if draw(st.booleans()) else json.dumps(draw(values))
            text = (
                '{"version":"1.0","requestContext":'
                + json.dumps(draw(st.one_of(values, st.just({"condition": "RetriesExhausted"}))))
                + ',"requestPayload":'
                + payload
                + ',"responseContext":{"functionError":"Unhandled"}}'
            )
        if draw(st.integers(0, 10)) == 0:  # truncated
            text = text[: draw(st.integers(0, len(text)))]
        return text

    # Mostly event-shaped bodies (the interesting cases), the rest anything at all.
    anything = st.one_of(st.text(max_size=200), values.map(json.dumps), st.none())
    bodies = st.integers(0, 9).flatmap(lambda roll: event_text() if roll < 7 else anything)
    attribute_value = st.one_of(
        values,
        st.fixed_dictionaries(
            {"DataType": st.sampled_from(["String", "Number", "Binary"]), "StringValue": values}
        ),
    )
    attributes = st.one_of(
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        *("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "RETRY_ATTEMPTS", "RequestID"),
                        *("SCHEDULE_ARN", "IS_PAYLOAD_TRUNCATED"),
                    ]
                ),
                st.text(max_size=10),
            ),
            attribute_value,
            max_size=6,
        ),
        values,
    )
    system = st.one_of(
        st.fixed_dictionaries(
            {
                "ApproximateReceiveCount": st.one_of(st.text(max_size=5), values),
                "SentTimestamp": st.one_of(st.text(max_size=14), values),
            }
        ),
        values,
    )
    generated = st.fixed_dictionaries(
        {
            "MessageId": st.one_of(st.uuids().map(str), values),
            "ReceiptHandle": st.one_of(st.text(max_size=20), values),
            "Body": bodies,
            "MessageAttributes": attributes,
            "Attributes": system,
        }
    )

    # What else EventBridge and its neighbours leave in a DLQ, whole or damaged. Each part
    # is drawn: hypothesis runs a given sequence of draws once, so a fixed shape runs once.
    names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=20)
    event_body = st.integers(0, 99).map(lambda n: shapes.body_of(custom_event(n)))
    texts = st.one_of(st.text(max_size=60), values.map(json.dumps), event_body)
    senders = st.one_of(
        st.builds(
            shapes.encrypted_event_message,
            payload=st.one_of(st.just(shapes.SAMPLE_ENCRYPTED_PAYLOAD), st.text(max_size=40)),
            bus=names,
            target_dlq=st.booleans(),
        ),
        st.builds(
            shapes.scheduler_dead_letter_message,
            input_text=texts,
            truncated=st.sampled_from(["false", "true", None, "FALSE", "maybe"]),
        ),
        st.builds(shapes.sns_notification_message, message=texts, topic=names),
        st.builds(shapes.s3_event_notification_message, bucket=names, key=st.text(max_size=30)),
        st.builds(shapes.s3_test_event_message, bucket=names),
        st.builds(
            shapes.pipes_failure_message,
            source=st.sampled_from(["kinesis", "dynamodb"]),
            batch_size=st.integers(1, 10_000),
        ),
        st.builds(shapes.lambda_stream_failure_message, batch_size=st.integers(1, 10_000)),
        st.builds(shapes.raw_sqs_message, body=texts),
    )

    @st.composite
    def other_shapes(draw: Any, cut: bool) -> dict[str, Any]:
        sent = draw(senders)
        body, attributes = sent["MessageBody"], dict(sent["MessageAttributes"])
        if cut and body:
            body = body[: draw(st.integers(0, len(body) - 1))]
        if attributes and draw(st.booleans()):  # one attribute damaged or gone
            name = draw(st.sampled_from(sorted(attributes)))
            attributes[name] = draw(attribute_value)
            if draw(st.booleans()):
                del attributes[name]
        return {
            "MessageId": "m",
            "ReceiptHandle": "h",
            "Body": body,
            "MessageAttributes": attributes,
            "Attributes": {},
        }

    return st.one_of(generated, other_shapes(cut=False), other_shapes(cut=True))


# ---- scenario 5: hostile options ------------------------------------------------------------

# (label, option overrides, what the error must mention)
HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("nonexistent queue", {"queue": "no-such-queue-{id}"}, "no-such-queue"),
    ("nonexistent bus", {"event_bus": "no-such-bus-{id}"}, "no-such-bus"),
    ("quarantine = queue", {"quarantine_queue": "{dlq}"}, "quarantine"),
    ("max_messages = -1", {"max_messages": -1}, "max_messages"),
    ("max_messages = 0", {"max_messages": 0}, "max_messages"),
    ("concurrency = 0", {"concurrency": 0}, "concurrency"),
    ("concurrency = 10^6", {"concurrency": 1_000_000}, "concurrency"),
    ("visibility_timeout = -5", {"visibility_timeout": -5}, "visibility_timeout"),
    ("visibility_timeout = 10^9", {"visibility_timeout": 10**9}, "visibility_timeout"),
    ("wait_seconds = 999", {"wait_seconds": 999}, "wait_seconds"),
    ("empty_receives = 0", {"empty_receives": 0}, "empty_receives"),
    ("max_request_bytes = 0", {"max_request_bytes": 0}, "max_request_bytes"),
    ("max_request_bytes = 2^40", {"max_request_bytes": 2**40}, "max_request_bytes"),
    ("max_seconds = -1", {"max_seconds": -1}, "max_seconds"),
    ("rate_limit = 0", {"rate_limit": 0}, "rate_limit"),
]


def hostile_options(world: World, labels: Optional[list[str]] = None) -> list[Row]:
    """Each hostile option in-process through the proxy: a clear error, no mutating call."""
    rng = random.Random("hostile")
    ledger = Ledger.create(world, rng, 12)
    before = sorted(world.visible_messages(ledger.dlq))
    rows: list[Row] = []
    with fault_proxy(world.endpoint_url, seed=1) as proxy:
        cases: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
            (label, overrides, {}, mention) for label, overrides, mention in HOSTILE
        ]
        cases += [
            ("wrong region", {}, {"region": "eu-west-3"}, "queue"),
            ("bad credentials", {}, {"access_key": "", "secret_key": ""}, "credentials"),
        ]
        for label, overrides, connection, mention in cases:
            if labels is not None and label not in labels:
                continue
            proxy.reset()
            params = ledger.params(quarantine_queue=None)
            for key, value in overrides.items():
                if isinstance(value, str):
                    value = value.format(id=uuid.uuid4().hex[:6], dlq=ledger.dlq)
                params[key] = value
            error = _error_of(engine_run, proxy.url, params, **connection)
            if label == "bad credentials":
                error = error or "(none)"
            rows.append({"case": label, "error": error, "mutating_calls": proxy.mutating_calls()})
            assert error, f"{label}: no error"
            assert mention.lower() in error.lower(), (label, error)
            assert proxy.mutating_calls() == 0, (label, dict(proxy.calls))
        proxy.reset()
        proxy.fail_calls("GetQueueUrl", "AccessDenied")
        proxy.fail_calls("GetQueueAttributes", "AccessDenied")
        proxy.fail_calls("ReceiveMessage", "AccessDenied")
        if labels is None or "access denied" in labels:
            error = _error_of(engine_run, proxy.url, ledger.params())
            rows.append(
                {"case": "access denied", "error": error, "mutating_calls": proxy.mutating_calls()}
            )
            assert "accessdenied" in error.replace(" ", "").lower(), error
            assert proxy.mutating_calls() == 0, dict(proxy.calls)
    assert sorted(world.visible_messages(ledger.dlq)) == before
    return rows


def _error_of(call: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> str:
    try:
        result = call(*args, **kwargs)
    except Exception as error:  # the point: which error, and is it clear
        return f"{type(error).__name__}: {error}"
    if "error" in result:
        return f"{result['error']['code']}: {result['error']['message']}"
    return ""


def no_credentials_cli(world: World, base: Path) -> str:
    """The CLI with no credentials anywhere: a clear error, exit status non-zero."""
    dlq = world.queue("dlq-nocreds")
    world.send(dlq, [eventbridge_dlq_message(custom_event(1))])
    env = cli_env(base)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    run = aws(
        env,
        world.endpoint_url,
        "eventbridge-dlq",
        "redrive",
        *cli_flags({"queue": dlq, "wait_seconds": 0}),
    )
    assert run.returncode != 0, run.stdout
    assert "credential" in (run.stderr + run.stdout).lower(), run.stderr
    assert world.depth(dlq)["visible"] == 1
    return (run.stderr or run.stdout).strip().splitlines()[-1]


# ---- scenario 6: secrets ----------------------------------------------------------------------


def secrets(world: World, base: Path) -> list[Row]:
    """Secret key, session token and bodies stay out of results, logs and -vvv output,
    unless include_bodies asks for bodies."""
    dlq = world.queue("dlq-secrets")
    event = custom_event(7)
    event["detail"]["note"] = BODY_MARKER
    poison = custom_event(8, detail=[BODY_MARKER])
    _target, failed = world.capture_rule()
    world.send(
        dlq,
        [
            eventbridge_dlq_message(event, **failed),
            eventbridge_dlq_message({}, body=json.dumps(poison, ensure_ascii=False)),
        ],
    )
    connection = {"secret_key": SECRET_KEY, "session_token": SESSION_TOKEN}
    task = {
        "name": "redrive",
        MODULE: {
            "queue": dlq,
            "wait_seconds": 0,
            "empty_receives": 1,
            "visibility_timeout": 10,
            "access_key": "AKIARELIABILITYPROBE",
            **connection,
        },
        "register": "out",
    }
    log = base / "ansible.log"
    run = run_playbook(base, [task], world.endpoint_url, ["-vvv"], {"ANSIBLE_LOG_PATH": str(log)})
    result = run.result("redrive")
    assert result.get("redriven") == 1 and result.get("kept") == 1, result
    seen = run.stdout + run.stderr + json.dumps(result, ensure_ascii=False)
    seen += log.read_text() if log.exists() else ""
    leaks = [name for name, text in (*connection.items(), ("body", BODY_MARKER)) if text in seen]
    assert not leaks, leaks
    # The CLI: results on stdout, progress on stderr.
    env = cli_env(base)
    env["AWS_SECRET_ACCESS_KEY"] = SECRET_KEY
    flags = cli_flags({"queue": dlq, "wait_seconds": 0, "empty_receives": 1})
    cli = aws(env, world.endpoint_url, "eventbridge-dlq", "redrive", *flags)
    cli_leaks = [t for t in (SECRET_KEY, BODY_MARKER) if t in cli.stdout + cli.stderr]
    assert not cli_leaks, cli_leaks
    # Asked for: include_bodies shows the kept body.
    task[MODULE]["include_bodies"] = True
    asked = run_playbook(base, [task], world.endpoint_url)
    shown = json.dumps(asked.result("redrive"), ensure_ascii=False)
    assert BODY_MARKER in shown, shown[:500]
    assert SECRET_KEY not in asked.stdout + asked.stderr + shown
    return [
        {
            "check": "secret key, session token or body in ansible-playbook -vvv output, "
            "ANSIBLE_LOG_PATH log or module result",
            "found": 0,
        },
        {"check": "secret key or body in `aws eventbridge-dlq redrive` stdout/stderr", "found": 0},
        {"check": "kept body shown when include_bodies: true", "found": "yes"},
        {"check": "secret key shown when include_bodies: true", "found": 0},
    ]
