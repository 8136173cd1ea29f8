# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dlq_messages
author:
  - redrive.eventbridge developers (@redrive)
version_added: 0.1.0
short_description: List the messages of an EventBridge dead-letter queue without changing it
description:
  - Returns one item per message of one or more SQS dead-letter queues (DLQs) that an EventBridge rule
    target, a Lambda asynchronous invocation or a Lambda on-failure destination filled, with the failure
    attributes, the event, the PutEvents entry that M(redrive.eventbridge.eventbridge_dlq_redrive) would put
    for it and whether it can be redriven.
  - Messages are parsed, filtered and turned into entries by the same code as the module, so the lookup
    and the module never disagree about a message. Pass the RV(_raw[].message_id) values a playbook
    selected to the module's O(redrive.eventbridge.eventbridge_dlq_redrive#module:message_ids) to redrive
    exactly those messages.
  - Read-only. It never deletes, sends or puts anything. To reach past the first ten messages it hides
    each message it has seen for a short time, and makes every one of them visible again before it
    returns, also when it fails.
options:
  _terms:
    description: The dead-letter queues, each as a name, a queue URL or a queue ARN.
    type: list
    elements: str
    required: true
  max_messages:
    description:
      - Return at most this many messages per queue (counting only messages the filters select).
      - Every message received raises its C(ApproximateReceiveCount), so keep this as low as the task allows.
    type: int
    default: 100
  include_body:
    description:
      - Include the event (RV(_raw[].event)), the entry's C(Detail) and, for messages that could not be parsed,
        the raw RV(_raw[].body).
      - Set V(false) when the events hold personal data and only the attributes are needed.
    type: bool
    default: true
extends_documentation_fragment:
  - redrive.eventbridge.connection.plugins
  - redrive.eventbridge.redrive.filters
  - redrive.eventbridge.redrive.entries
notes:
  - Every receive raises a message's C(ApproximateReceiveCount), so the RV(_raw[].receive_count) of each
    listed message is one higher after each lookup. If the DLQ itself has a redrive policy with a low
    C(maxReceiveCount), repeated lookups can make SQS move messages on.
  - While the lookup runs, the messages it has seen are hidden from other consumers for up to 60 seconds;
    they are made visible again before it returns.
  - SQS does not return messages in a fixed order, and on a busy or very large queue a scan may miss
    messages. Items are returned queue by queue, in the order they were received.
  - Connection options are read from the lookup's keyword arguments, then from the environment variables
    listed, as amazon.aws lookups do. As in amazon.aws, a O(profile) together with an O(access_key),
    O(secret_key) or O(session_token) is an error, also when the keys come from the environment (as AWX injects
    them); give the keys as empty strings (C(access_key='')) to use the profile. The module follows the same
    rule.
seealso:
  - module: redrive.eventbridge.eventbridge_dlq_redrive
"""

EXAMPLES = r"""
- name: List the first messages of the orders DLQ
  ansible.builtin.debug:
    msg: >-
      {{ item.message_id }} {{ item.attributes.error_code | default('-') }}
      {{ item.event['detail-type'] | default('(unparsed)') }} redrivable={{ item.redrivable }}
  loop: "{{ query('redrive.eventbridge.dlq_messages', 'orders-rule-dlq', region='eu-west-1', max_messages=20) }}"
  loop_control:
    label: "{{ item.message_id }}"

- name: Look at two DLQs through a local emulator, without the event bodies
  ansible.builtin.set_fact:
    dlq_items: "{{ lookup('redrive.eventbridge.dlq_messages', dlq_a, dlq_b, include_body=false,
                   endpoint_url='http://localhost:5000', wantlist=True) }}"

# Look, then redrive: select in Jinja what should go back, preview, then redrive exactly that.
- name: Look at the DLQ
  ansible.builtin.set_fact:
    dlq_items: "{{ query('redrive.eventbridge.dlq_messages', 'orders-rule-dlq', region='eu-west-1', max_messages=500) }}"

- name: Choose the redrivable messages that failed on a connection problem
  ansible.builtin.set_fact:
    chosen_ids: "{{ dlq_items | selectattr('redrivable') | selectattr('attributes.error_code', 'defined')
                    | selectattr('attributes.error_code', 'in', ['CONNECTION_FAILURE', 'TIMEOUT'])
                    | map(attribute='message_id') | list }}"

- name: Redrive exactly those messages
  redrive.eventbridge.eventbridge_dlq_redrive:
    queue: orders-rule-dlq
    region: eu-west-1
    message_ids: "{{ chosen_ids }}"
  when: chosen_ids | length > 0

