# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Which messages: the filters the module and the lookup share (options.FILTER_OPTIONS).
    FILTERS = r"""
options:
  rule_arns:
    description: Only messages whose C(RULE_ARN) attribute is one of these.
    type: list
    elements: str
  target_arns:
    description: Only messages whose C(TARGET_ARN) attribute is one of these.
    type: list
    elements: str
  error_codes:
    description:
      - Only messages whose error code (C(ERROR_CODE), or C(ErrorCode) of a Lambda DLQ) is one of these,
        for example C(CONNECTION_FAILURE) or C(THROTTLING).
    type: list
    elements: str
  exhausted_retry_conditions:
    description:
      - Only messages whose C(EXHAUSTED_RETRY_CONDITION) is one of these
        (C(MaximumRetryAttempts), C(MaximumEventAgeInSeconds)).
    type: list
    elements: str
  message_ids:
    description:
      - Only the messages with these SQS message ids, for example those the
        P(redrive.eventbridge.dlq_messages#lookup) lookup returned and a playbook selected.
      - An empty list selects no message (a selection that came out empty must not redrive the whole queue).
    type: list
    elements: str
  min_age_seconds:
    description: Only messages that have been in the DLQ at least this long.
    type: float
  max_age_seconds:
    description: Only messages that have been in the DLQ at most this long.
    type: float
  event_pattern:
    description:
      - Only messages whose event matches this EventBridge event pattern, given as a dict or as JSON text.
      - Matched against the original event in the message, before any source rewriting, with the full
        documented syntax (exact values, C(prefix), C(suffix), C(equals-ignore-case), C(wildcard),
        C(anything-but), C(numeric), C(exists), C(cidr), C($or), nested objects and arrays).
      - Messages that do not match, and messages whose body is not an event, are left in the DLQ like any
        filtered-out message. A malformed pattern fails the task before any call, naming the part that is
        wrong.
      - 'Example: C({"source": ["aws.s3"], "detail": {"eventName": [{"prefix": "Put"}]}}).'
    type: json
"""

    # How a message becomes a PutEvents entry (options.ENTRY_OPTIONS).
    ENTRIES = r"""
options:
  event_bus:
    description:
      - Event bus (name or ARN) of every entry.
      - By default each message goes back to the bus of the rule named in its C(RULE_ARN) attribute
        (C(rule/BUS/NAME) gives C(BUS), C(rule/NAME) gives C(default)); messages without one go to C(default).
    type: str
  aws_source_prefix:
    description:
      - PutEvents refuses sources in the C(aws.) namespace for every entry, so such a source gets this
        prefix (C(aws.s3) becomes C(redrive.aws.s3)). Custom sources are kept as they are.
      - Must not itself start with C(aws.).
    type: str
    default: redrive.
  rewrite_aws_sources:
    description:
      - Whether to put O(aws_source_prefix) before C(aws.*) sources. With V(false) they are sent as they
        are, PutEvents refuses each such entry with C(NotAuthorizedForSourceException), and the message is
        kept (or quarantined) with that reason.
    type: bool
    default: true
  source_override:
    description:
      - Replace the source of every event with this fixed string. Rules that match on the original
        source will no longer match. Must not start with C(aws.).
    type: str
  marker_field:
    description:
      - Add this key at the end of each event's C(detail), holding C(event_id) (the original event id)
        and C(message_id) (the DLQ message id), so consumers can recognise a redriven event.
      - Events whose detail already has this key are put unchanged.
    type: str
  when_rule_unmatched:
    description:
      - For an event put back on its bus, whether the rule whose target failed would still match it.
        Each rule's pattern is read once per run (C(events:DescribeRule), a read call also made in check
        mode) and matched against the event exactly as it would be put (rewritten source, marker field and all).
      - >-
        With V(keep), a message whose event would no longer match its rule (for example C(aws.s3) rewritten to
        C(redrive.aws.s3) against a rule on C(source: [aws.s3])), whose rule is disabled, has no event pattern,
        no longer exists or cannot be read, stays in the DLQ with reason C(no_longer_matches_rule) and the field
        that stopped matching (or the reason it could not be checked).
      - With V(put), it is put anyway and counted in RV(redrive.eventbridge.eventbridge_dlq_redrive#module:unmatched_rule_put).
      - Messages without C(RULE_ARN) (Lambda DLQ and destination records) are not checked.
    type: str
    choices: [keep, put]
    default: keep
  max_request_bytes:
    description:
      - Size limit of one PutEvents request by the AWS formula (262144 bytes; set 1048576 where AWS
        allows 1 MiB). An entry that alone reaches it is kept with reason C(entry_too_large).
    type: int
    default: 262144
"""
