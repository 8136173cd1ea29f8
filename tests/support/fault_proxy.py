"""A loopback reverse proxy in front of moto that behaves more like AWS and injects faults.

Moto 5.2 accepts `aws.*` sources, oversized PutEvents requests, non-object `Detail`, duplicate
batch Ids and stale receipt handles, and it never throttles, fails a single entry, loses a
response or returns an empty receive. Tests point boto3 at `proxy.url` and switch those
behaviours on from the test thread; everything else is forwarded unchanged.

It speaks the protocols of the rule-target services too: JSON (SQS, EventBridge, Step
Functions, Kinesis, Firehose, CloudWatch Logs), query (SNS Publish/PublishBatch) and Lambda's
REST-JSON Invoke, so calls to them are counted, delayed, failed, dropped and recorded alike.
"""

from __future__ import annotations

import http.client
import json
import random
import re
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
from xml.etree import ElementTree

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
    "Invoke", "Publish", "PublishBatch", "StartExecution", "PutRecord", "PutRecords",
    "PutRecordBatch", "CreateLogStream", "PutLogEvents",
))
# X-Amz-Target prefix -> (service, Content-Type of the JSON protocol version it speaks)
JSON_SERVICES = {
    "AmazonSQS": ("sqs", "application/x-amz-json-1.0"),
    "AWSEvents": ("events", "application/x-amz-json-1.1"),
    "AWSStepFunctions": ("states", "application/x-amz-json-1.0"),
    "Kinesis_20131202": ("kinesis", "application/x-amz-json-1.1"),
    "Firehose_20150804": ("firehose", "application/x-amz-json-1.1"),
    "Logs_20140328": ("logs", "application/x-amz-json-1.1"),
}
# Batch APIs whose answer holds one slot per record, in request order: answer list, count key.
RECORD_BATCHES = {
    "PutRecords": ("Records", "FailedRecordCount"),
    "PutRecordBatch": ("RequestResponses", "FailedPutCount"),
}
# Per-entry faults (`fail_batch_entries`) apply to these.
ENTRY_BATCH_ACTIONS = frozenset(("SendMessageBatch", "PublishBatch", *RECORD_BATCHES))
QUERY_ACTIONS = frozenset(("Publish", "PublishBatch"))  # SNS still speaks the query protocol
LAMBDA_INVOKE = re.compile(r"/2015-03-31/functions/(?P<name>[^/?]+)/invocations(?:\?|$)")
SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
SNS_ENTRY = re.compile(r"PublishBatchRequestEntries\.member\.(\d+)\.(.+)")
BATCH_ACTIONS = frozenset((
    "SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch",
))
HANDLE_ACTIONS = frozenset(("DeleteMessage", "ChangeMessageVisibility"))
# fmt: on
CALL_STATUS = {
    "ThrottlingException": 400,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "TooManyRequestsException": 429,
    "ServiceException": 500,
    "InternalError": 500,
    "ServiceUnavailableException": 503,
    "ResourceNotReadyException": 502,
}
# Documented per-request limits moto does not check (it checks PutRecords' 500 records,
# 1 MiB per record and 5 MiB per request itself): action -> (entries, bytes).
TARGET_LIMITS = {
    "PutRecordBatch": (500, 4_000_000),  # Firehose API reference, PutRecordBatch
    "PublishBatch": (10, 262_144),  # SNS API reference, PublishBatch: 256 KiB in total
}
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

    def __init__(self, status: int, payload: bytes, headers: Optional[dict[str, str]] = None):
        super().__init__(status)
        self.status, self.payload, self.headers = status, payload, headers or {}


