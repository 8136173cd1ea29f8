# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The redrive loop: receive → plan → put → delete, with N workers.

Guarantees, at any concurrency:
- a message is deleted only after PutEvents accepted its entry (or, for a copy
  of an event already put in this run, after that copy was accepted);
- every message received and not deleted is made visible again when the run
  ends, so nothing waits out its visibility timeout;
- a message kept for a terminal reason is not retried in the same run: it stays
  hidden until the end, so the drain is not fooled by it reappearing;
- a message being worked on stays hidden while the work lasts (its visibility is
  extended), so no other receiver handles it at the same time.

Deletes run on their own small pool, after the put that accepted the entries:
a worker goes on to its next receive while the previous batch is deleted, so
a batch costs two round trips of waiting instead of three.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .aws import AwsError, Clients, aws_error, bus_name, check_bus
from .batching import DEFAULT_MAX_REQUEST_BYTES, plan_batches
from .dedupe import ACCEPTED, FAILED, OWNER, DedupeRegistry
from .entries import Entry, EntryOptions
from .filters import RecordFilter
from .held import HeldMessages
from .outcomes import DUPLICATE, FILTERED_OUT, KEPT, QUARANTINED, REDRIVEN, Tally
from .pacing import Pacer, backoff_delay
from .planning import FILTER, KEEP, Planner
from .queue_ops import SQS_BATCH, QueueOps, quarantine_attributes
from .records import DlqRecord, parse_message

RETRYABLE_ENTRY_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})
WHOLE_REQUEST_FAILED = "whole request failed"
UNMATCHED_RESPONSE = "UnmatchedResponse"
DUPLICATE_OF_KEPT = "duplicate_of_kept_copy: "
FATAL_CODE_PREFIXES = (
    "AccessDenied",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "NoCredentials",
    "NoRegion",
    "EndpointConnectionError",
    "MissingDependency",
    # A 403 whose body botocore cannot read (a proxy, an endpoint policy) is a denial too.
    "403",
)

Progress = Callable[[dict[str, Any]], None]
Planned = tuple[DlqRecord, Entry]
Failed = tuple[DlqRecord, str]


class SettingsError(ValueError):
    """Settings that cannot describe a run."""


@dataclass(frozen=True)
class RedriveSettings:
    queue_url: str
    entry_options: EntryOptions = field(default_factory=EntryOptions)
    record_filter: RecordFilter = field(default_factory=RecordFilter)
    max_messages: Optional[int] = None
    max_seconds: Optional[float] = None
    concurrency: int = 8
    rate_limit: Optional[float] = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    quarantine_queue_url: Optional[str] = None
    dedupe: bool = True
    wait_seconds: int = 1
    empty_receives: int = 2
    visibility_timeout: int = 120
    entry_attempts: int = 6
    include_bodies: bool = False
    kept_limit: int = 100
    check_buses: bool = True

    def validate(self) -> None:
        self.entry_options.validate()
        _at_least("max_messages", self.max_messages, 1)
        _at_least("max_seconds", self.max_seconds, 1)
        _within("concurrency", self.concurrency, 1, 64)
        _at_least("rate_limit", self.rate_limit, 1)
        _within("max_request_bytes", self.max_request_bytes, 1024, 16 * 1024 * 1024)
        _within("wait_seconds", self.wait_seconds, 0, 20)
        _within("empty_receives", self.empty_receives, 1, 100)
        _within("visibility_timeout", self.visibility_timeout, 10, 43200)
        _within("entry_attempts", self.entry_attempts, 1, 20)
        _within("kept_limit", self.kept_limit, 0, 10000)
        if self.quarantine_queue_url and self.quarantine_queue_url == self.queue_url:
            raise SettingsError("quarantine_queue must not be the queue being redriven")


def _at_least(name: str, value: Optional[float], low: float) -> None:
    if value is not None and value < low:
        raise SettingsError(f"{name} must be at least {low}, got {value}")


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")


def is_fatal(error: AwsError) -> bool:
    return error.code.startswith(FATAL_CODE_PREFIXES)


def is_transient(reason: str) -> bool:
    """A failure that says nothing against the message itself: a retryable entry error
    after the retry budget, or a failed request (also when it struck the first copy of
    this event). Such a message stays in the DLQ for a later run, never in quarantine."""
    if reason.startswith(DUPLICATE_OF_KEPT):
        reason = reason[len(DUPLICATE_OF_KEPT) :]
    name = reason.split(":", 1)[0]
    return (
        name in RETRYABLE_ENTRY_CODES
        or name == UNMATCHED_RESPONSE
        or (WHOLE_REQUEST_FAILED in reason)
    )


