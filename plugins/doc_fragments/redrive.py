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
  max_request_bytes:
    description:
      - Size limit of one PutEvents request by the AWS formula (262144 bytes; set 1048576 where AWS
        allows 1 MiB). An entry that alone reaches it is kept with reason C(entry_too_large).
    type: int
    default: 262144
"""
