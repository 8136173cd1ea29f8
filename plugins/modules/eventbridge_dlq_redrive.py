#!/usr/bin/python
# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eventbridge_dlq_redrive
short_description: Redrive the events in an EventBridge dead-letter queue to the target that failed, or to their bus
version_added: 0.1.0
description:
  - Reads the messages of an SQS dead-letter queue (DLQ) that an EventBridge rule target, a Lambda
    asynchronous invocation, a Lambda on-failure destination or an EventBridge Scheduler schedule filled,
    and delivers each one where it belongs. A message is deleted only after its destination accepted it.
  - By default (O(deliver_to=auto)) each message goes to the rule target that failed, as EventBridge would
    have delivered it and to nobody else. The target comes from the message's C(RULE_ARN) and C(TARGET_ARN)
    and the rule's targets (C(ListTargetsByRule), read once per rule per run). The original event (source
    C(aws.s3) stays C(aws.s3), same id, time and detail) gets the target's C(Input), C(InputPath) or
    C(InputTransformer). It is sent with the target service's own API (Lambda, SQS, SNS, Step Functions,
    Kinesis, Firehose, CloudWatch Logs, an event bus in another account or region).
  - >-
    With O(deliver_to=bus) each event is put back on the bus of its rule instead. PutEvents refuses
    C(aws.*) sources, so those get O(aws_source_prefix). Every rule on the bus that matches sees the event
    again, with a new id. An event whose rule would no longer match it (C(redrive.aws.s3) against a rule on
    C(source: [aws.s3])) is kept by default (O(when_rule_unmatched)).
  - Per-entry failures the API calls retryable (C(ThrottlingException), C(InternalFailure), SQS and
    Kinesis internal errors, ...) are retried with capped, jittered exponential back-off, and every worker
    slows down when one is throttled. Whole-call throttling and 5xx answers are retried by botocore's
    adaptive retry mode.
  - Each message the run holds has one lifecycle. It is received, then delivered (or waits for the first
    copy of its event), accepted, deleted; or it is kept, or quarantined then deleted. Every held message,
    being worked on or kept, stays hidden (its visibility is extended) until the run ends. Then everything
    not deleted is made visible again at once. Deletes that fail for a passing reason are retried for as
    long as the run lasts.
  - Messages that cannot be delivered stay in the DLQ with a reason (RV(kept_messages)). Those that never
    will (a malformed body, an entry AWS refuses) go to O(quarantine_queue) when one is named. Those kept
    for a passing reason (throttled after the last attempt, a failed request, a lost answer) or until a fix
    (a rule that no longer matches, a target that is gone, an encrypted event) always stay in the DLQ.
  - Copies of the same event for the same destination (the DLQ can hold several, and SQS delivers at
    least once) are delivered once per run when O(dedupe=true); the other copies are deleted, in the same
    batch, only after the first was accepted. Step Functions executions are named after the event and
    rule, so a later run's copy is refused by Step Functions and counted in RV(already_delivered).
  - Every receive raises a message's C(ApproximateReceiveCount). If the DLQ itself has a redrive policy,
    a message can move on after enough receives, check mode and the lookup included.
author:
  - redrive.eventbridge developers (@redrive)
options:
  queue:
    description:
      - The dead-letter queue, as a name, a queue URL or a queue ARN.
    type: str
    required: true
  max_messages:
    description: Stop after receiving this many messages. No limit by default.
    type: int
  max_seconds:
    description: Stop receiving after this many seconds; work in progress is finished. No limit by default.
    type: float
  concurrency:
    description: Workers that receive, put and delete in parallel (1 to 64).
    type: int
    default: 8
  rate_limit:
    description: At most this many entries per second, shared by all workers. No limit by default.
    type: float
  quarantine_queue:
    description:
      - Queue (name, URL or ARN) for messages that cannot be redriven. Each is sent there with its
        original body and attributes plus C(REDRIVE_REASON), C(REDRIVE_SOURCE_QUEUE) and
        C(REDRIVE_ORIGINAL_MESSAGE_ID) (as far as the SQS limit of ten attributes allows), and only
        then deleted from the DLQ.
      - Without it such messages stay in the DLQ.
      - Messages kept for a passing reason (throttling after the last attempt, a failed request)
        always stay in the DLQ, so that the next run redrives them.
    type: str
  dedupe:
    description:
      - Deliver each event once per destination per run (by event id and destination, that is the target
        with its rule, or the bus) and delete its other copies after the first was accepted. Set V(false)
        to deliver every copy.
    type: bool
    default: true
  include_bodies:
    description: Include message bodies in RV(kept_messages). Off by default, as bodies may hold personal data.
    type: bool
    default: false
  fail_on_kept:
    description: Fail the task when any message was kept or quarantined instead of reporting it.
    type: bool
    default: false
  wait_seconds:
    description: Long-poll wait of each receive, in seconds (0 to 20).
    type: int
    default: 1
  empty_receives:
    description: Consecutive empty receives (per worker) after which the queue counts as drained.
    type: int
    default: 2
  visibility_timeout:
    description:
      - Seconds a received message stays hidden from other consumers while the run works on it.
        Every quarter of the timeout, the run extends the visibility of each message it holds
        that would become visible within half of it, so work that lasts longer (back-off under
        throttling) stays hidden. Messages kept by the run stay hidden until it ends and are then
        made visible at once.
    type: int
    default: 120
