# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The redrive loop: receive → plan → deliver → settle, with N workers.

Guarantees, at any concurrency (the ledger enforces them):
- a message is deleted only after its destination accepted its payload (or, for a copy
  of an event already delivered to the same destination in this run, after that);
- every message received and not deleted is made visible again when the run ends;
- every held message, being worked on or parked, keeps its visibility extended while the
  run lasts, so no other receiver handles it and this run does not take it for new;
- accepted work is settled (deleted) before the run ends, also when it ends on an error.

A worker deletes in the background while it receives its next batch, and waits for that
delete before it delivers again: a batch costs two round trips of waiting instead of
three, and a kill at any moment leaves at most one batch per worker delivered but not
deleted. A copy whose event another worker is delivering (with a batching API) joins its
own receive's delete once that delivery is accepted, if that happens before its worker is
back from the next receive: one DeleteMessageBatch per receive, copies or not.

Check mode runs the same pipeline with a dispatcher and a settler that make no mutating
call, receiving with a visibility timeout of 0.
"""

from __future__ import annotations

import concurrent.futures
import enum
import random
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from .aws import AwsError, Clients, aws_error
from .batching import DEFAULT_MAX_REQUEST_BYTES
from .decrypt import DecryptError, require_encryption_sdk
from .dedupe import Claim, DedupeRegistry
from .delivery import Accepted, Answer, Delivery, Destination, Sender
from .dispatch import Dispatcher, PreviewDispatcher
from .entries import EntryOptions
from .failures import CodeClass, Failure, Kind, classify, copy_failure, request_failure
from .filters import RecordFilter
from .ledger import Handle, Ledger, State
from .lookups import BusCheck, Lookups, RuleBook
from .outcomes import DUPLICATE, QUARANTINED, REDRIVEN, Tally
from .pacing import Pacer, backoff_delay
from .planning import (
    KEEP_UNMATCHED,
    PUT_UNMATCHED,
    Deliver,
    Filtered,
    Keep,
    Planner,
    PlanSettings,
)
from .queue_ops import DEFAULT_MAX_MESSAGE_BYTES, SQS_BATCH, QueueOps, chunks
from .records import DlqRecord, parse_message
from .routing import DeliverTo
from .settle import Deleter, HandBack, LateCopies, PreviewSettler, Settlement, Settler
from .targets import sender_for

Progress = Callable[[dict[str, Any]], None]
# Receives that fail for a passing reason before the run gives up.
RECEIVE_ATTEMPTS = 5
# Check mode hides nothing, so SQS shows the same messages again: it stops after this
# many receives in a row that showed nothing new.
PREVIEW_STALE_RECEIVES = 3
# SQS keeps about 120,000 messages of a standard queue in flight (received, not deleted);
# past that a long poll answers empty, as if the queue were drained, and a short poll
# answers OverLimit. A run holding this many (kept messages stay hidden until it ends;
# other consumers' count too, hence the margin) cannot tell drained from full.
IN_FLIGHT_LIMIT = 110_000


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
    check_rules: bool = True
    when_rule_unmatched: str = KEEP_UNMATCHED
    deliver_to: DeliverTo = DeliverTo.AUTO
    target_arn: Optional[str] = None
    decrypt: bool = False
    # Handed batches only: a record not done that was received this often is quarantined.
    max_receives: Optional[int] = None

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
        _at_least("max_receives", self.max_receives, 1)
        if self.quarantine_queue_url and self.quarantine_queue_url == self.queue_url:
            raise SettingsError("quarantine_queue must not be the queue being redriven")
        if self.decrypt:
            try:
                require_encryption_sdk()
            except DecryptError as error:
                raise SettingsError(f"decrypt: {error.message}") from None
        if self.when_rule_unmatched not in (KEEP_UNMATCHED, PUT_UNMATCHED):
            raise SettingsError(
                f"when_rule_unmatched must be keep or put, got {self.when_rule_unmatched!r}"
            )

    @property
    def plan_settings(self) -> PlanSettings:
        return PlanSettings(
            self.entry_options,
            self.record_filter,
            self.max_request_bytes,
            self.when_rule_unmatched,
            self.deliver_to,
            self.target_arn,
            self.decrypt,
        )


def _at_least(name: str, value: Optional[float], low: float) -> None:
    if value is not None and value < low:
        raise SettingsError(f"{name} must be at least {low}, got {value}")


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")


def _thread_pool(workers: int, name: str) -> Executor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)


def _wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Seams:
    """Time, chance and threads, injected so races can be tested without waiting."""

    clock: Callable[[], float] = time.monotonic
    now_ms: Callable[[], int] = _wall_ms
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random
    executor: Callable[[int, str], Executor] = _thread_pool
    # Wait up to `seconds` for the run to finish; True when it has.
    wait: Callable[[threading.Event, float], bool] = threading.Event.wait


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


class Mode(enum.Enum):
    RUN = "run"  # receive, deliver, delete: the module, the CLI, a scheduled function
    CHECK = "check"  # receive with visibility 0, deliver, delete, send and hide nothing
    HANDED = "handed"  # a batch a Lambda event source mapping received and will delete


class Redrive:
    """One run over one queue. `run()` once; `stop()` from any thread.

    In Mode.CHECK (`preview`), the run is check mode: it receives with a visibility
    timeout of 0, delivers, deletes, sends and hides nothing, and reports what a real run
    would do. In Mode.HANDED, `settle_batch` takes messages someone else received and
    says which of them were not done; nothing is received, deleted or made visible.
    `lookups` (bus and rule answers) are made for the run unless the caller keeps its own.
    """

    def __init__(
        self,
        clients: Clients,
        settings: RedriveSettings,
        progress: Optional[Progress] = None,
        seams: Seams = Seams(),
        preview: bool = False,
        preview_limit: Optional[int] = None,
        make_sender: Optional[Callable[[Destination], Sender]] = None,
        mode: Optional[Mode] = None,
        lookups: Optional[Lookups] = None,
    ) -> None:
        settings.validate()
        self.settings = settings
        self.clients = clients
        self.mode = mode or (Mode.CHECK if preview else Mode.RUN)
        self.preview = self.mode is Mode.CHECK
        self.seams = seams
        self.tally = Tally(
            settings.kept_limit,
            settings.include_bodies,
            seams.clock,
            list_every_message=self.preview,
        )
        self.queue = QueueOps(
            clients.sqs, settings.queue_url, self.tally.call, seams.sleep, seams.random
        )
        self.ledger = Ledger()
        if lookups is None:
            lookups = Lookups(
                BusCheck(self._events_client, self.tally.call) if settings.check_buses else None,
                RuleBook(self._events_client, self.tally.call) if settings.check_rules else None,
            )
        self.planner = Planner(
            settings.plan_settings, lookups.buses, lookups.rules, self._kms_client
        )
        self._progress = progress
        # Each waiting copy is registered with the late copies of the receive it came in.
        self._registry: DedupeRegistry[tuple[DlqRecord, LateCopies]] = DedupeRegistry()
        self._budget = Budget(preview_limit if self.preview else settings.max_messages)
        self._hand_back = HandBack()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._empty_workers = Counter()
        self._in_flight_full = False
        self._fatal: Optional[AwsError] = None
        self._out_of_time = False
        self._deadline = seams.clock() + settings.max_seconds if settings.max_seconds else None
        self._delete_pool = seams.executor(settings.concurrency, "redrive-delete")
        self._visibility_pool = seams.executor(max(4, settings.concurrency), "redrive-visibility")
        self._deleter = Deleter(
            self.queue,
            self.ledger,
            self.tally,
            self._delete_pool,
            seams.clock,
            seams.random,
            self._fail,
        )
        quarantine = (
            QueueOps(
                clients.sqs,
                settings.quarantine_queue_url,
                self.tally.call,
                seams.sleep,
                seams.random,
            )
            if settings.quarantine_queue_url
            else None
        )
        self._settler: Union[Settler, PreviewSettler]
        self._dispatcher: Union[Dispatcher, PreviewDispatcher]
        if self.preview:
            self._settler = PreviewSettler(self.tally, quarantine is not None)
            self._dispatcher = PreviewDispatcher()
        else:
            handed = self.mode is Mode.HANDED
            self._settler = Settler(
                self.ledger,
                self.tally,
                self._hand_back if handed else self._deleter,
                settings.queue_url,
                quarantine,
                _once(quarantine.max_message_bytes) if quarantine else _default_message_bytes,
                settings.max_receives if handed else None,
            )
            self._dispatcher = Dispatcher(
                make_sender or self._sender,
                Pacer(settings.rate_limit, seams.clock, seams.sleep, seams.random),
                settings.entry_attempts,
                self.tally.call,
                seams.sleep,
                seams.random,
                # A handed batch ends by max_seconds (the function's time less a margin);
                # a receive loop finishes its batch and stops receiving instead.
                self._past_deadline if handed else None,
            )

    def _events_client(self, region: Optional[str]) -> Any:
        return self.clients.client("events", region)

    def _kms_client(self, region: Optional[str]) -> Any:
        self.tally.call("Decrypt")
        return self.clients.client("kms", region)

    def _sender(self, destination: Destination) -> Sender:
        return sender_for(
            destination, self.clients, self.settings.max_request_bytes, self.tally.call
        )

    # ---- the run -------------------------------------------------------

    @property
    def concurrency(self) -> int:
        return 1 if self.preview else self.settings.concurrency

    def run(self) -> dict[str, Any]:
        pool = self.seams.executor(self.concurrency, "redrive")
        heartbeat = None
        if not self.preview:
            heartbeat = threading.Thread(target=self._keep_hidden, name="redrive-visibility")
            heartbeat.daemon = True
            heartbeat.start()
        interrupted = False
        previous_handler = _stop_on_sigterm(self.stop)
        try:
            workers = [pool.submit(self._work) for _index in range(self.concurrency)]
            interrupted = _wait_for(workers, self.stop)
        finally:
            _restore_sigterm(previous_handler)
            pool.shutdown(wait=True)
            self._delete_pool.shutdown(wait=True)
            self._finished.set()
            if heartbeat is not None:
                heartbeat.join()
        try:
            if not self.preview:
                self._deleter.sweep(self.seams.sleep)
                self._release_held()
        finally:
            self._visibility_pool.shutdown(wait=True)
        return self._result(interrupted)

    def settle_batch(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Deliver a batch received by someone else (a Lambda event source mapping) and
        say which messages are not done: `not_done` lists their ids, in order. Delivered
        messages, their copies and quarantined ones are done; the mapping deletes them."""
        if self.mode is not Mode.HANDED:
            raise ValueError("settle_batch needs Mode.HANDED")
        records = [parse_message(message) for message in messages]
        fresh = self.ledger.take_new(records)
        self.tally.count("received", len(fresh))
        try:
            self._process(fresh)
        except AwsError as error:
            self._fail(error)
        finally:
            self._delete_pool.shutdown(wait=True)
            self._visibility_pool.shutdown(wait=True)
        result = self._result(False)
        result["stopped_by"] = self._batch_stopped_by()
        done = self._hand_back.done
        result["not_done"] = [r.message_id for r in records if r.message_id not in done]
        return result

    def _result(self, interrupted: bool) -> dict[str, Any]:
        result = self.tally.result()
        result["changed"] = bool(result[REDRIVEN] or result[QUARANTINED] or result[DUPLICATE])
        result["stopped_by"] = self._stopped_by(interrupted)
        if self._fatal is not None:
            result["error"] = error_fields(self._fatal)
        return result

    def stop(self) -> None:
        self._stop.set()

    def _past_deadline(self) -> bool:
        if self._deadline is not None and self.seams.clock() >= self._deadline:
            self._out_of_time = True
        return self._out_of_time

    def _batch_stopped_by(self) -> str:
        if self._fatal is not None:
            return "error"
        return "max_seconds" if self._out_of_time else "batch"

    def _stopped_by(self, interrupted: bool) -> str:
        if self._fatal is not None:
            return "error"
        if self.preview:
            return "check_mode"
        if self._in_flight_full:
            return "in_flight_limit"
        if interrupted or self._stop.is_set():
            return "interrupted"
        if self._empty_workers.value == self.concurrency:
            return "drained"
        if self._deadline is not None and self.seams.clock() >= self._deadline:
            return "max_seconds"
        return "max_messages"

    def _should_stop(self) -> bool:
        if self._stop.is_set() or self._fatal is not None:
            return True
        return self._deadline is not None and self.seams.clock() >= self._deadline

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
        failed_receives = 0
        stale_limit = self.settings.empty_receives
        if self.preview:
            stale_limit = max(stale_limit, PREVIEW_STALE_RECEIVES)
        deleting: Optional[Future] = None
        late: Optional[LateCopies] = None
        try:
            while not self._should_stop():
                limit = self._budget.reserve(SQS_BATCH)
                if limit == 0:
                    return
                try:
                    messages = self._receive(limit)
                    failed_receives = 0
                except AwsError as error:
                    self._budget.give_back(limit)
                    if error.code.endswith("OverLimit"):
                        self._stop_in_flight_full()
                        return
                    failed_receives += 1
                    if (
                        classify(error.code) is CodeClass.FATAL
                        or failed_receives >= RECEIVE_ATTEMPTS
                    ):
                        raise
                    self.seams.sleep(backoff_delay(failed_receives, self.seams.random))
                    continue
                hidden_until = self.seams.clock() + self.settings.visibility_timeout
                records = self.ledger.take_new(
                    (parse_message(message) for message in messages), hidden_until
                )
                self._budget.give_back(limit - len(records))
                self.tally.count("received", len(records))
                if not records and messages and not self.preview:
                    # Only messages the run holds, back after a lapse of their visibility:
                    # that says nothing about what is left to receive. (Check mode hides
                    # nothing, so there, seeing only what it saw is the sign of the end.)
                    empty_in_a_row = 0
                    continue
                if not messages and not self.preview and len(self.ledger) >= IN_FLIGHT_LIMIT:
                    self._stop_in_flight_full()
                    return
                if not records:
                    empty_in_a_row += 1
                    if empty_in_a_row >= stale_limit:
                        # Each worker decides for itself: one worker's run of empty
                        # answers (SQS may answer empty while messages exist) must
                        # not stop the others.
                        self._empty_workers.count()
                        return
                    continue
                empty_in_a_row = 0
                _wait_done(deleting, late)
                deleting, late = self._process(records)
                if self._progress is not None:
                    self._progress(self.tally.snapshot())
        finally:
            _wait_done(deleting, late)

    def _stop_in_flight_full(self) -> None:
        """SQS lets no more messages be in flight: receives come back empty although the
        queue may hold more, so the run ends without calling the queue drained."""
        self._in_flight_full = True
        self._stop.set()

    def _receive(self, limit: int) -> list[dict[str, Any]]:
        visibility = 0 if self.preview else self.settings.visibility_timeout
        return self.queue.receive(limit, self.settings.wait_seconds, visibility)

    # ---- the visibility heartbeat ---------------------------------------

    def _keep_hidden(self) -> None:
        """Work can outlast the visibility timeout (back-off under throttling, a slow
        delete), and parked messages wait for the end of the run: every quarter of the
        timeout, extend the visibility of the held messages due within half of it."""
        interval = self.settings.visibility_timeout / 4
        while not self.seams.wait(self._finished, interval):
            self.tick()

    def tick(self) -> None:
        """One heartbeat: extend what is due, retry deletes whose back-off has passed."""
        timeout = self.settings.visibility_timeout
        now = self.seams.clock()
        due = self.ledger.due(now + timeout / 2)
        if due:
            # In parallel: a DLQ with many parked messages needs many calls per tick, and
            # a tick that outlasts the margin lets messages reappear.
            futures = [
                self._visibility_pool.submit(self._extend, batch, now + timeout)
                for batch in chunks(due)
            ]
            for future in futures:
                future.result()
        self._deleter.retry_due()

    def _extend(self, handles: Sequence[Handle], hidden_until: float) -> None:
        try:
            failures = self.queue.hide(handles, self.settings.visibility_timeout)
        except AwsError:
            # Not fatal: a lapse risks only a second receive, which the ledger and
            # dedupe absorb; a real denial shows on the next call.
            return
        failed = {failure.message_id for failure in failures}
        self.ledger.extended([h for h in handles if h.message_id not in failed], hidden_until)

    # ---- one receive's worth of messages --------------------------------

    def _process(self, records: list[DlqRecord]) -> tuple[Optional[Future], LateCopies]:
        settlement = Settlement()
        groups: dict[str, list[Delivery]] = {}
        answered: set[str] = set()
        fatal: Optional[AwsError] = None
        try:
            self._plan(records, settlement, groups)
            for deliveries in groups.values():
                self._dispatcher.deliver(
                    deliveries,
                    lambda delivery, answer: self._answered(delivery, answer, settlement, answered),
                )
        except AwsError as error:
            fatal = error
        # Whatever a fatal error cut short is settled too: nothing is left unaccounted.
        for deliveries in groups.values():
            for delivery in deliveries:
                if delivery.record.message_id not in answered:
                    failure = request_failure(fatal.code if fatal else "NotAttempted", "not sent")
                    self._answered(delivery, failure, settlement, answered)
        if fatal is not None:
            settlement.late_copies.close()  # the run is stopping: delete what is here now
        try:
            deleting = self._settler.settle(settlement)
        except BaseException:
            settlement.late_copies.close()  # copies still expected: their owner deletes them
            raise
        if fatal is not None:
            raise fatal
        return deleting, settlement.late_copies

    def _plan(
        self, records: list[DlqRecord], settlement: Settlement, groups: dict[str, list[Delivery]]
    ) -> None:
        now_ms = self.seams.now_ms()
        for index, record in enumerate(records):
            try:
                plan = self.planner.decide(record, now_ms)
            except AwsError as error:
                for rest in records[index:]:
                    settlement.fail(rest, request_failure(error.code, "not planned"), None)
                raise
            if isinstance(plan, Filtered):
                self.ledger.move([record], State.PARKED)
                self.tally.filtered(record, plan.reason)
            elif isinstance(plan, Keep):
                settlement.fail(record, plan.failure, plan.destination)
            else:
                self._claim(plan, settlement, groups)

    def _claim(
        self, plan: Deliver, settlement: Settlement, groups: dict[str, list[Delivery]]
    ) -> None:
        delivery = plan.delivery
        record, destination = delivery.record, delivery.destination
        if delivery.entry is not None and delivery.entry.source_rewritten:
            self.tally.count("sources_rewritten")
        if plan.unmatched_put:
            match = plan.rule_match
            self.tally.put_despite_rule(match.reason or "unknown", match.known)
        if plan.route_reason:
            self.tally.routed_to_bus(plan.route_reason, record.message_id)
        event_id = record.dedupe_key
        if not self.settings.dedupe or event_id is None:
            self._start(delivery, groups)
            return
        claim, failure = self._registry.claim(
            destination.key, event_id, (record, settlement.late_copies)
        )
        if claim is Claim.OWNER:
            self._start(delivery, groups)
        elif claim is Claim.ACCEPTED:
            self.ledger.move([record], State.ACCEPTED)
            self.tally.delivered(record, destination, delivery.size, DUPLICATE)
            settlement.delete.append(record)
        elif claim is Claim.FAILED and failure is not None:
            settlement.fail(record, copy_failure(failure), destination)
        else:
            self.ledger.move([record], State.WAITING)
            if self._batches(destination):
                settlement.late_copies.expect(record.message_id)

    def _batches(self, destination: Destination) -> bool:
        """Whether the destination's API takes several deliveries per call: only then does
        the copy's own delete wait for it (waiting on one call per event would stall)."""
        if not isinstance(self._dispatcher, Dispatcher):
            return False
        return self._dispatcher.sender(destination).max_items > 1

    def _start(self, delivery: Delivery, groups: dict[str, list[Delivery]]) -> None:
        self.ledger.move([delivery.record], State.DELIVERING)
        groups.setdefault(delivery.destination.key, []).append(delivery)

    def _answered(
        self, delivery: Delivery, answer: Answer, settlement: Settlement, answered: set[str]
    ) -> None:
        record, destination = delivery.record, delivery.destination
        answered.add(record.message_id)
        failure = answer if isinstance(answer, Failure) else None
        waiters: list[tuple[DlqRecord, LateCopies]] = []
        if self.settings.dedupe and record.dedupe_key is not None:
            waiters = self._registry.resolve(destination.key, record.dedupe_key, failure)
        if isinstance(answer, Accepted):
            self.ledger.move([record], State.ACCEPTED)
            if answer.already:
                self.tally.count("already_delivered")
            self.tally.delivered(record, destination, delivery.size)
            settlement.delete.append(record)
            for waiter, late in waiters:
                self.ledger.move([waiter], State.ACCEPTED)
                self.tally.delivered(waiter, destination, delivery.size, DUPLICATE)
                if not late.offer(waiter.message_id):
                    settlement.delete.append(waiter)
            return
        settlement.fail(record, answer, destination)
        for waiter, late in waiters:
            late.withdraw(waiter.message_id)
            settlement.fail(waiter, copy_failure(answer), destination)

    # ---- the end of the run --------------------------------------------

    def _release_held(self) -> None:
        """Make every message not done visible again, in parallel batches."""
        batches = chunks(self.ledger.release_all())
        futures = [self._visibility_pool.submit(self.queue.release, batch) for batch in batches]
        for batch, future in zip(batches, futures):
            try:
                self.tally.count("release_failures", len(future.result()))
            except AwsError as error:
                self.tally.count("release_failures", len(batch))
                self._fail(error)