class Counter:
    """A thread-safe count."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.value += 1


class Budget:
    """How many more messages the run may take (None: no limit)."""

    def __init__(self, limit: Optional[int]) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def reserve(self, wanted: int) -> int:
        with self._lock:
            if self._left is None:
                return wanted
            granted = min(wanted, self._left)
            self._left -= granted
            return granted

    def give_back(self, amount: int) -> None:
        with self._lock:
            if self._left is not None and amount > 0:
                self._left += amount


class Redrive:
    """One run over one queue. `run()` once; `stop()` from any thread."""

    def __init__(
        self,
        clients: Clients,
        settings: RedriveSettings,
        progress: Optional[Progress] = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        settings.validate()
        self.settings = settings
        self.clients = clients
        self.tally = Tally(settings.kept_limit, settings.include_bodies)
        self.queue = QueueOps(clients.sqs, settings.queue_url, self.tally.call)
        self.quarantine = (
            QueueOps(clients.sqs, settings.quarantine_queue_url, self.tally.call)
            if settings.quarantine_queue_url
            else None
        )
        self.planner = Planner(
            settings.entry_options,
            settings.record_filter,
            settings.max_request_bytes,
            self._bus_problem if settings.check_buses else None,
        )
        self._progress = progress
        self._clock_ms = clock_ms
        self._pacer = Pacer(settings.rate_limit)
        self._registry: DedupeRegistry[DlqRecord] = DedupeRegistry()
        self._budget = Budget(settings.max_messages)
        self._held = HeldMessages()
        self._deleter = ThreadPoolExecutor(
            max_workers=settings.concurrency, thread_name_prefix="redrive-delete"
        )
        # Bounds the deletes waiting to run, so memory stays flat on a huge queue.
        self._delete_slots = threading.BoundedSemaphore(2 * settings.concurrency)
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._empty_workers = Counter()
        self._fatal: Optional[AwsError] = None
        self._deadline = time.monotonic() + settings.max_seconds if settings.max_seconds else None

    # ---- the run -------------------------------------------------------

    def run(self) -> dict[str, Any]:
        workers = [
            threading.Thread(target=self._work, name=f"redrive-{index}", daemon=True)
            for index in range(self.settings.concurrency)
        ]
        for worker in workers:
            worker.start()
        heartbeat = threading.Thread(target=self._keep_hidden, name="redrive-visibility")
        heartbeat.daemon = True
        heartbeat.start()
        interrupted = False
        previous_handler = _stop_on_sigterm(self.stop)
        try:
            for worker in workers:
                while worker.is_alive():
                    worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            self.stop()
            for worker in workers:
                worker.join()
        finally:
            _restore_sigterm(previous_handler)
        self._deleter.shutdown(wait=True)
        self._finished.set()
        heartbeat.join()
        self._release_held()
        result = self.tally.result()
        result["changed"] = bool(result[REDRIVEN] or result[QUARANTINED] or result[DUPLICATE])
        result["stopped_by"] = self._stopped_by(interrupted)
        if self._fatal is not None:
            result["error"] = {
                "code": self._fatal.code,
                "message": self._fatal.describe(),
                "hint": self._fatal.hint,
                "action": self._fatal.action,
            }
        return result

    def stop(self) -> None:
        self._stop.set()

    def _stopped_by(self, interrupted: bool) -> str:
        if self._fatal is not None:
            return "error"
        if interrupted or self._stop.is_set():
            return "interrupted"
        if self._empty_workers.value == self.settings.concurrency:
            return "drained"
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return "max_seconds"
        return "max_messages"

    def _should_stop(self) -> bool:
        if self._stop.is_set() or self._fatal is not None:
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _work(self) -> None:
        try:
            self._receive_loop()
        except AwsError as error:
            self._fail(error)
        except Exception as error:  # a worker must never die silently
            self._fail(aws_error(error, "Redrive"))

    def _fail(self, error: AwsError) -> None:
        if self._fatal is None:
            self._fatal = error
        self._stop.set()

    def _receive_loop(self) -> None:
        empty_in_a_row = 0
        while not self._should_stop():
            limit = self._budget.reserve(SQS_BATCH)
            if limit == 0:
                return
            messages = self.queue.receive(
                limit, self.settings.wait_seconds, self.settings.visibility_timeout
            )
            records = self._take_new([parse_message(message) for message in messages])
            self._budget.give_back(limit - len(records))
            if not records:
                empty_in_a_row += 1
                if empty_in_a_row >= self.settings.empty_receives:
                    # Each worker decides for itself: one worker's run of empty
                    # answers (SQS may answer empty while messages exist) must
                    # not stop the others.
                    self._empty_workers.count()
                    return
                continue
            empty_in_a_row = 0
            self._process(records)
            if self._progress is not None:
                self._progress(self.tally.snapshot())

    def _take_new(self, records: list[DlqRecord]) -> list[DlqRecord]:
        fresh = self._held.take_new(records)
        self.tally.count("received", len(fresh))
        return fresh

    def _keep_hidden(self) -> None:
        """Work on a batch can outlast the visibility timeout (back-off under throttling,
        a slow delete): extend it for the messages still being worked on, a third of the
        timeout before it runs out, so no other receiver gets them meanwhile."""
        timeout = self.settings.visibility_timeout
        while not self._finished.wait(timeout / 3):
            working = self._held.working()
            if not working:
                continue
            try:
                self.queue.hide(working, timeout)
            except AwsError:
                # Not fatal: a lapse risks only a second receive, which the held
                # handles and dedupe absorb; a real denial shows on the next call.
                continue

    # ---- one receive's worth of messages --------------------------------

    def _process(self, records: list[DlqRecord]) -> None:
        now_ms = self._clock_ms()
        to_put: list[Planned] = []
        duplicates: list[tuple[DlqRecord, str]] = []
        terminal: list[tuple[DlqRecord, str]] = []
        for record in records:
            decision = self.planner.decide(record, now_ms)
            if decision.action == FILTER:
                self.tally.outcome(record, FILTERED_OUT)
                self._held.park([record])
            elif decision.action == KEEP or decision.entry is None:
                terminal.append((record, decision.reason or "unknown"))
            else:
                self._route_selected(record, decision.entry, to_put, duplicates, terminal)
        plan = plan_batches(
            to_put, lambda planned: planned[1].size, self.settings.max_request_bytes
        )
        accepted: list[Planned] = []
        failed: list[Failed] = []
        for batch in plan.batches:
            batch_accepted, batch_failed = self._put(batch)
            accepted.extend(batch_accepted)
            failed.extend(batch_failed)
        self._delete_redriven(accepted)
        self._delete_duplicates(duplicates)
        self._settle_failed(terminal + failed)

    def _route_selected(
        self,
        record: DlqRecord,
        entry: Entry,
        to_put: list[Planned],
        duplicates: list[tuple[DlqRecord, str]],
        terminal: list[tuple[DlqRecord, str]],
    ) -> None:
        if entry.source_rewritten:
            self.tally.count("sources_rewritten")
        if not self.settings.dedupe or record.event_id is None:
            to_put.append((record, entry))
            return
        state, reason = self._registry.claim(record.event_id, entry.bus, record)
        if state == OWNER:
            to_put.append((record, entry))
        elif state == ACCEPTED:
            duplicates.append((record, entry.bus))
        elif state == FAILED:
            terminal.append((record, DUPLICATE_OF_KEPT + reason))
        # WAITING: the worker that owns the first copy settles this one.

    def _put(self, batch: list[Planned]) -> tuple[list[Planned], list[Failed]]:
        """Put one batch, retrying retryable per-entry failures with back-off."""
        outcome: list[Optional[str]] = ["not attempted"] * len(batch)
        pending = list(range(len(batch)))
        for attempt in range(self.settings.entry_attempts):
            self._pacer.acquire(len(pending))
            codes = self._put_once([batch[index][1].fields for index in pending])
            retry = []
            for index, code in zip(pending, codes):
                outcome[index] = code
                if code is not None and code.split(":", 1)[0] in RETRYABLE_ENTRY_CODES:
                    retry.append(index)
            if any(outcome[index] and outcome[index].startswith("Throttling") for index in retry):
                self._pacer.throttled()
            else:
                self._pacer.succeeded()
            if not retry or attempt == self.settings.entry_attempts - 1:
                break
            pending = retry
            time.sleep(backoff_delay(attempt))
        return self._resolve_put(batch, outcome)

    def _put_once(self, entries: list[dict[str, Any]]) -> list[Optional[str]]:
        """One PutEvents call: per entry None (accepted) or 'Code: message'."""
        self.tally.call("PutEvents")
        try:
            response = self.clients.events.put_events(Entries=entries)
        except Exception as error:  # botocore raises many unrelated classes
            translated = aws_error(error, "PutEvents")
            if is_fatal(translated):
                raise translated from None
            reason = f"{translated.code}: {WHOLE_REQUEST_FAILED}: {translated.message}"
            return [reason] * len(entries)
        slots = response.get("Entries") or []
        if len(slots) != len(entries):
            # Entries are matched by index; a short answer cannot be trusted.
            return [f"{UNMATCHED_RESPONSE}: {len(slots)} results for {len(entries)} entries"] * len(
                entries
            )
        return [_slot_code(slot) for slot in slots]

    def _resolve_put(
        self, batch: list[Planned], outcome: list[Optional[str]]
    ) -> tuple[list[Planned], list[Failed]]:
        accepted: list[Planned] = []
        failed: list[Failed] = []
        for (record, entry), code in zip(batch, outcome):
            if code is None:
                accepted.append((record, entry))
            else:
                code_name = code.split(":", 1)[0]
                reason = (
                    f"{code} (gave up after {self.settings.entry_attempts} attempts)"
                    if code_name in RETRYABLE_ENTRY_CODES
                    else code
                )
                failed.append((record, reason))
            if self.settings.dedupe and record.event_id is not None:
                waiters = self._registry.resolve(
                    record.event_id, entry.bus, code is None, code or ""
                )
                self._settle_waiters(waiters, entry.bus, code)
        return accepted, failed

    def _settle_waiters(self, waiters: list[DlqRecord], bus: str, code: Optional[str]) -> None:
        if not waiters:
            return
        if code is None:
            self._delete_duplicates([(waiter, bus) for waiter in waiters])
        else:
            self._settle_failed([(waiter, DUPLICATE_OF_KEPT + code) for waiter in waiters])

    # ---- settling messages ----------------------------------------------

    def _delete_redriven(self, accepted: list[Planned]) -> None:
        if not accepted:
            return
        for record, entry in accepted:
            self.tally.outcome(record, REDRIVEN, bus_name(entry.bus))
        self._delete([record for record, _entry in accepted])

    def _delete_duplicates(self, duplicates: list[tuple[DlqRecord, str]]) -> None:
        if not duplicates:
            return
        for record, bus in duplicates:
            self.tally.outcome(record, DUPLICATE, bus_name(bus))
        self._delete([record for record, _bus in duplicates])

    def _delete(self, records: list[DlqRecord]) -> None:
        """Delete in the background; the messages stay held until it succeeded."""
        self._delete_slots.acquire()
        try:
            self._deleter.submit(self._delete_now, records)
        except RuntimeError:  # the pool is shut down: the run is over, delete here
            self._delete_now(records)

    def _delete_now(self, records: list[DlqRecord]) -> None:
        try:
            self._held.use_newest_handles(records)
            failures = self.queue.delete(records)
            failed_ids = {record.message_id for record, _code in failures}
            for record, code in failures:
                self.tally.delete_failed(record, code)
            self._held.park([record for record, _code in failures])
            self._held.drop([record for record in records if record.message_id not in failed_ids])
        except AwsError as error:
            self._fail(error)
        except Exception as error:  # a delete must never die silently
            self._fail(aws_error(error, "DeleteMessageBatch"))
        finally:
            self._delete_slots.release()

    def _settle_failed(self, failed: list[Failed]) -> None:
        """Transient failures stay in the DLQ; the others are quarantined when asked."""
        terminal = []
        for record, reason in failed:
            if is_transient(reason):
                self.tally.outcome(record, KEPT, reason=reason)
                self._held.park([record])
            else:
                terminal.append((record, reason))
        self._settle_kept(terminal)

    def _settle_kept(self, kept: list[Failed]) -> None:
        """Quarantine when asked (send first, delete after), else keep hidden till the end."""
        if not kept:
            return
        if self.quarantine is None:
            for record, reason in kept:
                self.tally.outcome(record, KEPT, reason=reason)
            self._held.park([record for record, _reason in kept])
            return
        copies = [
            (record, quarantine_attributes(record, reason, self.settings.queue_url))
            for record, reason in kept
        ]
        send_failures = {
            record.message_id: code for record, code in self.quarantine.send_copies(copies)
        }
        sent = []
        for record, reason in kept:
            if record.message_id in send_failures:
                note = f"{reason}; quarantine failed: {send_failures[record.message_id]}"
                self.tally.outcome(record, KEPT, reason=note)
                self._held.park([record])
            else:
                self.tally.outcome(record, QUARANTINED, reason=reason)
                sent.append(record)
        if sent:
            self._delete(sent)

    def _release_held(self) -> None:
        records = self._held.take_all()
        if not records:
            return
        try:
            failures = self.queue.release(records)
        except AwsError as error:
            self.tally.count("release_failures", len(records))
            self._fail(error)
            return
        self.tally.count("release_failures", len(failures))

    def _bus_problem(self, bus: str) -> Optional[str]:
        self.tally.call("DescribeEventBus")
        problem = check_bus(self.clients.events, bus)
        if problem is None:
            return None
        if is_fatal(problem):
            raise problem
        return f"event_bus_not_found: {problem.message}"


def _stop_on_sigterm(stop: Callable[[], None]) -> Any:
    """A job cancelled with SIGTERM (AWX, systemd, timeout) still releases what it holds."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop())


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _slot_code(slot: dict[str, Any]) -> Optional[str]:
    code = slot.get("ErrorCode")
    if code:
        return f"{code}: {slot.get('ErrorMessage', '')}".rstrip(": ")
    if not slot.get("EventId"):
        return "MissingEventId: the answer neither accepted nor rejected the entry"
    return None