extends_documentation_fragment:
  - redrive.eventbridge.connection
  - redrive.eventbridge.redrive.filters
  - redrive.eventbridge.redrive.entries
notes:
  - Check mode makes no mutating call. It runs the same pipeline as a real run, read calls included
    (C(DescribeEventBus), C(DescribeRule), C(ListTargetsByRule), C(kms:Decrypt)), receiving with a
    visibility timeout of 0. So it hides nothing but raises receive counts, and on a large queue it sees a
    sample (RV(inspected), RV(complete)). RV(messages) says, message by message, what would happen.
  - Diff mode shows the queue depth before and after.
  - Supports C(module_defaults) through the group C(group/redrive.eventbridge.aws).
attributes:
  check_mode:
    support: full
    description: Reports what a real run would do without changing anything.
  diff_mode:
    support: full
    description: Shows the number of visible messages before and after.
"""

EXAMPLES = r"""
- name: Preview what would happen to each message of the orders DLQ
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    region: eu-west-1
  check_mode: true
  register: preview

- name: Redrive it to the targets that failed, quarantining what cannot go back
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    region: eu-west-1
    quarantine_queue: orders-rule-dlq-quarantine
    rate_limit: 500
  register: redrive

- name: A Lambda asynchronous-invocation DLQ names no target; name the function
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: billing-ingest-async-dlq
    target_arn: arn:aws:lambda:eu-west-1:123456789012:function:billing-ingest

- name: Put events back on their bus instead (every matching rule sees them again)
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-rule-dlq
    deliver_to: bus
    event_bus: orders
    error_codes: [CONNECTION_FAILURE, TIMEOUT]
    max_seconds: 600

- name: Only the S3 uploads of one bucket that failed, selected by event pattern
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: s3-ingest-dlq
    event_pattern:
      source: [aws.s3]
      detail:
        eventName: [{prefix: Put}]
        requestParameters:
          bucketName: [billing-inbox]

# On the bus, aws.s3 becomes redrive.aws.s3 and a rule on source [aws.s3] no longer matches it:
# such messages are kept (when_rule_unmatched: keep). Put them anyway, for example when another
# rule matches the rewritten source, and read why each was put without a known match.
- name: Put the S3 events back on their bus even where their rule no longer matches
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: s3-ingest-dlq
    deliver_to: bus
    when_rule_unmatched: put
  register: put_anyway

- name: Say how many reach nothing, and why
  ansible.builtin.debug:
    msg: >-
      {{ put_anyway.unmatched_rule_put }} put although their rule does not match them,
      {{ put_anyway.unchecked_rule_put }} without a readable rule: {{ put_anyway.rule_check_put_reasons }}

- name: Decrypt what a KMS-encrypted bus could not deliver, and redrive the original events
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-bus-dlq
    decrypt: true

- name: Stop the runbook if anything had to be kept
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    fail_on_kept: true
"""

RETURN = r"""
changed:
  description: Whether messages were redriven, deleted as duplicates or quarantined (in check mode, would be).
  returned: always
  type: bool
received:
  description: Distinct messages received (in check mode, inspected).
  returned: always
  type: int
redriven:
  description: Messages whose destination (target or bus) accepted them (in check mode, would be delivered).
  returned: always
  type: int
already_delivered:
  description:
    - Of RV(redriven), messages the target had already received (a Step Functions execution of that name
      exists, so an earlier run delivered it).
  returned: always
  type: int