def error_fields(error: AwsError) -> dict[str, str]:
    return {
        "code": error.code,
        "message": error.describe(),
        "hint": error.hint,
        "action": error.action,
    }


def _wait_for(workers: list[Future], stop: Callable[[], None]) -> bool:
    """Wait for the workers; Ctrl-C stops them after their batch. True if interrupted."""
    interrupted = False
    for worker in workers:
        while True:
            try:
                worker.result(timeout=0.2)
                break
            except concurrent.futures.TimeoutError:
                continue
            except KeyboardInterrupt:
                interrupted = True
                stop()
    return interrupted


def _wait_done(future: Optional[Future], late: Optional[LateCopies] = None) -> None:
    """Wait for a receive's delete; its late copies are not waited for any longer."""
    if late is not None:
        late.close()
    if future is not None:
        future.result()


def _once(compute: Callable[[], int]) -> Callable[[], int]:
    value: list[int] = []

    def cached() -> int:
        if not value:
            value.append(compute())
        return value[0]

    return cached


def _default_message_bytes() -> int:
    return DEFAULT_MAX_MESSAGE_BYTES


def _stop_on_sigterm(stop: Callable[[], None]) -> Any:
    """A job cancelled with SIGTERM (AWX, systemd, timeout) still releases what it holds."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop())


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["Failure", "Kind", "Mode", "Redrive", "RedriveSettings", "Seams", "SettingsError"]