class FaultProxy:
    """Configure from any thread; every setter and counter update holds `self.lock`."""

    def __init__(self, upstream_url: str, *, seed: int = 0) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.seed = seed
        self.lock = threading.RLock()
        self._idle = threading.Condition()
        self._active = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self.url = ""
        self.reset()

    def request_started(self) -> None:
        with self._idle:
            self._active += 1

    def request_finished(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until no request is being served: a killed client's last call may still be on
        its way to moto (delayed by `set_latency`) and take effect after the client died."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

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
            self.batch_entry_faults: dict[str, list[Rule]] = {}
            self.empty_receive_rules: list[Rule] = []
            # AWS strictness moto lacks; each can be switched off.
            self.refuse_aws_sources = True
            self.check_put_events_limits = True
            self.max_request_bytes = 262_144
            self.max_batch_bytes = 262_144  # SendMessageBatch payload (body and attributes)
            self.check_detail = True
            self.check_batches = True
            self.check_target_limits = True
            self.stale_handles = True
            self.answer_put_events = False  # answer PutEvents here instead of moto
            self.record_entries = False  # keep accepted entries, not only count them
            self.record_requests = False  # keep every request moto answered, by action
            self.accepted_count = 0
            self.accepted_entries: list[Json] = []
            self.recorded: list[tuple[str, Json]] = []
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

    def fail_batch_entries(self, action: str, code: str, **rule: Any) -> Rule:
        """Entries of a target batch call (SendMessageBatch, PublishBatch, PutRecords,
        PutRecordBatch) matching the rule fail with `code` in the answer, unforwarded.
        The rule sees the entry as sent: SQS/SNS entries by field, Kinesis and Firehose
        records with `Data` as the base64 text the JSON protocol carries."""
        if action not in ENTRY_BATCH_ACTIONS:
            raise ValueError(f"no per-entry answers for {action}")
        return self._add(self.batch_entry_faults.setdefault(action, []), Rule(code=code, **rule))

    def requests(self, action: str) -> list[Json]:
        """The recorded requests of one action (with `record_requests` on), in order."""
        with self.lock:
            return [request for name, request in self.recorded if name == action]

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

    def note(self, action: str, request: Json) -> None:
        """Record a request moto answered (faulted entries already taken out)."""
        with self.lock:
            if self.record_requests:
                self.recorded.append((action, request))

    def process(self, action: str, service: str, request: Json, forward: Forward) -> Json:
        """Apply strictness and entry faults to one call; return the body to answer 200 with."""
        if action == "PutEvents":
            return self._put_events(request, forward)
        if action in RECORD_BATCHES:
            return self._record_batch(action, service, request, forward)
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
            elif action == "SendMessageBatch":
                rule = self._first(self.batch_entry_faults.get(action, []), entry)
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

    def _record_batch(self, action: str, service: str, request: Json, forward: Forward) -> Json:
        """PutRecords / PutRecordBatch: faulted records answer their slot here, the rest go to
        moto, and the slots are merged back in request order."""
        records: list[Json] = request.get("Records", [])
        answer_key, count_key = RECORD_BATCHES[action]
        if self.check_target_limits and action in TARGET_LIMITS:
            size = sum(_record_bytes(record) for record in records)
            self._check_limits(action, service, len(records), size)
        rules = self.batch_entry_faults.get(action, [])
        slots: list[Optional[Json]] = []
        for record in records:
            rule = self._first(rules, record)
            slots.append(None if rule is None else _entry_error(rule.code, rule.message))
        rest = [record for record, slot in zip(records, slots) if slot is None]
        answer = forward({**request, "Records": rest}) if rest else {}
        results = iter(answer.get(answer_key, []))
        merged = [slot if slot is not None else next(results, {}) for slot in slots]
        failed = sum(1 for slot in merged if "ErrorCode" in slot)
        return {**answer, answer_key: merged, count_key: failed}

    def _check_limits(self, action: str, service: str, entries: int, size: int) -> None:
        most_entries, most_bytes = TARGET_LIMITS[action]
        if entries > most_entries:
            raise _error(
                service,
                400,
                "ValidationException" if service != "sns" else "TooManyEntriesInBatchRequest",
                f"{entries} entries; {action} takes at most {most_entries}",
            )
        if size > most_bytes:
            code = "InvalidArgumentException" if service != "sns" else "BatchRequestTooLong"
            raise _error(service, 400, code, f"{size} bytes; {action} takes at most {most_bytes}")

    def publish_batch(
        self, form: dict[str, str], forward: Callable[[dict[str, str]], bytes]
    ) -> bytes:
        """SNS PublishBatch (query protocol): faulted entries answer in `Failed` here, the rest
        go to moto, and one XML answer lists every entry in request order."""
        entries = _sns_entries(form)
        if self.check_target_limits:
            size = sum(len(entry.get("Message", "").encode("utf-8")) for entry in entries)
            self._check_limits("PublishBatch", "sns", len(entries), size)
        rules = self.batch_entry_faults.get("PublishBatch", [])
        faulted: dict[str, Json] = {}
        rest: list[Json] = []
        for entry in entries:
            rule = self._first(rules, entry)
            if rule is None:
                rest.append(entry)
            else:
                faulted[entry["Id"]] = {
                    "Id": entry["Id"],
                    "Code": rule.code,
                    "Message": rule.message,
                    "SenderFault": "false",
                }
        successful: list[Json] = []
        failed: list[Json] = list(faulted.values())
        if rest:
            answer = ElementTree.fromstring(forward(_sns_form(form, rest)))
            successful = _xml_members(answer, "Successful")
            failed += _xml_members(answer, "Failed")
        order = {entry["Id"]: index for index, entry in enumerate(entries)}
        return _publish_batch_xml(
            sorted(successful, key=lambda item: order.get(item.get("Id"), 0)),
            sorted(failed, key=lambda item: order.get(item.get("Id"), 0)),
        )

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
    code in `x-amzn-query-error`, which botocore reports as Error.Code. SNS answers query
    XML; Lambda (REST-JSON) names the code in `x-amzn-ErrorType`."""
    fault = "Sender" if status < 500 else "Receiver"
    if service == "sns":
        body = (
            f'<ErrorResponse xmlns="{SNS_XMLNS}"><Error><Type>{fault}</Type>'
            f"<Code>{_xml_text(code)}</Code><Message>{_xml_text(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        return _Reply(status, body.encode("utf-8"), {"Content-Type": "text/xml"})
    if service == "lambda":
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        return _Reply(status, _dump({"Type": "User", "message": message}), headers)
    if service != "sqs":
        return _Reply(status, _dump({"__type": code, "message": message}))
    legacy = (
        f"AWS.SimpleQueueService.{code}"
        if code
        in ("BatchEntryIdsNotDistinct", "TooManyEntriesInBatchRequest", "BatchRequestTooLong")
        else code
    )
    body = {"__type": f"com.amazonaws.sqs#{code}", "message": message}
    return _Reply(status, _dump(body), {"x-amzn-query-error": f"{legacy};{fault}"})


def _record_bytes(record: Json) -> int:
    """A Kinesis or Firehose record as their limits count it: the data before base64, plus
    the partition key for Kinesis."""
    data = str(record.get("Data") or "")
    decoded = len(data) * 3 // 4 - data[-2:].count("=")
    return decoded + len(str(record.get("PartitionKey") or "").encode("utf-8"))


def _sns_entries(form: dict[str, str]) -> list[Json]:
    """PublishBatchRequestEntries.member.N.FIELD → one dict per entry (N order), the
    fields under their names (nested attribute keys stay flat, e.g. MessageAttributes...)."""
    members: dict[int, Json] = {}
    for key, value in form.items():
        match = SNS_ENTRY.fullmatch(key)
        if match:
            members.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [members[number] for number in sorted(members)]


def _sns_form(form: dict[str, str], entries: list[Json]) -> dict[str, str]:
    """The form with only `entries`, renumbered from 1 as the query protocol wants."""
    kept = {key: value for key, value in form.items() if not SNS_ENTRY.fullmatch(key)}
    for number, entry in enumerate(entries, start=1):
        for field, value in entry.items():
            kept[f"PublishBatchRequestEntries.member.{number}.{field}"] = value
    return kept


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_members(answer: ElementTree.Element, list_name: str) -> list[Json]:
    found: list[Json] = []
    for element in answer.iter():
        if _local(element.tag) == list_name:
            for member in element:
                found.append({_local(child.tag): child.text or "" for child in member})
    return found


def _xml_text(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _publish_batch_xml(successful: list[Json], failed: list[Json]) -> bytes:
    def members(items: list[Json]) -> str:
        return "".join(
            "<member>"
            + "".join(f"<{key}>{_xml_text(value)}</{key}>" for key, value in item.items())
            + "</member>"
            for item in items
        )

    body = (
        f'<PublishBatchResponse xmlns="{SNS_XMLNS}"><PublishBatchResult>'
        f"<Successful>{members(successful)}</Successful><Failed>{members(failed)}</Failed>"
        f"</PublishBatchResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
        "</ResponseMetadata></PublishBatchResponse>"
    )
    return body.encode("utf-8")


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
        proxy.request_started()
        try:
            self._handle_request(proxy)
        finally:
            proxy.request_finished()

    def _handle_request(self, proxy: FaultProxy) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        invoke = LAMBDA_INVOKE.match(self.path)
        if "." in target:
            self._handle_json(proxy, body, target)
        elif invoke is not None and self.command == "POST":
            self._handle_invoke(proxy, body, urllib.parse.unquote(invoke.group("name")))
        elif (form := _query_form(self.headers.get("Content-Type", ""), body)) is not None:
            self._handle_query(proxy, body, form)
        else:
            self._respond(*self._send(proxy, body))

    def _handle_json(self, proxy: FaultProxy, body: bytes, target: str) -> None:
        prefix, action = target.split(".", 1)
        service, content_type = JSON_SERVICES.get(prefix, ("events", "application/x-amz-json-1.1"))
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

        def work() -> tuple[int, list[tuple[str, str]], bytes]:
            answer = proxy.process(action, service, request, forward)
            return 200, [("Content-Type", content_type)], _dump(answer)

        self._serve(proxy, action, service, request, content_type, work)

    def _handle_invoke(self, proxy: FaultProxy, body: bytes, function: str) -> None:
        """Lambda Invoke (REST-JSON): the payload is the body, the rest are path and headers."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        request: Json = {
            "FunctionName": function,
            "Qualifier": (query.get("Qualifier") or [None])[0],
            "InvocationType": self.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
            "Payload": body.decode("utf-8", errors="replace"),
        }
        self._serve(
            proxy, "Invoke", "lambda", request, "application/json", lambda: self._send(proxy, body)
        )

    def _handle_query(self, proxy: FaultProxy, body: bytes, form: dict[str, str]) -> None:
        action = form.get("Action", "")
        if action not in QUERY_ACTIONS:
            self._respond(*self._send(proxy, body))
            return

        def forward(changed: dict[str, str]) -> bytes:
            status, headers, answer = self._send(proxy, urllib.parse.urlencode(changed).encode())
            if status != 200:
                raise _Upstream(status, headers, answer)
            return answer

        def work() -> tuple[int, list[tuple[str, str]], bytes]:
            if action == "PublishBatch":
                return 200, [("Content-Type", "text/xml")], proxy.publish_batch(form, forward)
            return self._send(proxy, body)

        self._serve(proxy, action, "sns", form, "text/xml", work)

    def _serve(
        self,
        proxy: FaultProxy,
        action: str,
        service: str,
        request: Json,
        content_type: str,
        work: Callable[[], tuple[int, list[tuple[str, str]], bytes]],
    ) -> None:
        """Count, delay and fault the call, let `work` answer it, record it, and answer the
        client (or, for a dropped answer, close the connection instead)."""
        own = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
        drop = False
        try:
            proxy.begin(action, service, request)
            # Decided after whole-call faults, so `count` only sees calls that got through.
            drop = proxy.should_drop(action, request)
            status, headers, payload = work()
            if status < 300:
                proxy.note(action, request)
        except _Reply as reply:
            status, payload = reply.status, reply.payload
            headers = list({**own, **reply.headers}.items())
        except _Upstream as upstream:
            status, headers, payload = upstream.status, upstream.headers, upstream.body
        if drop:
            # The call took effect upstream; the client must not learn that.
            self.close_connection = True
            return
        if not any(key.lower() == "x-amzn-requestid" for key, _value in headers):
            headers = [*headers, ("x-amzn-RequestId", own["x-amzn-RequestId"])]
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


def _query_form(content_type: str, body: bytes) -> Optional[dict[str, str]]:
    """A query-protocol request's parameters, or None for any other body."""
    if not content_type.startswith("application/x-www-form-urlencoded") or not body:
        return None
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return dict(pairs)


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