# Before putting events back on their bus: which would no longer reach the rule whose target failed?
- name: Find the S3 uploads whose event, put back as redrive.aws.s3, its rule would not match
  ansible.builtin.set_fact:
    unreachable: "{{ query('redrive.eventbridge.dlq_messages', 's3-ingest-dlq', deliver_to='bus',
                     event_pattern={'source': ['aws.s3'], 'detail': {'eventName': [{'prefix': 'Put'}]}})
                     | selectattr('matches_rule', 'false') | list }}"

- name: Show the field that stopped each one matching
  ansible.builtin.debug:
    msg: "{{ item.message_id }}: {{ item.rule_check }} ({{ item.unmatched_field }})"
  loop: "{{ unreachable }}"
  loop_control:
    label: "{{ item.message_id }}"

- name: Select by a pattern given as JSON text, as a rule's EventPattern reads, and preview a put anyway
  vars:
    large_orders: '{"detail": {"total": [{"numeric": [">", 1000]}]}}'
  ansible.builtin.set_fact:
    large_order_items: "{{ query('redrive.eventbridge.dlq_messages', 'orders-rule-dlq', deliver_to='bus',
                           event_pattern=large_orders, when_rule_unmatched='put') }}"
"""

RETURN = r"""
_raw:
  description: One item per listed message.
  type: list
  elements: dict
  contains:
    message_id:
      description: SQS message id; the module's O(redrive.eventbridge.eventbridge_dlq_redrive#module:message_ids) accepts it.
      type: str
      sample: 5fea7756-0ea4-451a-a703-a558b933e274
    queue:
      description: URL of the queue the message is in.
      type: str
      sample: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-rule-dlq
    origin:
      description:
        - What filled the queue, as recognised from the message.
        - C(eventbridge_dlq), C(lambda_dlq), C(lambda_destination) or C(unknown).
      type: str
      sample: eventbridge_dlq
    event_id:
      description: The C(id) of the event, if the message holds one.
      type: str
      sample: 7bf73129-1428-4cd3-a780-95db273d1602
    event:
      description:
        - The event as parsed from the message (for a Lambda destination record, its C(requestPayload)).
        - V(null) when the body is not an event or O(include_body=false).
      type: dict
      sample: {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "Order Placed",
               "source": "com.example.shop", "account": "123456789012", "time": "2026-11-21T12:00:00Z",
               "region": "eu-west-1", "resources": [], "detail": {"orderId": "ORD-00001"}}
    entry:
      description:
        - The PutEvents entry a redrive would put (C(Source), C(DetailType), C(Detail), C(Resources), C(Time),
          C(EventBusName)) plus C(Size), its size in bytes by the AWS formula.
        - No C(Detail) when O(include_body=false); V(null) when the message cannot become an entry.
      type: dict
      sample: {"Source": "redrive.aws.s3", "DetailType": "AWS API Call via CloudTrail",
               "Detail": "{\"eventName\":\"PutObject\"}", "Resources": ["arn:aws:s3:::billing-inbox/a.pdf"],
               "Time": "2026-11-20T08:15:30Z", "EventBusName": "default", "Size": 120}
    attributes:
      description:
        - The failure context, with only the keys the message carries.
        - C(rule_arn), C(target_arn), C(error_code), C(error_message), C(exhausted_retry_condition),
          C(retry_attempts) for a rule-target DLQ.
        - C(request_id), C(error_code) (a number as text), C(error_message) for a Lambda DLQ.
        - For a Lambda on-failure destination record, C(request_id), C(target_arn) (the function), C(error_code)
          (the function error, for example C(Unhandled)), C(error_message), C(exhausted_retry_condition)
          (for example C(RetriesExhausted)) and C(retry_attempts) (the invoke count).
      type: dict
      sample: {"rule_arn": "arn:aws:events:eu-west-1:123456789012:rule/orders/to-billing",
               "target_arn": "arn:aws:lambda:eu-west-1:123456789012:function:billing-ingest",
               "error_code": "CONNECTION_FAILURE", "error_message": "Failed to connect to the target.",
               "exhausted_retry_condition": "MaximumRetryAttempts", "retry_attempts": 185}
    receive_count:
      description: C(ApproximateReceiveCount) of the message, including the lookup's own receive.
      type: int
      sample: 3
    sent_at:
      description: When the message entered the queue (ISO 8601, UTC).
      type: str
      sample: "2026-11-21T12:00:07.124000Z"
    age_seconds:
      description: Seconds since the message entered the queue.
      type: float
      sample: 5123.4
    redrivable:
      description: Whether the module would put this message's event (after the filters selected it).
      type: bool
      sample: true
    reason:
      description: Why the message is not redrivable (for example C(invalid_json) or C(entry_too_large)); V(null) if it is.
      type: str
      sample: invalid_json
    route:
      description:
        - How the message would travel, C(target) (sent to the rule target that failed, as EventBridge
          would have delivered it) or C(bus) (put on an event bus); V(null) when it would not be delivered
          and where it would go is not known (for example a body that is not an event).
      type: str
      sample: target
    route_reason:
      description: Why O(deliver_to=auto) would put the message on the bus rather than send it to a target.
      type: str
      sample: "target_type_not_supported: ecs_task"
    target:
      description: The target the message would be sent to (or was meant for), with C(arn) and C(type).
      type: dict
      sample: {"arn": "arn:aws:lambda:eu-west-1:123456789012:function:billing-ingest", "type": "lambda"}
    event_bus:
      description: The bus the message would be put on, for the C(bus) route.
      type: str
      sample: orders
    payload:
      description:
        - For the C(target) route, the text the target would receive (the event with the target's C(Input),
          C(InputPath) or C(InputTransformer) applied). V(null) for the bus route or with O(include_body=false).
      type: str
    matches_rule:
      description:
        - For the C(bus) route, whether the rule whose target failed would match the event as it would be put
          (V(false) for example when C(aws.s3) became C(redrive.aws.s3), or when the rule no longer exists);
          V(null) when not checked (no C(RULE_ARN), or the rule could not be read).
      type: bool
      sample: false
    unmatched_field:
      description: The field that stopped the event from matching its rule, when RV(_raw[].matches_rule) is V(false).
      type: str
      sample: "source: redrive.aws.s3 not in [aws.s3]"
    rule_check:
      description:
        - Why RV(_raw[].matches_rule) is not V(true), as a code; V(null) when it is, or when the message belongs
          to no rule (a Lambda DLQ message).
        - Known not to match (V(matches_rule=false)) are C(no_longer_matches_rule), C(rule_disabled),
          C(rule_has_no_pattern) (a scheduled rule) and C(rule_not_found).
        - Unknown (V(matches_rule=null)) are C(rule_check_denied) (C(events:DescribeRule) refused),
          C(rule_pattern_unreadable), C(no_rule_arn) (the message names no rule) and a failed C(DescribeRule)
          call (its error code).
      type: str
      sample: no_longer_matches_rule
    body:
      description: The raw message body, only for messages that could not be parsed into an event and with O(include_body=true).
      type: str
      returned: when the body is not an event