kept:
  description: Messages left in the DLQ because they could not be redriven.
  returned: always
  type: int
quarantined:
  description: Messages moved to O(quarantine_queue).
  returned: always
  type: int
filtered_out:
  description: Messages the filters did not select; they were left in the DLQ untouched.
  returned: always
  type: int
duplicates_skipped:
  description: Copies of an event already put in this run, deleted without a second put.
  returned: always
  type: int
delete_failures:
  description:
    - Messages whose event was delivered but whose deletion failed after retries. They may be
      received and redriven again (see RV(delete_failed_messages)).
  returned: always
  type: int
release_failures:
  description: Messages that could not be made visible again at the end; they reappear after O(visibility_timeout).
  returned: always
  type: int
sources_rewritten:
  description: Entries put on a bus whose source was rewritten (C(aws.*) prefixing or O(source_override)).
  returned: always
  type: int
unmatched_rule_put:
  description:
    - Events put on their bus although the rule whose target failed is known not to match them
      (O(when_rule_unmatched=put)); RV(rule_check_put_reasons) says why.
  returned: always
  type: int
unchecked_rule_put:
  description:
    - Events put on their bus although whether the rule whose target failed matches them is unknown
      (C(events:DescribeRule) refused or a pattern that could not be read, with O(when_rule_unmatched=put);
      or a message that names no rule, put on O(event_bus)); RV(rule_check_put_reasons) says why.
  returned: always
  type: int
rule_check_put_reasons:
  description:
    - Why events counted in RV(unmatched_rule_put) and RV(unchecked_rule_put) were put, with counts.
    - C(no_longer_matches_rule), C(rule_disabled), C(rule_has_no_pattern) and C(rule_not_found) are known
      not to reach the rule; C(rule_check_denied), C(rule_pattern_unreadable) and C(no_rule_arn) are unknown.
  returned: always
  type: dict
  sample: {"no_longer_matches_rule": 38, "rule_not_found": 2}
by_target:
  description: Per target ARN, how many messages were delivered to it or skipped as copies.
  returned: always
  type: dict
  sample: {"arn:aws:lambda:eu-west-1:123456789012:function:billing-ingest": {"redriven": 40, "duplicates_skipped": 2}}
bus_route_reasons:
  description:
    - >-
      With O(deliver_to=auto), why messages were put on a bus rather than sent to a target, with counts
      (for example C(target_type_not_supported: ecs_task) or a message that names no target).
  returned: always
  type: dict
  sample: {"target_type_not_supported: api_destination": 3}
by_rule:
  description: Per rule ARN, how many messages had each outcome.
  returned: always
  type: dict
  sample: {"arn:aws:events:eu-west-1:123456789012:rule/orders/to-billing": {"redriven": 40, "kept": 2}}
by_bus:
  description: Per event bus, how many entries were put on it or skipped as duplicates.
  returned: always
  type: dict
  sample: {"orders": {"redriven": 40, "duplicates_skipped": 3}}
by_error_code:
  description: Per original error code, how many messages had each outcome.
  returned: always
  type: dict
  sample: {"CONNECTION_FAILURE": {"redriven": 40}}
