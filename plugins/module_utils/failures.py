# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a message was not delivered, as a typed value, and what each AWS error code means.

Every failure is a `Failure`: a kind, the code behind it (an AWS error code or one of
ours, such as `invalid_json`), a message and, for copies of an event, the failure of the
copy that was tried. Its disposition decides what a run does with the message:

- TRANSIENT: nothing is wrong with the message (throttled past the last attempt, a failed
  request, an answer that was lost); it stays in the DLQ for the next run, never in
  quarantine;
- HELD: the message is fine but cannot go where it belongs as things are (its rule no
  longer matches, its target is gone, it is encrypted); it stays in the DLQ until an
  option or a fix lets a later run deliver it;
- TERMINAL: the message itself cannot be delivered (a malformed body, an entry AWS
  refuses); it goes to the quarantine queue when one is named, else it stays.

`classify` is the one table that says, for an AWS error code, whether to retry it now,
keep the message for later, give up on the message, or stop the run.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional

# Reasons are shown in results and sent as a message attribute: one line, bounded.
MAX_REASON_CHARS = 300


class Disposition(enum.Enum):
    TRANSIENT = "transient"
    HELD = "held"
    TERMINAL = "terminal"


class Kind(enum.Enum):
    """What went wrong, each with the disposition it always has (None: from the code)."""

    BAD_RECORD = ("bad_record", Disposition.TERMINAL)
    FOREIGN_RECORD = ("foreign_record", Disposition.TERMINAL)
    ENTRY_TOO_LARGE = ("entry_too_large", Disposition.TERMINAL)
    TRANSFORM_FAILED = ("transform_failed", Disposition.TERMINAL)
    BUS_MISSING = ("bus_missing", Disposition.TERMINAL)
    ENTRY_REJECTED = ("entry_rejected", Disposition.TERMINAL)
    UNKNOWN_BUS = ("unknown_bus", Disposition.HELD)
    RULE_UNMATCHED = ("rule_unmatched", Disposition.HELD)
    RULE_UNREADABLE = ("rule_unreadable", Disposition.HELD)
    RULE_NOT_FOUND = ("rule_not_found", Disposition.HELD)
    TARGET_NOT_FOUND = ("target_not_found", Disposition.HELD)
    AMBIGUOUS_TARGET = ("ambiguous_target", Disposition.HELD)
    TARGET_UNSUPPORTED = ("target_type_not_supported", Disposition.HELD)
    NO_TARGET = ("no_target", Disposition.HELD)
    CHECK_DENIED = ("check_denied", Disposition.HELD)
    ENCRYPTED = ("encrypted_event", Disposition.HELD)
    SCHEDULER = ("scheduler_dead_letter", Disposition.HELD)
    DECRYPT_FAILED = ("decrypt_failed", None)
    RETRY_EXHAUSTED = ("retry_exhausted", Disposition.TRANSIENT)
    REQUEST_FAILED = ("request_failed", Disposition.TRANSIENT)
    UNKNOWN_OUTCOME = ("unknown_outcome", Disposition.TRANSIENT)
    CHECK_FAILED = ("check_failed", Disposition.TRANSIENT)
    QUARANTINE_FAILED = ("quarantine_failed", Disposition.TRANSIENT)
    COPY_KEPT = ("copy_kept", None)

    def __init__(self, label: str, disposition: Optional[Disposition]) -> None:
        self.label = label
        self.fixed = disposition


class CodeClass(enum.Enum):
    """What an AWS error code calls for."""

    RETRY = "retry"  # try again now, with back-off
    TRANSIENT = "transient"  # not now; the message stays for a later run
    TERMINAL = "terminal"  # this message (or entry) will never be accepted as it is
    FATAL = "fatal"  # the run cannot go on (credentials, permissions, the DLQ itself)


