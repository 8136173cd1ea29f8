"""The one classification table: what each AWS error code calls for, per entry and for a
whole call, at a target or at the DLQ.

Codes come from each API reference's error list and, for per-entry codes, the answer's
own slots: SNS PublishBatch `Failed[].Code`, SQS SendMessageBatch `Failed[].Code`,
Kinesis PutRecords and Firehose PutRecordBatch `ErrorCode`, PutEvents `Entries[].ErrorCode`.
"""

from __future__ import annotations

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.failures import (
    CodeClass,
    Disposition,
    Kind,
    call_failure,
    classify,
    entry_failure,
    is_throttle,
)

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:fulfil"

PER_ENTRY_THROTTLES = (
    "Throttled",  # SNS PublishBatch
    "KmsThrottled",  # SQS, a queue whose KMS key is throttled
    "ProvisionedThroughputExceededException",  # Kinesis PutRecords
    "ThrottlingException",  # PutEvents
)
PER_ENTRY_INTERNAL = (
    "InternalError",  # SQS, SNS
    "InternalFailure",  # Kinesis, PutEvents
    "ServiceUnavailableException",  # Firehose PutRecordBatch
    "ServiceUnavailable",
)


@pytest.mark.parametrize("code", PER_ENTRY_THROTTLES + PER_ENTRY_INTERNAL)
def test_per_entry_throttling_and_internal_errors_are_retried(code: str) -> None:
    assert classify(code, per_entry=True) is CodeClass.RETRY
    failure = entry_failure(code, "try again", 6)
    assert (failure.kind, failure.disposition) == (Kind.RETRY_EXHAUSTED, Disposition.TRANSIENT)
    assert not failure.quarantinable


@pytest.mark.parametrize("code", PER_ENTRY_THROTTLES)
def test_per_entry_throttling_slows_every_worker(code: str) -> None:
    assert is_throttle(code)


@pytest.mark.parametrize("code", ["InvalidParameter", "InvalidMessageContents", "KmsNotFound"])
def test_other_per_entry_codes_concern_only_that_entry(code: str) -> None:
    assert entry_failure(code, "no", 1).disposition is Disposition.TERMINAL


@pytest.mark.parametrize(
    "code",
    [
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",  # SNS
        "ResourceNotFoundException",  # Lambda, Kinesis, Firehose, Logs, another bus
        "StateMachineDoesNotExist",
        "StateMachineDeleting",
    ],
)
def test_a_missing_target_holds_its_messages_and_stops_nothing(code: str) -> None:
    failure = call_failure(code, "gone", 1, target_arn=QUEUE)

    assert failure is not None
    assert (failure.kind, failure.code, failure.disposition) == (
        Kind.TARGET_NOT_FOUND,
        "target_not_found",
        Disposition.HELD,
    )
    assert QUEUE in failure.describe() and code in failure.describe()


def test_only_a_missing_queue_of_the_run_itself_stops_it() -> None:
    # No target: the call went to the DLQ, the quarantine queue or the run's bus.
    assert call_failure("AWS.SimpleQueueService.NonExistentQueue", "gone", 1) is None
    assert classify("AWS.SimpleQueueService.NonExistentQueue") is CodeClass.FATAL
    assert call_failure("AccessDeniedException", "no", 1, True, MACHINE) is None


@pytest.mark.parametrize(
    "code",
    [
        "ExecutionLimitExceeded",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "TooManyRequestsException",
        "ThrottlingException",
        "ServiceException",
    ],
)
def test_a_one_event_call_retries_what_is_retryable(code: str) -> None:
    failure = call_failure(code, "busy", 2, one_per_call=True, target_arn=MACHINE)

    assert failure is not None
    assert (failure.code, failure.code_class, failure.attempts) == (code, CodeClass.RETRY, 2)


@pytest.mark.parametrize(
    "code",
    [
        "InvalidExecutionInput",
        "InvalidRequestContentException",
        "RequestTooLargeException",
        "InvalidParameterException",
    ],
)
def test_a_one_event_call_refusing_the_event_is_terminal(code: str) -> None:
    failure = call_failure(code, "bad input", 1, one_per_call=True, target_arn=MACHINE)

    assert failure is not None
    assert (failure.kind, failure.disposition) == (Kind.ENTRY_REJECTED, Disposition.TERMINAL)
    assert failure.quarantinable


def test_a_one_event_call_whose_answer_was_lost_has_an_unknown_outcome() -> None:
    failure = call_failure("ReadTimeoutError", "timed out", 1, True, MACHINE)

    assert failure is not None
    assert (failure.kind, failure.code_class) == (Kind.UNKNOWN_OUTCOME, CodeClass.TRANSIENT)
    assert not failure.quarantinable


def test_an_unknown_code_of_a_one_event_call_keeps_the_event_for_later() -> None:
    # It may concern the function rather than the event: never quarantined.
    failure = call_failure("InvalidRuntimeException", "broken", 1, True, MACHINE)

    assert failure is not None
    assert (failure.kind, failure.disposition) == (Kind.REQUEST_FAILED, Disposition.TRANSIENT)


@pytest.mark.parametrize("code", ["ThrottlingException", "InvalidParameterValue"])
def test_a_failed_batch_call_keeps_its_deliveries_for_a_later_run(code: str) -> None:
    # botocore has retried the whole call already; its entries were never answered.
    failure = call_failure(code, "no", 1, one_per_call=False, target_arn=QUEUE)

    assert failure is not None
    assert (failure.kind, failure.code_class) == (Kind.REQUEST_FAILED, CodeClass.TRANSIENT)
