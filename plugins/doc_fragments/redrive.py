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
    type: raw
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
  deliver_to:
    description:
      - Where each message goes.
      - V(target) sends it to the rule target that failed, as EventBridge would have delivered it and to
        nobody else. It gets the original event (source, id, time and detail unchanged) with the target's C(Input),
        C(InputPath) or C(InputTransformer) applied, through the target service's own API (Lambda C(Invoke),
        SQS C(SendMessageBatch), SNS C(PublishBatch), Step Functions C(StartExecution), Kinesis C(PutRecords),
        Firehose C(PutRecordBatch), CloudWatch Logs C(PutLogEvents), C(PutEvents) for an event bus in another
        account or region). The target comes from C(RULE_ARN) and C(TARGET_ARN) (read with
        C(events:ListTargetsByRule)), from the function of a Lambda on-failure destination record, or from
        O(target_arn). Messages whose target cannot be resolved or whose type is not supported are kept with
        the reason (C(rule_not_found), C(target_not_found), C(ambiguous_target), C(no_target),
        C(target_type_not_supported)).
      - V(bus) puts each event back on an event bus, as O(event_bus) and the source options say. Every rule on
        that bus that matches sees it again (healthy targets get duplicates), the event gets a new id, and
        O(when_rule_unmatched) guards against events that would no longer reach their rule.
      - V(auto) delivers to the target where it can be resolved and its type is supported, and puts the
        message on the bus where it names no target or its target's type is not supported (the reason is in
        RV(redrive.eventbridge.eventbridge_dlq_redrive#module:bus_route_reasons)). A rule or target that no
        longer exists, several targets with the same ARN and different settings, or a rule that cannot be
        read keep the message, as with V(target).
    type: str
    choices: [auto, target, bus]
    default: auto
  decrypt:
    description:
      - >-
        Decrypt the wrappers EventBridge leaves in a DLQ when a bus encrypted with a customer managed KMS key
        could not encrypt or decrypt an event (C(source: aws.events), C(detail-type: Encrypted Events)), and
        redrive the original event to its bus (the wrapper's C(event-bus-arn)) or, from a target DLQ, to its
        target.
      - Each payload is decrypted with the AWS Encryption SDK through KMS (one C(kms:Decrypt) call on the key the
        wrapper names), with the algorithm suite and encryption context AWS documents; a payload bound to another
        bus, tampered with, or under another key is kept with the reason, as is one KMS refuses
        (for example C(AccessDeniedException)).
      - Needs the C(aws-encryption-sdk) Python package (C(pip install redrive-eventbridge[decrypt])).
      - Without it (the default) wrappers are kept with reason C(encrypted_event) and a hint naming the key and bus.
    type: bool
    default: false
  target_arn:
    description:
      - The target of messages that name none, for example the function behind a Lambda asynchronous-invocation
        DLQ (its messages carry the event the function got, not its ARN). Used by O(deliver_to=target) and
        O(deliver_to=auto); ignored for messages that name their target.
    type: str
  when_rule_unmatched:
    description:
      - For an event put back on its bus, whether the rule whose target failed would still match it.
        Each rule's pattern is read once per run (C(events:DescribeRule), a read call also made in check
        mode) and matched against the event exactly as it would be put (rewritten source, marker field and all).
      - >-
        With V(keep), a message stays in the DLQ when its event would no longer match its rule (reason
        C(no_longer_matches_rule) and the field that stopped matching, for example C(aws.s3) rewritten to
        C(redrive.aws.s3) against a rule on C(source: [aws.s3])), when its rule is disabled (C(rule_disabled)),
        has no event pattern (C(rule_has_no_pattern), a scheduled rule) or no longer exists (C(rule_not_found)),
        and when the rule cannot be read (C(events:DescribeRule) refused, a pattern this collection cannot read:
        C(rule_pattern_unreadable)).
      - >-
        With V(put), those messages are put anyway, as releases without the check did. A rule that is known not
        to match is counted in RV(redrive.eventbridge.eventbridge_dlq_redrive#module:unmatched_rule_put); a rule
        that could not be read is an unknown, not a mismatch, and is counted in
        RV(redrive.eventbridge.eventbridge_dlq_redrive#module:unchecked_rule_put). The reasons are counted in
        RV(redrive.eventbridge.eventbridge_dlq_redrive#module:rule_check_put_reasons). A C(DescribeRule) call
        that failed for a passing reason keeps the message either way; the next run asks again.
      - >-
        Messages without C(RULE_ARN) (Lambda DLQ and destination records) are not checked. A rule-target message
        that names no rule is put on O(event_bus) when one is given and counted as C(no_rule_arn) in
        RV(redrive.eventbridge.eventbridge_dlq_redrive#module:unchecked_rule_put).
      - >-
        The same choice applies to an C(aws.*) event whose failed target is an event bus in another account or
        region. EventBridge forwards such an event unchanged, but PutEvents can only send it with its source
        rewritten (C(redrive.aws.s3)), which rules on that bus written for C(aws.s3) do not match. With V(keep) it
        stays with reason C(source_rewritten_for_bus_target); with V(put) it is sent rewritten and counted in
        RV(redrive.eventbridge.eventbridge_dlq_redrive#module:unmatched_rule_put).
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