# fmt: off
_THROTTLE = frozenset((
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "ProvisionedThroughputExceededException", "LimitExceededException",
    "KMSThrottlingException", "KMS.ThrottlingException", "EC2ThrottledException",
    # Per-entry spellings: SNS PublishBatch `Failed[].Code`, SQS SendMessageBatch for a
    # queue whose KMS key is throttled.
    "Throttled", "KmsThrottled",
))
_RETRY = _THROTTLE | frozenset((
    "InternalFailure", "InternalException", "InternalError", "InternalServerError",
    "InternalServerException", "InternalErrorException", "ServiceException",
    "ServiceUnavailable", "ServiceUnavailableException", "ResourceConflictException",
    "AWS.SimpleQueueService.InternalError", "AWS.SimpleQueueService.ServiceUnavailable",
    "500", "502", "503", "504",
    # Target services (each API reference's error list): SNS and Step Functions spell KMS
    # throttling their own way; Kinesis answers InternalFailureException for a whole call;
    # Step Functions refuses new executions while the account is at its running limit;
    # Lambda refuses invocations while a function is being created or updated.
    "KMSThrottling", "KmsThrottlingException", "InternalFailureException",
    "ExecutionLimitExceeded", "ResourceNotReadyException", "SnapStartNotReadyException",
))
_TRANSIENT = frozenset((
    "UnmatchedResponse", "MissingEventId", "MissingResult", "RequestFailed",
    "ReadTimeoutError", "ConnectTimeoutError", "ConnectionClosedError", "ProxyConnectionError",
    "ResponseStreamingError", "IncompleteReadError", "HTTPClientError",
    # A log event stamped more than 2 hours ahead is refused until that time comes.
    "TooNewLogEvent",
))
_FATAL_PREFIXES = (
    "AccessDenied", "AuthorizationError", "AuthFailure", "NotAuthorized",
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
    "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
    "ExpiredToken", "InvalidAccessKeyId", "NoCredentials", "PartialCredentials", "NoRegion",
    "EndpointConnectionError", "MissingDependency", "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist", "403",
    # A denied KMS key behind an encrypted queue, topic or stream: grant kms:GenerateDataKey.
    "KMSAccessDenied", "KMS.AccessDenied", "KmsAccessDenied",
)
# A target that no longer exists, as each target service says so for a whole call (each
# API reference's error list): SQS (JSON and query spellings), SNS (NotFoundException,
# whose query code is NotFound), Lambda, Kinesis, Firehose, CloudWatch Logs and another
# event bus (ResourceNotFoundException), Step Functions.
_TARGET_MISSING = frozenset((
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
    "NotFound", "NotFoundException", "ResourceNotFoundException",
    "StateMachineDoesNotExist", "StateMachineDeleting",
))
# Whole-call refusals of the one event a one-call API (Invoke, StartExecution,
# PutLogEvents) carried: that event will never be accepted as it is.
_EVENT_REFUSED = frozenset((
    "InvalidRequestContentException", "RequestTooLargeException",
    "UnsupportedMediaTypeException", "InvalidExecutionInput", "InvalidParameterException",
))
# fmt: on


def is_throttle(code: str) -> bool:
    """A code that says "slow down": every worker backs off, not only the one told."""
    return code in _THROTTLE


def classify(code: str, per_entry: bool = False) -> CodeClass:
    """The one table: what an AWS error code calls for.

    `per_entry` is for codes in a batch answer's per-entry slots (PutEvents `Entries`,
    SQS `Failed`, SNS `Failed`, Kinesis/Firehose records): there a denial or a bad
    argument concerns that entry, not the run.
    """
    if code in _RETRY:
        return CodeClass.RETRY
    if code in _TRANSIENT:
        return CodeClass.TRANSIENT
    if per_entry:
        return CodeClass.TERMINAL
    if code.startswith(_FATAL_PREFIXES):
        return CodeClass.FATAL
    return CodeClass.TERMINAL