kept_messages:
  description:
    - Kept and quarantined messages, at most 100; no bodies unless O(include_bodies=true).
    - C(reason) is one line; C(kind), C(code) and C(disposition) say the same typed. C(disposition) is
      C(transient) (a passing failure; the next run retries it), C(held) (kept until an option or a fix lets
      it go, for example C(no_longer_matches_rule), C(target_not_found), C(encrypted_event)) or C(terminal)
      (it never will go as it is; quarantined when O(quarantine_queue) is set).
    - C(route) and C(event_bus) or C(target) (C(arn), C(type)) say where it was meant to go, when known.
    - C(origin) says what the message is (C(eventbridge_dlq), C(scheduler), ...); a Scheduler dead-letter event
      also has C(schedule_arn), C(target_arn), C(error_code), C(error_message) and C(retry_attempts).
  returned: always
  type: list
  elements: dict
  sample: [{"message_id": "5fea7756-0ea4-451a-a703-a558b933e274", "outcome": "kept",
            "reason": "no_longer_matches_rule: source: redrive.aws.s3 not in [aws.s3] (rule s3-ingest on default); ...",
            "kind": "rule_unmatched", "code": "no_longer_matches_rule", "disposition": "held",
            "route": "bus", "event_bus": "default", "event_id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "origin": "eventbridge_dlq"}]
kept_messages_truncated:
  description: Kept or quarantined messages not listed in RV(kept_messages) because of the cap.
  returned: always
  type: int
delete_failed_messages:
  description: Messages whose delete failed, with the reason (at most 100).
  returned: always
  type: list
  elements: dict
api_calls:
  description: Calls made per API action (botocore retries not counted separately).
  returned: always
  type: dict
  sample: {"ReceiveMessage": 12, "PutEvents": 10, "DeleteMessageBatch": 10}
duration_seconds:
  description: Wall time of the run.
  returned: always
  type: float
stopped_by:
  description:
    - Why the run ended (C(drained), C(max_messages), C(max_seconds), C(interrupted), C(error),
      C(check_mode), C(in_flight_limit)).
    - C(in_flight_limit) means the run held as many messages as SQS lets be in flight (about
      120,000 per standard queue, counted with a margin because other consumers' messages count
      too), so receives came back empty although the queue may hold more; run again, or narrow
      the filters so fewer messages are kept.
  returned: always
  type: str
queue_url:
  description: URL of the DLQ.
  returned: always
  type: str
quarantine_queue_url:
  description: URL of the quarantine queue, if any.
  returned: always
  type: str
event_bus:
  description: The bus named by O(event_bus), if any.
  returned: always
  type: str
check_mode:
  description: Whether this was a check-mode preview.
  returned: always
  type: bool
queue_depth_before:
  description: Visible and in-flight messages before the run (approximate, as SQS reports them).
  returned: always
  type: dict
  sample: {"visible": 120, "in_flight": 0}
queue_depth_after:
  description: The same after the run; in check mode, the expected value.
  returned: always
  type: dict
inspected:
  description: In check mode, distinct messages inspected.
  returned: in check mode
  type: int
messages:
  description:
    - >-
      In check mode, what would happen to each inspected message (at most 100): C(message_id), C(outcome),
      C(route), C(event_bus) or C(target) (C(arn), C(type)), C(route_reason) (why V(auto) put it on the bus
      instead of sending it to a target, as counted in RV(bus_route_reasons)), C(payload_size) (bytes the
      target or bus would get) and C(reason).
  returned: in check mode
  type: list
  elements: dict
  sample: [{"message_id": "5fea7756-0ea4-451a-a703-a558b933e274", "outcome": "redriven", "route": "target",
            "target": {"arn": "arn:aws:sqs:eu-west-1:123456789012:billing", "type": "sqs"}, "payload_size": 912}]
messages_truncated:
  description: In check mode, inspected messages not listed in RV(messages) because of the cap.
  returned: in check mode
  type: int
complete:
  description: In check mode, whether the inspected messages cover the queue's depth.
  returned: in check mode
  type: bool
error:
  description: The AWS error that ended the run early (code, message, hint, action).
  returned: on failure
  type: dict
"""

from ansible_collections.redrive.eventbridge.plugins.module_utils.ansible_module import (
    aws_module,
    fail_aws,
    module_clients,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import AwsError
from ansible_collections.redrive.eventbridge.plugins.module_utils.engine import SettingsError
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import OptionError
from ansible_collections.redrive.eventbridge.plugins.module_utils.options import argument_spec
from ansible_collections.redrive.eventbridge.plugins.module_utils.runner import execute


def main() -> None:
    spec = argument_spec()
    spec["queue"] = {"type": "str", "required": True}
    spec["fail_on_kept"] = {"type": "bool", "default": False}
    module = aws_module(spec, supports_check_mode=True)
    clients = module_clients(module, pool_size=2 * (module.params["concurrency"] or 1) + 2)
    try:
        result = execute(clients, module.params, dry_run=module.check_mode)
    except (SettingsError, OptionError) as error:
        module.fail_json(msg=str(error))
    except AwsError as error:
        fail_aws(module, error)
    if module._diff:
        result["diff"] = {
            "before": {"visible_messages": result["queue_depth_before"]["visible"]},
            "after": {"visible_messages": (result["queue_depth_after"] or {}).get("visible")},
        }
    if "error" in result:
        module.fail_json(msg=result["error"]["message"], **result)
    if module.params["fail_on_kept"] and (result["kept"] or result["quarantined"]):
        module.fail_json(
            msg=f"{result['kept']} message(s) kept and {result['quarantined']} quarantined; "
            "see kept_messages",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
