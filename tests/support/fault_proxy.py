"""A loopback reverse proxy in front of moto that behaves more like AWS and injects faults.

Moto 5.2 accepts `aws.*` sources, oversized PutEvents requests, non-object `Detail`, duplicate
batch Ids and stale receipt handles, and it never throttles, fails a single entry, loses a
response or returns an empty receive. Tests point boto3 at `proxy.url` and switch those
behaviours on from the test thread; everything else is forwarded unchanged.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

Json = dict[str, Any]
Match = Callable[[Json], bool]
Forward = Callable[[Json], Json]  # send a (possibly rewritten) request to moto, get its answer

# fmt: off
# Content-Length is rewritten, not copied: bodies change.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length",
))
MUTATING = frozenset((
    "PutEvents", "SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch",
    "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "PurgeQueue",
))
BATCH_ACTIONS = frozenset((
    "SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch",
))
HANDLE_ACTIONS = frozenset(("DeleteMessage", "ChangeMessageVisibility"))
# fmt: on
CALL_STATUS = {"ThrottlingException": 400, "InternalFailure": 500, "ServiceUnavailable": 503}
TIME_BYTES = 14  # what the AWS entry-size formula charges for a present `Time`


@dataclass
class Rule:
    """Fires on matching items: at random with probability `rate`, at most `count` times."""

    code: str = ""
    rate: float = 1.0
    count: Optional[int] = None
    match: Optional[Match] = None
    message: str = "Injected by the fault proxy"
    fired: int = 0

    def fires(self, item: Json, rng: random.Random) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.match is not None and not self.match(item):
            return False
        if self.rate < 1.0 and rng.random() >= self.rate:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True


def entry_size(entry: Json) -> int:
    """PutEvents entry size by the AWS formula (EventBusName and TraceHeader are free)."""
    size = TIME_BYTES if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode("utf-8"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources") or [])


def _batch_bytes(entries: list[Json]) -> int:
    """SendMessageBatch payload as SQS counts it: bodies plus attribute names, types, values."""
    size = 0
    for entry in entries:
        size += len(str(entry.get("MessageBody", "")).encode("utf-8"))
        for name, value in (entry.get("MessageAttributes") or {}).items():
            size += len(name.encode("utf-8")) + len(str(value.get("DataType", "")).encode())
            size += len(str(value.get("StringValue", "")).encode("utf-8"))
    return size


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


class _Reply(Exception):
    """Answer the client from the proxy, without (further) forwarding."""

    def __init__(self, status: int, body: Json, headers: Optional[dict[str, str]] = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class FaultProxy:
    """Configure from any thread; every setter and counter update holds `self.lock`."""

    def __init__(self, upstream_url: str, *, seed: int = 0) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.seed = seed
        self.lock = threading.RLock()
        self._server: Optional[ThreadingHTTPServer] = None
        self.url = ""
        self.reset()

    def reset(self) -> None:
        """Clear every fault, counter and remembered handle; strictness back on."""
        with self.lock:
            self.rng = random.Random(self.seed)
            self.calls: Counter[str] = Counter()
            self.latency: dict[Optional[str], float] = {}
            self.entry_faults: list[Rule] = []
            self.blank_slot_rules: list[Rule] = []
            self.call_faults: dict[str, list[Rule]] = {}
            self.drops: dict[str, list[Rule]] = {}
            self.delete_faults: list[Rule] = []
            self.empty_receive_rules: list[Rule] = []
            # AWS strictness moto lacks; each can be switched off.
            self.refuse_aws_sources = True
            self.check_put_events_limits = True
            self.max_request_bytes = 262_144
            self.max_batch_bytes = 262_144  # SendMessageBatch payload (body and attributes)
            self.check_detail = True
            self.check_batches = True
            self.stale_handles = True
            self.answer_put_events = False  # answer PutEvents here instead of moto
            self.record_entries = False  # keep accepted entries, not only count them
            self.accepted_count = 0
            self.accepted_entries: list[Json] = []
            self.handle_to_message: dict[str, str] = {}
            self.latest_handle: dict[str, str] = {}

    # --- configuration -----------------------------------------------------------------------

    def set_latency(self, seconds: float, action: Optional[str] = None) -> None:
        """Delay every call (action None) or calls of one action; per-action wins."""
        with self.lock:
            self.latency[action] = seconds

    def fail_entries(self, code: str, **rule: Any) -> Rule:
        """PutEvents entries matching the rule get `code` in their slot and are not forwarded."""
        return self._add(self.entry_faults, Rule(code=code, **rule))

    def blank_entries(self, **rule: Any) -> Rule:
        """PutEvents entries matching the rule get a slot with neither EventId nor ErrorCode
        (an answer AWS documents neither way); they are forwarded, so they may be on the bus."""
        return self._add(self.blank_slot_rules, Rule(**rule))

    def fail_calls(self, action: str, code: str = "ThrottlingException", **rule: Any) -> Rule:
        """Whole calls of `action` answer an error: 400 throttling, 500, 503 by code."""
        return self._add(self.call_faults.setdefault(action, []), Rule(code=code, **rule))

    def drop_responses(self, action: str, **rule: Any) -> Rule:
        """Forward the call, then close the client connection without an answer."""
        return self._add(self.drops.setdefault(action, []), Rule(**rule))

    def fail_delete_entries(self, code: str = "InternalError", **rule: Any) -> Rule:
        """DeleteMessageBatch entries matching the rule come back in `Failed`, unforwarded."""
        return self._add(self.delete_faults, Rule(code=code, **rule))

    def empty_receives(self, **rule: Any) -> Rule:
        """ReceiveMessage calls matching the rule answer no messages, unforwarded."""
        return self._add(self.empty_receive_rules, Rule(**rule))

    def mutating_calls(self) -> int:
        with self.lock:
            return sum(self.calls[action] for action in MUTATING)

    def _add(self, rules: list[Rule], rule: Rule) -> Rule:
        with self.lock:
            rules.append(rule)
        return rule

    def _first(self, rules: list[Rule], item: Json) -> Optional[Rule]:
        with self.lock:
            return next((rule for rule in rules if rule.fires(item, self.rng)), None)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.proxy = self  # type: ignore[attr-defined]
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- request handling --------------------------------------------------------------------

    def begin(self, action: str, service: str, request: Json) -> None:
        """Count the call, delay it, and raise its whole-call fault if one fires."""
        with self.lock:
            self.calls[action] += 1
            delay = self.latency.get(action, self.latency.get(None, 0.0))
        if delay:
            time.sleep(delay)
        rule = self._first(self.call_faults.get(action, []), request)
        if rule is not None:
            throttled = rule.code == "ThrottlingException"
            message = "Rate exceeded" if throttled else rule.message
            raise _error(service, CALL_STATUS.get(rule.code, 400), rule.code, message)

    def should_drop(self, action: str, request: Json) -> bool:
        return self._first(self.drops.get(action, []), request) is not None

    def process(self, action: str, service: str, request: Json, forward: Forward) -> Json:
        """Apply strictness and entry faults to one call; return the body to answer 200 with."""
        if action == "PutEvents":
            return self._put_events(request, forward)
        if action in BATCH_ACTIONS:
            return self._batch(action, service, request, forward)
        if action in HANDLE_ACTIONS and self._is_stale(request.get("ReceiptHandle")):
            return {}
        if action == "ReceiveMessage":
            if self._first(self.empty_receive_rules, request) is not None:
                return {}
            answer = forward(request)
            self._remember(answer.get("Messages", []))
            return answer
        return forward(request)

    def _put_events(self, request: Json, forward: Forward) -> Json:
        entries: list[Json] = request.get("Entries", [])
        if self.check_put_events_limits:
            if len(entries) > 10:
                raise _error(
                    "events",
                    400,
                    "ValidationException",
                    "1 validation error detected: Value at 'entries' failed to satisfy"
                    " constraint: Member must have length less than or equal to 10",
                )
            if sum(entry_size(e) for e in entries) >= self.max_request_bytes:
                raise _error(
                    "events",
                    400,
                    "ValidationException",
                    "Total size of the entries in the request is over the limit.",
                )
        slots: list[Optional[Json]] = [self._entry_fault(e) for e in entries]
        rest = [e for e, slot in zip(entries, slots) if slot is None]
        if not rest:
            answered: list[Json] = []
        elif self.answer_put_events:
            answered = [{"EventId": str(uuid.uuid4())} for _entry in rest]
        else:
            answered = forward({**request, "Entries": rest}).get("Entries", [])
        results = iter(answered)
        merged = [slot if slot is not None else next(results, {}) for slot in slots]
        for index, entry in enumerate(entries):
            if "ErrorCode" not in merged[index] and self._first(self.blank_slot_rules, entry):
                merged[index] = {}
        accepted = [e for e, m in zip(entries, merged) if "ErrorCode" not in m]
        with self.lock:
            self.accepted_count += len(accepted)
            if self.record_entries:
                self.accepted_entries.extend(accepted)
        failed = len(entries) - len(accepted)
        return {"FailedEntryCount": failed, "Entries": merged}

    def _entry_fault(self, entry: Json) -> Optional[Json]:
        if self.refuse_aws_sources and str(entry.get("Source", "")).startswith("aws."):
            return _entry_error("NotAuthorizedForSourceException", "Not authorized for the source.")
        if self.check_detail and "Detail" in entry and not _is_json_object(entry["Detail"]):
            return _entry_error("MalformedDetail", "Detail is malformed.")
        rule = self._first(self.entry_faults, entry)
        return None if rule is None else _entry_error(rule.code, rule.message)

    def _batch(self, action: str, service: str, request: Json, forward: Forward) -> Json:
        entries: list[Json] = request.get("Entries", [])
        if self.check_batches:
            ids = [e.get("Id") for e in entries]
            if len(entries) > 10:
                raise _error(
                    service,
                    400,
                    "TooManyEntriesInBatchRequest",
                    f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
                )
            if len(set(ids)) != len(ids):
                raise _error(service, 400, "BatchEntryIdsNotDistinct", "Id repeated.")
            if action == "SendMessageBatch" and _batch_bytes(entries) > self.max_batch_bytes:
                raise _error(
                    service,
                    400,
                    "BatchRequestTooLong",
                    "Batch requests cannot be longer than 262144 bytes.",
                )
        successful: list[Json] = []
        failed: list[Json] = []
        rest: list[Json] = []
        for entry in entries:
            if action != "SendMessageBatch" and self._is_stale(entry.get("ReceiptHandle")):
                successful.append({"Id": entry["Id"]})
                continue
            rule = None
            if action == "DeleteMessageBatch":
                rule = self._first(self.delete_faults, entry)
            if rule is not None:
                failed.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": False,
                        "Code": rule.code,
                        "Message": rule.message,
                    }
                )
            else:
                rest.append(entry)
        answer = forward({**request, "Entries": rest}) if rest else {}
        order = {e.get("Id"): i for i, e in reversed(list(enumerate(entries)))}
        merged = {**answer}
        for key, local in (("Successful", successful), ("Failed", failed)):
            both = local + list(answer.get(key, []))
            merged[key] = sorted(both, key=lambda item: order.get(item.get("Id"), 0))
        return merged

    def _is_stale(self, handle: Any) -> bool:
        with self.lock:
            if not self.stale_handles or handle not in self.handle_to_message:
                return False
            return self.latest_handle[self.handle_to_message[handle]] != handle

    def _remember(self, messages: list[Json]) -> None:
        with self.lock:
            for message in messages:
                handle, message_id = message["ReceiptHandle"], message["MessageId"]
                self.handle_to_message[handle] = message_id
                self.latest_handle[message_id] = handle


def _entry_error(code: str, message: str) -> Json:
    return {"ErrorCode": code, "ErrorMessage": message}


def _error(service: str, status: int, code: str, message: str) -> _Reply:
    """An error as each protocol shapes it; SQS is query-compatible and carries the legacy
    code in `x-amzn-query-error`, which botocore reports as Error.Code."""
    if service != "sqs":
        return _Reply(status, {"__type": code, "message": message})
    legacy = (
        f"AWS.SimpleQueueService.{code}"
        if code
        in ("BatchEntryIdsNotDistinct", "TooManyEntriesInBatchRequest", "BatchRequestTooLong")
        else code
    )
    fault = "Sender" if status < 500 else "Receiver"
    body = {"__type": f"com.amazonaws.sqs#{code}", "message": message}
    return _Reply(status, body, {"x-amzn-query-error": f"{legacy};{fault}"})


class _Upstream(Exception):
    """Moto answered something other than 200: pass it through untouched."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK waits
    timeout = 120  # idle keep-alive connections end their thread eventually
    upstream_conn: Optional[http.client.HTTPConnection] = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def finish(self) -> None:
        super().finish()
        if self.upstream_conn is not None:
            self.upstream_conn.close()

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        if "." not in target:
            self._respond(*self._send(proxy, body))
            return
        prefix, action = target.split(".", 1)
        service = "sqs" if prefix == "AmazonSQS" else "events"
        content_type = (
            "application/x-amz-json-1.0" if service == "sqs" else "application/x-amz-json-1.1"
        )
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            self._respond(*self._send(proxy, body))
            return

        def forward(changed: Json) -> Json:
            raw = body if changed is request else _dump(changed)
            status, headers, answer = self._send(proxy, raw)
            if status != 200:
                raise _Upstream(status, headers, answer)
            return json.loads(answer or b"{}")

        own = [("Content-Type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))]
        drop = False
        try:
            proxy.begin(action, service, request)
            # Decided after whole-call faults, so `count` only sees calls that got through.
            drop = proxy.should_drop(action, request)
            answer = proxy.process(action, service, request, forward)
            status, headers, payload = 200, own, _dump(answer)
        except _Reply as reply:
            status, headers, payload = (
                reply.status,
                own + list(reply.headers.items()),
                _dump(reply.body),
            )
        except _Upstream as upstream:
            status, headers, payload = upstream.status, upstream.headers, upstream.body
        if drop:
            # The call took effect upstream; the client must not learn that.
            self.close_connection = True
            return
        self._respond(status, headers, payload)

    def _send(self, proxy: FaultProxy, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            if self.upstream_conn is None:
                self.upstream_conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            reused = self.upstream_conn.sock is not None
            try:
                self.upstream_conn.request(self.command, self.path, body, headers)
                response = self.upstream_conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Only a kept-alive socket closed while idle is worth one more try; a fresh
                # one failing may have reached moto, and a resend would apply the call twice.
                self.upstream_conn.close()
                self.upstream_conn = None
                if attempt == 2 or not reused:
                    raise
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        return response.status, kept, payload

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _dump(value: Json) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@contextmanager
def fault_proxy(upstream_url: str, *, seed: int = 0) -> Iterator[FaultProxy]:
    """A started proxy in front of `upstream_url`; `.url` is its endpoint."""
    proxy = FaultProxy(upstream_url, seed=seed).start()
    try:
        yield proxy
    finally:
        proxy.stop()
