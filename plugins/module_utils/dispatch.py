# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send deliveries to their destinations: batch, pace, retry, answer per delivery.

botocore retries whole calls (throttling, 5xx) with its own retry mode, so a whole batch
call that still fails is not retried again here: its deliveries stay for a later run.
Per-entry failures inside a successful answer are ours to retry, and so is the error of a
call that carried one event (Invoke, StartExecution, PutLogEvents), which is that event's
own (failures.call_failure). The `Dispatcher` retries what the classification table calls
retryable, with capped, jittered back-off, and slows every worker down when one is
throttled. A rule target that no longer exists holds its own deliveries and no others.
It answers each delivery with `Accepted` or a `Failure`; only a fatal error
(credentials, permissions) is raised.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Callable, Optional

from .aws import AwsError
from .batching import plan_batches
from .delivery import ACCEPTED, Answer, Delivery, Destination, Route, Sender
from .failures import CodeClass, Failure, Kind, call_failure, is_throttle, request_failure
from .pacing import Pacer, backoff_delay

# Not sent because the time ran out: nothing is wrong with the message.
OUT_OF_TIME = Failure(
    Kind.REQUEST_FAILED,
    "OutOfTime",
    "not sent: the invocation's time was running out",
    0,
    None,
    CodeClass.TRANSIENT,
)
SenderFactory = Callable[[Destination], Sender]
Sleep = Callable[[float], None]


class Dispatcher:
    """Delivers to any destination; one Sender per destination, made on first use."""

    def __init__(
        self,
        make_sender: SenderFactory,
        pacer: Pacer,
        attempts: int,
        count_call: Callable[[str], None],
        sleep: Sleep,
        rng: Callable[[], float],
        out_of_time: Optional[Callable[[], bool]] = None,
    ) -> None:
        self._make_sender = make_sender
        self._pacer = pacer
        self._attempts = attempts
        self._count_call = count_call
        self._sleep = sleep
        self._rng = rng
        # True once no new call may start (a Lambda function near its timeout): what is not
        # sent by then is answered as not sent, and a retry ends with its last answer.
        self._out_of_time = out_of_time or _never
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()

    def sender(self, destination: Destination) -> Sender:
        with self._lock:
            if destination.key not in self._senders:
                self._senders[destination.key] = self._make_sender(destination)
            return self._senders[destination.key]

    def deliver(
        self, deliveries: Sequence[Delivery], answered: Callable[[Delivery, Answer], None]
    ) -> None:
        """Deliver everything to one destination, calling `answered` for each delivery as
        soon as its answer is final, so a fatal error later leaves no answer unsettled."""
        if not deliveries:
            return
        sender = self.sender(deliveries[0].destination)
        plan = plan_batches(deliveries, sender.size, sender.max_bytes, sender.max_items)
        for delivery in plan.too_large:
            size = sender.size(delivery)
            limit = sender.max_bytes
            failure = Failure(
                Kind.ENTRY_TOO_LARGE, "entry_too_large", f"{size} bytes, limit {limit}"
            )
            answered(delivery, failure)
        for batch in plan.batches:
            if self._out_of_time():
                for delivery in batch:
                    answered(delivery, OUT_OF_TIME)
                continue
            self._send(sender, batch, answered)

    def _send(
        self,
        sender: Sender,
        batch: Sequence[Delivery],
        answered: Callable[[Delivery, Answer], None],
    ) -> None:
        answers: list[Optional[Answer]] = [None] * len(batch)
        try:
            made = self._attempt(sender, batch, answers)
        except AwsError:
            # A fatal error on a retry call: what the earlier calls answered for good
            # (accepted, refused) is final, and is settled before the run stops.
            for delivery, answer in zip(batch, answers):
                if answer is not None and not _retryable(answer):
                    answered(delivery, answer)
            raise
        for delivery, answer in zip(batch, answers):
            answered(delivery, _final(answer, made))

    def _attempt(
        self, sender: Sender, batch: Sequence[Delivery], answers: list[Optional[Answer]]
    ) -> int:
        """Send the batch, then resend what is retryable; `answers` holds the newest answer
        per delivery, also when a fatal error is raised. Returns the calls made."""
        pending = list(range(len(batch)))
        made = 0
        for attempt in range(1, self._attempts + 1):
            made = attempt
            self._pacer.acquire(len(pending))
            self._count_call(sender.action)
            got, call_failed = self._call(sender, [batch[index] for index in pending], attempt)
            retry = []
            for index, answer in zip(pending, got):
                answers[index] = answer
                if _retryable(answer):
                    retry.append(index)
            throttled = any(is_throttle(_code(answers[index])) for index in retry)
            if not retry:
                if not call_failed:
                    self._pacer.succeeded()
                break
            if attempt == self._attempts or self._out_of_time():
                break
            self._slow_down(throttled, attempt)
            pending = retry
        return made

    def _call(
        self, sender: Sender, batch: list[Delivery], attempt: int
    ) -> tuple[list[Answer], bool]:
        """The answers to one call, and whether the whole call failed."""
        try:
            return sender.send(batch), False
        except AwsError as error:
            destination = batch[0].destination
            target = destination.arn if destination.route is Route.TARGET else None
            failure = call_failure(
                error.code, error.message, attempt, sender.max_items == 1, target
            )
            if failure is None:
                raise
            return [failure] * len(batch), True

    def _slow_down(self, throttled: bool, attempt: int) -> None:
        if throttled:
            self._pacer.throttled()
        self._sleep(backoff_delay(attempt - 1, self._rng))


def _retryable(answer: Answer) -> bool:
    return isinstance(answer, Failure) and answer.code_class is CodeClass.RETRY


def _never() -> bool:
    return False


def _code(answer: Optional[Answer]) -> str:
    return answer.code if isinstance(answer, Failure) else ""


def _final(answer: Optional[Answer], attempts: int) -> Answer:
    if answer is None:  # a fatal error ends the batch before this point
        return request_failure("NotAttempted", "the run stopped first")
    if isinstance(answer, Failure) and answer.code_class is CodeClass.RETRY:
        return dataclasses.replace(answer, kind=Kind.RETRY_EXHAUSTED, attempts=attempts)
    return answer


class PreviewDispatcher:
    """Check mode: every delivery would be sent; nothing is."""

    def deliver(
        self, deliveries: Sequence[Delivery], answered: Callable[[Delivery, Answer], None]
    ) -> None:
        for delivery in deliveries:
            answered(delivery, ACCEPTED)
