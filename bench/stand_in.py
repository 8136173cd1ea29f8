"""A loopback stand-in for SQS and EventBridge, with a fixed latency per call.

The benchmark measures how close a redrive gets to the bound set by API
latency, so the server must cost little CPU on a 2-core machine. moto's SQS
scans every message several times per call (a receive takes ~0.3 s on a queue
of 500 messages), which would make moto, not the client, what is measured.
This server keeps each queue as an ordered dict plus a deque of visible ids:
O(1) per message for receive, delete and release.

It speaks the protocols botocore uses for the calls a redrive makes (SQS:
AmazonSQS.*, json 1.0; EventBridge: AWSEvents.*, json 1.1; Step Functions:
AWSStepFunctions.*, json 1.0; Lambda Invoke: rest-json), answers PutEvents,
DescribeRule, ListTargetsByRule, StartExecution and Invoke itself, counts calls
per action and entries per receiving side (`received_by`: a queue's name, a
bus, a function or a state machine ARN).

For the reliability suite it can also slow every n-th call of an action (`slow`) and keep
each message's trail (`trails`): which caller (told apart by the access key id that signed
the call) received, extended, put and deleted it.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import unquote

ACCOUNT = "123456789012"
REGION = "us-east-1"
_INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<function>[^/]+)/invocations\Z")
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")
_CALLER = threading.local()  # the access key id of the call this handler thread serves


def _caller() -> str:
    return getattr(_CALLER, "key", "") or "unsigned"


class StandInError(Exception):
    """An AWS error answer: `code` is the error type botocore raises as ClientError."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class _Rule:
    pattern: str
    targets: tuple[dict[str, Any], ...]
    state: str = "ENABLED"


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent_ms: int
    receives: int = 0
    handle: str = ""
    hidden_until: float = 0.0


@dataclass
class _Trail:
    """What happened to one message, by caller (kept only when trails are on)."""

    received_by: list[str] = field(default_factory=list)
    received_at: float = 0.0
    timeout: float = 0.0  # the visibility timeout its latest receive asked for
    extensions: int = 0  # extensions (not releases) with its latest receipt handle
    delete_asked_by: set[str] = field(default_factory=set)  # current or stale handle
    deleted_by: str = ""
    held_seconds: float = 0.0  # from its latest receive to the delete that took effect
    put_by: set[str] = field(default_factory=set)  # callers that put an entry marked with it

    def view(self) -> dict[str, Any]:
        return {
            "received_by": self.received_by,
            "timeout": self.timeout,
            "extensions": self.extensions,
            "delete_asked_by": sorted(self.delete_asked_by),
            "deleted_by": self.deleted_by,
            "held_seconds": round(self.held_seconds, 3),
            "put_by": sorted(self.put_by),
        }


