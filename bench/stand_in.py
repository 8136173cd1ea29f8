"""A loopback stand-in for SQS and EventBridge, with a fixed latency per call.

The benchmark measures how close a redrive gets to the bound set by API
latency, so the server must cost little CPU on a 2-core machine. moto's SQS
scans every message several times per call (a receive takes ~0.3 s on a queue
of 500 messages), which would make moto, not the client, what is measured.
This server keeps each queue as an ordered dict plus a deque of visible ids:
O(1) per message for receive, delete and release.

It speaks the JSON protocols botocore uses (SQS: AmazonSQS.*, json 1.0;
EventBridge: AWSEvents.*, json 1.1) for the calls a redrive makes, answers
PutEvents itself (counting entries), and counts calls per action.
"""

from __future__ import annotations

import collections
import itertools
import json
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

ACCOUNT = "123456789012"


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
class _Queue:
    name: str
    messages: dict[str, _Message] = field(default_factory=dict)
    visible: collections.deque = field(default_factory=collections.deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reappear(self, now: float) -> None:
        """Return messages whose visibility ran out; cheap when none are hidden long."""
        expired = [m for m in self.messages.values() if m.hidden_until and m.hidden_until <= now]
        for message in expired:
            message.hidden_until = 0.0
            self.visible.append(message.message_id)


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
        return {"Successful": successful}

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
            if not queue.visible:
                queue.reappear(now)
            while queue.visible and len(found) < wanted:
                message = queue.messages.get(queue.visible.popleft())
                if message is None or message.hidden_until:
                    continue
                message.receives += 1
                message.handle = f"{message.message_id}#{message.receives}"
                if timeout > 0:
                    message.hidden_until = now + timeout
                else:
                    queue.visible.append(message.message_id)
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
        with queue.lock:
            for entry in body["Entries"]:
                message_id = entry["ReceiptHandle"].split("#")[0]
                message = queue.messages.get(message_id)
                if message is not None and message.handle == entry["ReceiptHandle"]:
                    del queue.messages[message_id]
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
                    message.hidden_until = time.monotonic() + seconds
        return {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}

    # ---- EventBridge -----------------------------------------------------

    def PutEvents(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        count = len(body["Entries"])
        marked = []
        if self.record_marker:
            for entry in body["Entries"]:
                marker = json.loads(entry.get("Detail") or "{}").get(self.record_marker) or {}
                marked.append(str(marker.get("event_id")))
        with self._lock:
            self.entries_put += count
            self.delivered.update(marked)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * count}

    def DescribeEventBus(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        return {"Name": body.get("Name", "default")}

    # ---- the benchmark's own controls (not counted, no latency) ----------

    def ControlSet(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        self.latency = float(body.get("latency", self.latency))
        if "record_marker" in body:
            self.record_marker = body["record_marker"] or None
        if body.get("reset_counters"):
            with self._lock:
                self.calls.clear()
                self.entries_put = 0
                self.delivered.clear()
        return {}

    def ControlStats(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        with self._lock:
            stats = {"calls": dict(self.calls), "entries_put": self.entries_put}
            if self.record_marker:
                stats["delivered"] = dict(self.delivered)
            return stats

    def handle(self, action: str, body: dict[str, Any], base: str) -> dict[str, Any]:
        if not action.startswith("Control"):
            with self._lock:
                self.calls[action] += 1
            if self.latency:
                time.sleep(self.latency)
        method: Callable[[dict[str, Any], str], dict[str, Any]] = getattr(self, action)
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
        body = json.loads(self.rfile.read(length) or b"{}")
        action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        stand_in: StandIn = self.server.stand_in  # type: ignore[attr-defined]
        base = f"http://{self.headers.get('Host')}"
        answer = json.dumps(stand_in.handle(action, body, base)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
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
