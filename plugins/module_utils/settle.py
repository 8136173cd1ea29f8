# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settle what one receive's worth of messages came to: delete, quarantine or park.

A real run deletes the messages whose payload was accepted (with the copies settled by
that acceptance, in the same DeleteMessageBatch; a copy whose event another receive is
delivering joins its own receive's delete when that delivery is accepted in time), sends
terminal failures to the quarantine queue when one is named (deleting them once the copy
was sent), and parks the rest until the run ends. Check mode settles through
`PreviewSettler`, which only tallies: the same pipeline, no mutating call.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from .aws import AwsError
from .delivery import Destination
from .failures import Failure, Kind
from .ledger import Handle, Ledger, State
from .outcomes import Tally
from .pacing import backoff_delay
from .queue_ops import QueueOps, quarantine_copy
from .records import DlqRecord

# Final sweep over deletes that kept failing: rounds, with back-off between them.
FINAL_SWEEP_ROUNDS = 10
# The longest a delete waits for late copies when its worker does not say "now" first
# (a worker that died): a bound, never the usual wait.
LATE_COPY_WAIT_SECONDS = 5.0


class LateCopies:
    """The copies in one receive whose event another receive's worker is delivering.

    Deleted in one more DeleteMessageBatch of that worker's, they would cost a call for
    one or two messages; joined to this receive's own delete, which has room for them,
    they cost nothing. The delete waits for them, in the background, until every one was
    accepted or failed or the worker is back from its next receive and closes the box;
    a copy accepted after that is deleted by the worker that delivered its event.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._expected: set[str] = set()
        self._arrived: list[str] = []
        self._open = True

    def expect(self, message_id: str) -> None:
        with self._changed:
            self._expected.add(message_id)

    def offer(self, message_id: str) -> bool:
        """The copy's event was accepted: True when this receive's delete takes the copy."""
        with self._changed:
            if not self._open or message_id not in self._expected:
                return False
            self._expected.discard(message_id)
            self._arrived.append(message_id)
            self._changed.notify_all()
            return True

    def withdraw(self, message_id: str) -> None:
        """The copy's event failed: the worker that delivered it settles the copy."""
        with self._changed:
            self._expected.discard(message_id)
            self._changed.notify_all()

    @property
    def waiting(self) -> bool:
        with self._changed:
            return self._open and bool(self._expected)

    def close(self) -> None:
        with self._changed:
            self._open = False
            self._changed.notify_all()

    def collect(self, timeout: float = 0.0) -> list[str]:
        """Wait (at most `timeout`) for the expected copies or a close; close; the ids of
        the copies this receive deletes."""
        with self._changed:
            self._changed.wait_for(lambda: not self._open or not self._expected, timeout)
            self._open = False
            return list(self._arrived)


@dataclass
class Settlement:
    """What one receive came to, waiting to be settled."""

    delete: list[DlqRecord] = field(default_factory=list)
    failed: list[tuple[DlqRecord, Failure, Optional[Destination]]] = field(default_factory=list)
    late_copies: LateCopies = field(default_factory=LateCopies)

    def fail(self, record: DlqRecord, failure: Failure, destination: Optional[Destination]) -> None:
        self.failed.append((record, failure, destination))


class Deleter:
    """Deletes settled messages in the background; a transient failure is retried with
    back-off for as long as the run lasts (deletes are idempotent), then in a final sweep.

    Only a delete SQS keeps refusing stays, reported with its message id."""

    def __init__(
        self,
        queue: QueueOps,
        ledger: Ledger,
        tally: Tally,
        executor: Executor,
        clock: Callable[[], float],
        rng: Callable[[], float],
        on_fatal: Callable[[AwsError], None],
    ) -> None:
        self._queue = queue
        self._ledger = ledger
        self._tally = tally
        self._executor = executor
        self._clock = clock
        self._rng = rng
        self._on_fatal = on_fatal
        self._retries: dict[str, tuple[int, float, str]] = {}  # id -> (failures, due, code)
        self._lock = threading.Lock()

    def submit(self, message_ids: list[str], late: Optional[LateCopies] = None) -> Optional[Future]:
        if late is not None and not late.waiting:
            message_ids = message_ids + late.collect()
            late = None
        if late is not None:
            try:
                return self._executor.submit(self._delete_with, message_ids, late)
            except RuntimeError:  # the pool is shut down: the run is over, delete here
                late.close()
                self._delete_with(message_ids, late)
                return None
        if not message_ids:
            return None
        handles = self._ledger.start_delete(message_ids)
        try:
            return self._executor.submit(self._delete, handles)
        except RuntimeError:  # the pool is shut down: the run is over, delete here
            self._delete(handles)
            return None

    def _delete_with(self, message_ids: list[str], late: LateCopies) -> None:
        message_ids = message_ids + late.collect(LATE_COPY_WAIT_SECONDS)
        if message_ids:
            self._delete(self._ledger.start_delete(message_ids))

    def _delete(self, handles: list[Handle]) -> None:
        try:
            errors = self._queue.delete(handles)
        except AwsError as error:
            self._ledger.delete_failed(handle.message_id for handle in handles)
            self._note_failed({handle.message_id: error.code for handle in handles})
            self._on_fatal(error)
            return
        except Exception as error:  # a delete must never die silently
            self._ledger.delete_failed(handle.message_id for handle in handles)
            self._note_failed({handle.message_id: type(error).__name__ for handle in handles})
            self._on_fatal(AwsError(type(error).__name__, str(error), "", "DeleteMessageBatch"))
            return
        failed = {error.message_id: error.code for error in errors}
        self._ledger.deleted(h.message_id for h in handles if h.message_id not in failed)
        self._ledger.delete_failed(failed)
        self._note_failed(failed)
        with self._lock:
            for handle in handles:
                if handle.message_id not in failed:
                    self._retries.pop(handle.message_id, None)

    def _note_failed(self, failed: dict[str, str]) -> None:
        now = self._clock()
        with self._lock:
            for message_id, code in failed.items():
                count = self._retries.get(message_id, (0, 0.0, ""))[0] + 1
                self._retries[message_id] = (count, now + backoff_delay(count, self._rng), code)

    def retry_due(self) -> None:
        """Retry the failed deletes whose back-off has passed (the heartbeat calls this)."""
        now = self._clock()
        with self._lock:
            due = [mid for mid, (_count, at, _code) in self._retries.items() if at <= now]
        waiting = set(self._ledger.ids_in(State.ACCEPTED, State.QUARANTINED))
        self.submit([message_id for message_id in due if message_id in waiting])

    def sweep(self, sleep: Callable[[float], None]) -> None:
        """At the end: every delivered message not yet deleted gets more tries."""
        for round_number in range(FINAL_SWEEP_ROUNDS):
            left = self._ledger.ids_in(State.ACCEPTED, State.QUARANTINED)
            if not left:
                return
            if round_number:
                sleep(backoff_delay(round_number, self._rng))
            handles = self._ledger.start_delete(left)
            self._delete(handles)
        with self._lock:
            for message_id in self._ledger.ids_in(State.ACCEPTED, State.QUARANTINED):
                code = self._retries.get(message_id, (0, 0.0, "Unknown"))[2]
                self._tally.delete_failed(message_id, code)


class Deletes(Protocol):
    def submit(
        self, message_ids: list[str], late: Optional[LateCopies] = None
    ) -> Optional[Future]: ...


class HandBack:
    """In place of the Deleter when a Lambda event source mapping handed the batch over:
    the mapping deletes what the function reports done, so this only notes what is done."""

    def __init__(self) -> None:
        self.done: set[str] = set()

    def submit(self, message_ids: list[str], late: Optional[LateCopies] = None) -> Optional[Future]:
        self.done.update(message_ids)
        if late is not None:
            late.close()
            self.done.update(late.collect())
        return None


class Settler:
    """Real runs: delete what was delivered, quarantine or park the rest."""

    def __init__(
        self,
        ledger: Ledger,
        tally: Tally,
        deleter: Deletes,
        source_queue: str,
        quarantine: Optional[QueueOps],
        quarantine_bytes: Callable[[], int],
        max_receives: Optional[int] = None,
    ) -> None:
        self._ledger = ledger
        self._tally = tally
        self._deleter = deleter
        self._source_queue = source_queue
        self._quarantine = quarantine
        self._quarantine_bytes = quarantine_bytes
        # Handed batches from a DLQ without a redrive policy: a record received this often
        # would be handed back forever, so it is quarantined whatever kept it.
        self._max_receives = max_receives

    @property
    def quarantines(self) -> bool:
        return self._quarantine is not None

    def _quarantines(self, record: DlqRecord, failure: Failure) -> bool:
        if self._quarantine is None:
            return False
        return failure.quarantinable or self._spent(record)

    def _spent(self, record: DlqRecord) -> bool:
        return self._max_receives is not None and record.receive_count >= self._max_receives

    def _reason(self, record: DlqRecord, failure: Failure) -> str:
        if failure.quarantinable:
            return failure.describe()
        return f"{failure.describe()} (received {record.receive_count} times)"

    def settle(self, settlement: Settlement) -> Optional[Future]:
        to_quarantine = []
        for record, failure, destination in settlement.failed:
            if self._quarantines(record, failure):
                to_quarantine.append((record, failure, destination))
            else:
                self._ledger.move([record], State.PARKED)
                self._tally.kept(record, failure, False, destination)
        deletable = [record.message_id for record in settlement.delete]
        fatal: Optional[AwsError] = None
        try:
            deletable.extend(self._send_to_quarantine(to_quarantine))
        except _QuarantineDenied as denied:
            deletable.extend(denied.sent)
            fatal = denied.error
        if fatal is not None:
            settlement.late_copies.close()
        deleting = self._deleter.submit(deletable, settlement.late_copies)
        if fatal is not None:
            raise fatal
        return deleting

    def _send_to_quarantine(
        self, failed: list[tuple[DlqRecord, Failure, Optional[Destination]]]
    ) -> list[str]:
        """Send first, delete after: ids of the messages whose copy was sent."""
        if not failed or self._quarantine is None:
            return []
        self._ledger.move([record for record, _f, _d in failed], State.QUARANTINING)
        copies = [
            quarantine_copy(record, self._reason(record, failure), self._source_queue)
            for record, failure, _destination in failed
        ]
        fatal: Optional[AwsError] = None
        try:
            sent_errors = self._quarantine.send(copies, self._quarantine_bytes())
            errors = {error.message_id: error.code for error in sent_errors}
        except AwsError as error:  # only fatal errors are raised (a denial, a missing queue)
            errors = {record.message_id: error.code for record, _f, _d in failed}
            fatal = error
        sent = self._settle_sent(failed, errors)
        if fatal is not None:
            raise _QuarantineDenied(fatal, sent)
        return sent

    def _settle_sent(
        self,
        failed: list[tuple[DlqRecord, Failure, Optional[Destination]]],
        errors: dict[str, str],
    ) -> list[str]:
        sent = []
        for record, failure, destination in failed:
            if record.message_id in errors:
                self._ledger.move([record], State.PARKED)
                note = _quarantine_failed(failure, errors[record.message_id])
                self._tally.kept(record, note, False, destination)
            else:
                self._ledger.move([record], State.QUARANTINED)
                self._tally.kept(record, failure, True, destination)
                sent.append(record.message_id)
        return sent


class _QuarantineDenied(Exception):
    """A fatal error while quarantining, with the ids whose copies were sent before it."""

    def __init__(self, error: AwsError, sent: list[str]) -> None:
        super().__init__(error.describe())
        self.error = error
        self.sent = sent


def _quarantine_failed(failure: Failure, code: str) -> Failure:
    """The message stays in the DLQ: a passing failure now, whatever put it there."""
    root = failure.copy_of or failure
    detail = f"{root.message}; " if root.message else ""
    return Failure(Kind.QUARANTINE_FAILED, root.code, f"{detail}quarantine failed: {code}")


class PreviewSettler:
    """Check mode: tally what a real run would do; no call at all."""

    def __init__(self, tally: Tally, quarantines: bool) -> None:
        self._tally = tally
        self.quarantines = quarantines

    def settle(self, settlement: Settlement) -> Optional[Future]:
        for record, failure, destination in settlement.failed:
            self._tally.kept(
                record, failure, self.quarantines and failure.quarantinable, destination
            )
        return None