def one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """Collapse whitespace and markup, cut at `limit` characters (a 5xx can answer a page)."""
    if "<" in text and ">" in text:
        text = re.sub(r"<[^>]{0,200}>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Failure:
    """Why one message was not delivered. Strings are made only by `describe`."""

    kind: Kind
    code: str
    message: str = ""
    attempts: int = 0
    copy_of: Optional[Failure] = None
    code_class: Optional[CodeClass] = None

    @property
    def disposition(self) -> Disposition:
        if self.copy_of is not None:
            return self.copy_of.disposition
        if self.kind.fixed is not None:
            return self.kind.fixed
        if self.code_class in (CodeClass.RETRY, CodeClass.TRANSIENT):
            return Disposition.TRANSIENT
        if self.code_class is CodeClass.FATAL:
            return Disposition.HELD
        return Disposition.TERMINAL

    @property
    def transient(self) -> bool:
        return self.disposition is Disposition.TRANSIENT

    @property
    def quarantinable(self) -> bool:
        return self.disposition is Disposition.TERMINAL

    def describe(self) -> str:
        """One bounded line, e.g. `ThrottlingException: gave up after 6 attempts`."""
        if self.copy_of is not None:
            return one_line("duplicate_of_kept_copy: " + self.copy_of.describe())
        text = self.code
        if self.message:
            text += ": " + self.message
        if self.kind is Kind.RETRY_EXHAUSTED:
            text += f" (gave up after {self.attempts} attempts)"
        return one_line(text)

    def as_dict(self) -> dict[str, object]:
        """The typed parts of the failure, for results."""
        return {
            "kind": self.kind.label,
            "code": self.code,
            "disposition": self.disposition.value,
        }


def entry_failure(code: str, message: str, attempts: int) -> Failure:
    """A per-entry error from a batch answer, after `attempts` tries."""
    code_class = classify(code, per_entry=True)
    if code_class is CodeClass.RETRY:
        return Failure(Kind.RETRY_EXHAUSTED, code, one_line(message), attempts, None, code_class)
    if code_class is CodeClass.TRANSIENT:
        return Failure(Kind.UNKNOWN_OUTCOME, code, one_line(message), attempts, None, code_class)
    return Failure(Kind.ENTRY_REJECTED, code, one_line(message), attempts, None, code_class)


def request_failure(code: str, message: str, attempts: int = 1) -> Failure:
    """A whole request that failed (not fatally): its entries stay for a later run."""
    return Failure(
        Kind.REQUEST_FAILED,
        code,
        one_line(f"whole request failed: {message}"),
        attempts,
        None,
        CodeClass.TRANSIENT,
    )


def call_failure(
    code: str,
    message: str,
    attempts: int,
    one_per_call: bool = False,
    target_arn: Optional[str] = None,
) -> Optional[Failure]:
    """A whole call that failed, as the failure of each delivery it carried; None when the
    run must stop (credentials, permissions).

    `target_arn` names the rule target the call went to: a target that no longer exists
    holds its messages and concerns no other destination (only the DLQ itself missing
    stops a run). `one_per_call` is for APIs that carry one event per call (Invoke,
    StartExecution, PutLogEvents): their error is that event's, read as a per-entry
    error, so a retryable one is retried now and a refusal of the event is terminal. Any
    other code may concern the function or machine rather than the event: the event stays
    for a later run, as does every delivery of a failed batch call.
    """
    if target_arn is not None and code in _TARGET_MISSING:
        return Failure(
            Kind.TARGET_NOT_FOUND,
            "target_not_found",
            one_line(f"{target_arn} does not exist ({code}: {message})"),
            attempts,
        )
    code_class = classify(code)
    if code_class is CodeClass.FATAL:
        return None
    if one_per_call and (code_class is not CodeClass.TERMINAL or code in _EVENT_REFUSED):
        return entry_failure(code, message, attempts)
    return request_failure(code, message, attempts)


def copy_failure(original: Failure) -> Failure:
    """A copy of an event whose first copy was not delivered shares its fate."""
    return Failure(Kind.COPY_KEPT, original.code, "", original.attempts, original)