"""

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import (
    AwsError,
    ConnectionOptions,
    make_clients,
    sdk_version_warnings,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.connection import (
    lookup_option_names as connection_option_names,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.connection import (
    resolve_connection,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.engine import SettingsError
from ansible_collections.redrive.eventbridge.plugins.module_utils.entries import OptionError
from ansible_collections.redrive.eventbridge.plugins.module_utils.options import (
    lookup_option_names,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.runner import list_messages

display = Display()


def _queues(terms: Any) -> list[str]:
    """The queue terms, one level of lists flattened, each a non-empty string."""
    queues: list[str] = []
    for term in terms or ():
        values = term if isinstance(term, (list, tuple)) else [term]
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise AnsibleLookupError(
                    f"each term must be a queue name, URL or ARN, got {value!r}"
                )
            queues.append(value.strip())
    if not queues:
        raise AnsibleLookupError("name at least one queue (a name, URL or ARN)")
    return queues


class LookupModule(LookupBase):
    def run(self, terms: Any, variables: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            warnings = sdk_version_warnings()
        except AwsError as error:
            raise AnsibleLookupError(
                "the boto3 and botocore Python packages are required on the controller "
                f"({error.message}); install them with: pip install boto3 botocore"
            ) from None
        for warning in warnings:
            display.warning(f"redrive.eventbridge.dlq_messages: {warning}")
        self.set_options(var_options=variables, direct=kwargs)
        queues = _queues(terms)
        max_messages = self.get_option("max_messages")
        if max_messages is None or max_messages < 1:
            raise AnsibleLookupError("max_messages must be at least 1")
        params = {name: self.get_option(name) for name in lookup_option_names()}
        try:
            clients = make_clients(self._connection(), pool_size=1)
            return list_messages(
                clients,
                queues,
                params,
                max_messages,
                include_body=self.get_option("include_body"),
            )
        except AwsError as error:
            raise AnsibleLookupError(error.describe()) from None
        except (OptionError, SettingsError) as error:
            raise AnsibleLookupError(str(error)) from None

    def _connection(self) -> ConnectionOptions:
        """The connection options by the same rule as the module's (connection.py)."""
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for name in connection_option_names():
            values[name], origin = self.get_option_and_origin(name)
            origins[name] = "a keyword argument" if origin == "Direct" else origin
        return resolve_connection(values, origins)
