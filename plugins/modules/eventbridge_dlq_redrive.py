#!/usr/bin/python
# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eventbridge_dlq_redrive
short_description: Redrive the events in an EventBridge dead-letter queue back to their event bus
version_added: 0.1.0
description:
  - Reads the messages of an SQS dead-letter queue (DLQ) that an EventBridge rule target, a Lambda
    asynchronous invocation or a Lambda on-failure destination filled, rebuilds the PutEvents entry of
    each event, puts it on the right event bus and deletes a message only after EventBridge accepted
    its entry.
  - Entries that fail with a retryable error (C(ThrottlingException), C(InternalFailure)) are retried
    with capped, jittered exponential back-off; whole-call throttling and 5xx answers are retried by
    botocore's adaptive retry mode, which also slows all workers down.
  - Messages that cannot be redriven (a malformed body, an entry over the size limit, an unknown bus,
    a terminal PutEvents error such as C(NotAuthorizedForSourceException)) stay in the DLQ and are
    made visible again when the run ends, or are moved to O(quarantine_queue) with the reason.
  - Re-putting an event triggers every rule on the bus that matches it, not only the rule whose target
    failed. Use the filters to choose what goes back.
  - Copies of the same event (the DLQ holds one per failed target, and SQS may deliver twice) are put
    once per run when O(dedupe=true); the other copies are deleted only after the first was accepted.
    Copies that land in different runs cannot be recognised and are put again.
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
      - Put each event (by event id and bus) once per run and delete its other copies after the first
        was accepted. Set V(false) to put every copy.
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
        While the work lasts longer (back-off under throttling), the timeout is extended every
        third of it. Messages kept by the run stay hidden until it ends and are then made
        visible at once.
    type: int
    default: 120
extends_documentation_fragment:
  - redrive.eventbridge.connection
  - redrive.eventbridge.redrive.filters
  - redrive.eventbridge.redrive.entries
notes:
  - Check mode makes no mutating call. It receives with a visibility timeout of 0, so it hides nothing
    but raises receive counts, and on a large queue it sees a sample (RV(inspected), RV(complete)).
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
- name: Preview the redrive of the orders DLQ
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    region: eu-west-1
  check_mode: true
  register: preview

- name: Redrive it, quarantining what cannot go back
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    region: eu-west-1
    quarantine_queue: orders-rule-dlq-quarantine
    rate_limit: 500
  register: redrive

- name: Only events that failed on a connection problem, to one bus
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-rule-dlq
    event_bus: orders
    error_codes: [CONNECTION_FAILURE, TIMEOUT]
    max_seconds: 600

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
  description: Messages whose event PutEvents accepted (in check mode, would be put).
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
  description: Entries whose source was rewritten (C(aws.*) prefixing or O(source_override)).
  returned: always
  type: int
by_rule:
  description: Per rule ARN, how many messages had each outcome.
  returned: always
  type: dict
  sample: {"arn:aws:events:eu-west-1:123456789012:rule/orders/to-billing": {"redriven": 40, "kept": 2}}
by_bus:
  description: Per event bus, how many entries were redriven or skipped as duplicates.
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
    - Kept and quarantined messages with the reason, at most 100; no bodies unless O(include_bodies=true).
  returned: always
  type: list
  elements: dict
  sample: [{"message_id": "5fea7756-0ea4-451a-a703-a558b933e274", "outcome": "kept",
            "reason": "NotAuthorizedForSourceException: Not authorized for the source.",
            "event_id": "7bf73129-1428-4cd3-a780-95db273d1602"}]
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
  description: Why the run ended (C(drained), C(max_messages), C(max_seconds), C(interrupted), C(error), C(check_mode)).
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