@dataclass
class _Queue:
    name: str
    messages: dict[str, _Message] = field(default_factory=dict)
    visible: collections.deque = field(default_factory=collections.deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (hidden_until, message id) per hiding; an entry is stale once the message was
    # deleted, released, received again or extended. O(log n) per hiding.
    hidden: list[tuple[float, str]] = field(default_factory=list)

    def hide(self, message: _Message, until: float) -> None:
        message.hidden_until = until
        heapq.heappush(self.hidden, (until, message.message_id))

    def reappear(self, now: float) -> None:
        """Return messages whose visibility ran out, as soon as it ran out (as SQS does:
        another consumer may receive them while their first receiver still works), ahead
        of the messages never received (a standard queue tries to keep the order sent)."""
        while self.hidden and self.hidden[0][0] <= now:
            until, message_id = heapq.heappop(self.hidden)
            message = self.messages.get(message_id)
            if message is not None and message.hidden_until == until:
                message.hidden_until = 0.0
                self.visible.appendleft(message_id)


class StandIn:
    """State and actions; the HTTP handler only decodes and encodes."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.queues: dict[str, _Queue] = {}
        self.calls: Counter[str] = Counter()
        self.entries_put = 0
        # Off by default (the benchmark's speed is unchanged): when set to a marker_field
        # name, PutEvents counts accepted entries per marked event id, for the reliability
        # suite's concurrent-runner scenario.
        self.record_marker: str | None = None
        self.delivered: Counter[str] = Counter()
        # Entries each receiving side took since the last reset (queue name, bus name,
        # function ARN, state machine ARN): what a target actually got.
        self.received_by: Counter[str] = Counter()
        self.rules: dict[tuple[str, str], _Rule] = {}
        self.execution_names: set[tuple[str, str]] = set()
        # How many entries each DeleteMessageBatch carried: {size: calls}.
        self.delete_sizes: Counter[int] = Counter()
        # {action: (every n-th call, extra seconds, at most this many)}: slow calls, as
        # under throttling back-off.
        self.slow: dict[str, tuple[int, float, int]] = {}
        self.slowed: Counter[str] = Counter()
        self.trails: Optional[dict[str, _Trail]] = None  # by message id, when on
        self._ids = itertools.count()
        self._lock = threading.Lock()

    # ---- SQS -------------------------------------------------------------

    def _queue(self, body: dict[str, Any]) -> _Queue:
        return self.queues[body["QueueUrl"].rsplit("/", 1)[1]]

    def CreateQueue(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        self.queues.setdefault(body["QueueName"], _Queue(body["QueueName"]))
        return {"QueueUrl": f"{base}/{ACCOUNT}/{body['QueueName']}"}

    def GetQueueUrl(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        return {"QueueUrl": f"{base}/{ACCOUNT}/{body['QueueName']}"}

    def GetQueueAttributes(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        with queue.lock:
            visible = len(queue.visible)
            total = len(queue.messages)
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(total - visible),
                "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue.name}",
            }
        }

    def SendMessageBatch(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        now_ms = int(time.time() * 1000)
        successful = []
        with queue.lock:
            for entry in body["Entries"]:
                message_id = str(uuid.UUID(int=next(self._ids)))
                queue.messages[message_id] = _Message(
                    message_id, entry["MessageBody"], entry.get("MessageAttributes", {}), now_ms
                )
                queue.visible.append(message_id)
                successful.append({"Id": entry["Id"], "MessageId": message_id})
        with self._lock:
            self.received_by[queue.name] += len(successful)
        return {"Successful": successful}

    def PurgeQueue(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        with queue.lock:
            queue.messages.clear()
            queue.visible.clear()
        return {}

    def ReceiveMessage(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        wanted = int(body.get("MaxNumberOfMessages", 1))
        timeout = float(body.get("VisibilityTimeout", 30))
        deadline = time.monotonic() + float(body.get("WaitTimeSeconds", 0))
        while True:
            found = self._take(queue, wanted, timeout)
            if found or time.monotonic() >= deadline:
                return {"Messages": found} if found else {}
            time.sleep(0.05)

    def _take(self, queue: _Queue, wanted: int, timeout: float) -> list[dict[str, Any]]:
        now = time.monotonic()
        found = []
        with queue.lock:
            queue.reappear(now)
            while queue.visible and len(found) < wanted:
                message = queue.messages.get(queue.visible.popleft())
                if message is None or message.hidden_until:
                    continue
                message.receives += 1
                message.handle = f"{message.message_id}#{message.receives}"
                if timeout > 0:
                    queue.hide(message, now + timeout)
                else:
                    queue.visible.append(message.message_id)
                self._trail_receive(message.message_id, now, timeout)
                found.append(
                    {
                        "MessageId": message.message_id,
                        "ReceiptHandle": message.handle,
                        "MD5OfBody": "",
                        "Body": message.body,
                        "MessageAttributes": message.attributes,
                        "Attributes": {
                            "ApproximateReceiveCount": str(message.receives),
                            "SentTimestamp": str(message.sent_ms),
                        },
                    }
                )
        return found

    def DeleteMessageBatch(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        with self._lock:
            self.delete_sizes[len(body["Entries"])] += 1
        with queue.lock:
            for entry in body["Entries"]:
                message_id = entry["ReceiptHandle"].split("#")[0]
                message = queue.messages.get(message_id)
                # SQS: a delete with a stale receipt handle succeeds but may delete nothing
                # (here: never).
                deleted = message is not None and message.handle == entry["ReceiptHandle"]
                if deleted:
                    del queue.messages[message_id]
                self._trail_delete(message_id, deleted)
        return {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}

    def ChangeMessageVisibilityBatch(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(body)
        with queue.lock:
            for entry in body["Entries"]:
                message = queue.messages.get(entry["ReceiptHandle"].split("#")[0])
                current = message is not None and message.handle == entry["ReceiptHandle"]
                if not current or not message.hidden_until:
                    continue
                seconds = int(entry["VisibilityTimeout"])
                if seconds == 0:
                    message.hidden_until = 0.0
                    queue.visible.append(message.message_id)
                else:  # an extension: hidden for `seconds` from now
                    queue.hide(message, time.monotonic() + seconds)
                    if self.trails is not None:
                        with self._lock:
                            self._trail(message.message_id).extensions += 1
        return {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}

    # ---- EventBridge -----------------------------------------------------

    def PutEvents(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        count = len(body["Entries"])
        buses = Counter(str(entry.get("EventBusName") or "default") for entry in body["Entries"])
        marked = []
        if self.record_marker:
            for entry in body["Entries"]:
                marker = json.loads(entry.get("Detail") or "{}").get(self.record_marker) or {}
                marked.append((str(marker.get("event_id")), str(marker.get("message_id"))))
        with self._lock:
            self.entries_put += count
            self.delivered.update(event_id for event_id, _message_id in marked)
            self.received_by.update(buses)
            if self.trails is not None:
                for _event_id, message_id in marked:
                    self._trail(message_id).put_by.add(_caller())
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * count}

    def DescribeEventBus(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        return {"Name": body.get("Name", "default")}

    def _rule(self, name: str, bus: Optional[str]) -> _Rule:
        rule = self.rules.get((bus or "default", name))
        if rule is None:
            raise StandInError(
                "ResourceNotFoundException", f"Rule {name} does not exist on EventBus {bus}."
            )
        return rule

    def DescribeRule(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        bus = body.get("EventBusName") or "default"
        rule = self._rule(body["Name"], bus)
        path = body["Name"] if bus == "default" else f"{bus}/{body['Name']}"
        return {
            "Name": body["Name"],
            "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{path}",
            "EventPattern": rule.pattern,
            "State": rule.state,
            "EventBusName": bus,
        }

    def ListTargetsByRule(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        rule = self._rule(body["Rule"], body.get("EventBusName"))
        return {"Targets": list(rule.targets)}

    # ---- trails (the reliability suite's concurrent runners) -------------

    def _trail(self, message_id: str) -> _Trail:
        assert self.trails is not None
        return self.trails.setdefault(message_id, _Trail())

    def _trail_receive(self, message_id: str, now: float, timeout: float) -> None:
        if self.trails is None:
            return
        with self._lock:
            trail = self._trail(message_id)
            trail.received_by.append(_caller())
            trail.received_at, trail.timeout, trail.extensions = now, timeout, 0

    def _trail_delete(self, message_id: str, deleted: bool) -> None:
        if self.trails is None:
            return
        with self._lock:
            trail = self._trail(message_id)
            trail.delete_asked_by.add(_caller())
            if deleted:
                trail.deleted_by = _caller()
                trail.held_seconds = time.monotonic() - trail.received_at

    # ---- target services -------------------------------------------------

    def StartExecution(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        machine = body["stateMachineArn"]
        name = body.get("name") or str(uuid.UUID(int=next(self._ids)))
        with self._lock:
            # A Standard workflow refuses a name it has run (the stand-in's executions
            # close at once): a second delivery of one event shows as an error.
            if (machine, name) in self.execution_names:
                raise StandInError("ExecutionAlreadyExists", f"Execution Already Exists: {name}")
            self.execution_names.add((machine, name))
            self.received_by[machine] += 1
        execution = machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        return {"executionArn": execution, "startDate": time.time()}

    def Invoke(self, function: str, invocation_type: str) -> int:
        """An asynchronous invocation is queued: 202, no body."""
        with self._lock:
            self.received_by[function] += 1
        return 202 if invocation_type == "Event" else 200

    # ---- the benchmark's own controls (not counted, no latency) ----------

    def ControlSet(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        self.latency = float(body.get("latency", self.latency))
        if "slow" in body:
            self.slow = {
                action: (int(every), float(seconds), int(times))
                for action, (every, seconds, times) in body["slow"].items()
            }
        if "trails" in body:
            self.trails = {} if body["trails"] else None
        if "record_marker" in body:
            self.record_marker = body["record_marker"] or None
        for rule in body.get("rules") or ():
            self.rules[(rule.get("bus") or "default", rule["name"])] = _Rule(
                json.dumps(rule["pattern"]), tuple(rule.get("targets") or ())
            )
        if body.get("reset_counters"):
            with self._lock:
                self.calls.clear()
                self.entries_put = 0
                self.delivered.clear()
                self.received_by.clear()
                self.execution_names.clear()
                self.delete_sizes.clear()
                self.slowed.clear()
                if self.trails is not None:
                    self.trails = {}
        return {}

    def ControlStats(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        with self._lock:
            stats = {
                "calls": dict(self.calls),
                "entries_put": self.entries_put,
                "received_by": dict(self.received_by),
                "delete_sizes": {str(size): n for size, n in sorted(self.delete_sizes.items())},
            }
            if self.record_marker:
                stats["delivered"] = dict(self.delivered)
            if self.slowed:
                stats["slowed"] = dict(self.slowed)
            if self.trails is not None:
                stats["trails"] = {m: trail.view() for m, trail in self.trails.items()}
            return stats

    def count_call(self, action: str) -> None:
        """Every call but the controls is counted and waits the latency."""
        if action.startswith("Control"):
            return
        extra = 0.0
        with self._lock:
            self.calls[action] += 1
            every, seconds, times = self.slow.get(action, (0, 0.0, 0))
            if every and self.calls[action] % every == 0 and self.slowed[action] < times:
                self.slowed[action] += 1
                extra = seconds
        if self.latency or extra:
            time.sleep(self.latency + extra)

    def handle(self, action: str, body: dict[str, Any], base: str) -> dict[str, Any]:
        self.count_call(action)
        method: Optional[Callable[[dict[str, Any], str], dict[str, Any]]] = (
            getattr(self, action, None) if action[:1].isupper() else None
        )
        if method is None:
            raise StandInError("UnknownOperationException", f"{action} is not answered here")
        return method(body, base)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

    def setup(self) -> None:
        super().setup()
        # Without this, headers and body leave in two segments and delayed ACKs
        # add ~40 ms to every call: the latency must be the one we set.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        stand_in: StandIn = self.server.stand_in  # type: ignore[attr-defined]
        signed = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        _CALLER.key = signed.group(1) if signed else ""
        invoke = _INVOKE_PATH.match(self.path.split("?", 1)[0])
        try:
            if invoke is not None:  # Lambda's rest-json protocol: the payload is the body
                stand_in.count_call("Invoke")
                function = unquote(invoke.group("function"))
                status = stand_in.Invoke(function, self.headers.get("X-Amz-Invocation-Type", ""))
                self._answer(status, b"" if status == 202 else b"null")
                return
            action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            base = f"http://{self.headers.get('Host')}"
            answer = stand_in.handle(action, json.loads(raw or b"{}"), base)
        except StandInError as error:
            self._answer(
                error.status,
                json.dumps({"__type": error.code, "message": error.message}).encode(),
                {"x-amzn-ErrorType": error.code},
            )
            return
        self._answer(200, json.dumps(answer).encode())

    def _answer(self, status: int, answer: bytes, headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(latency: float = 0.0) -> tuple[ThreadingHTTPServer, StandIn, str]:
    """Start the stand-in on a free loopback port; returns (server, state, url)."""
    stand_in = StandIn(latency)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.stand_in = stand_in  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, stand_in, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    """Run in its own process so its CPU is not the client's: prints the URL, serves."""
    import sys

    server, _state, url = serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    print(url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
