"""What EventBridge delivers to a rule target.

Every expected output cites where it comes from:
- UG: EventBridge User Guide, "Amazon EventBridge input transformation"
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- API: EventBridge API Reference, Target and InputTransformer
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
- Tutorial: "Tutorial: Use input transformers to transform events in EventBridge"
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-input-transformer-tutorial.html
- Sandbox: "Testing a target input transformer using the EventBridge Sandbox"
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-sandbox-input-trans.html
- Pipes: "Amazon EventBridge Pipes input transformation" (same common issues, spelled out)
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-input-transformation.html
- Recorded: SQS deliveries recorded against AWS in LocalStack's validated snapshots,
  localstack/localstack tests/aws/services/events/test_events_inputs.snapshot.json,
  for what the documentation leaves open.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.transform import (
    PathError,
    RuleContext,
    TransformError,
    resolve_path,
    target_payload,
)

DOCUMENT = {
    "id": "e-1",
    "detail-type": "Order Placed",
    "detail": {
        "state": "RUNNING",
        "instance-id": "i-0123456789",
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
        "bucket/key": "logs/a.txt",
        "under_score": 0,
        "empty": None,
        "flag": False,
    },
}


# --- JSONPath (UG note on supported syntax; API Target.InputPath: dot or bracket notation)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", DOCUMENT),
        ("$.id", "e-1"),
        ("$.detail-type", "Order Placed"),
        ("$.detail.state", "RUNNING"),
        ("$.detail.instance-id", "i-0123456789"),
        ("$.detail.items[0].sku", "A-1"),
        ("$.detail.items[1]", {"sku": "B-2", "qty": 1}),
        ("$.detail.bucket/key", "logs/a.txt"),
        ("$.detail.under_score", 0),
        ("$.detail.empty", None),
        ("$.detail.flag", False),
        ("$['detail']['state']", "RUNNING"),
        ('$["detail"]["items"][0]["qty"]', 2),
        ("$['detail']['bucket/key']", "logs/a.txt"),
        ("$.detail['instance-id']", "i-0123456789"),
    ],
)
def test_definite_paths_find_their_value(path: str, value: object) -> None:
    assert resolve_path(DOCUMENT, path) == (True, value)


@pytest.mark.parametrize(
    "path",
    [
        "$.missing",
        "$.detail.missing",
        "$.detail.items[2]",
        "$.detail.state.deeper",
        "$.detail.items.sku",
        "$.detail[0]",
        "$.detail.items[0].missing",
        "$.id[0]",
    ],
)
def test_missing_paths_are_not_found(path: str) -> None:
    assert resolve_path(DOCUMENT, path) == (False, None)


def test_null_is_found_not_missing() -> None:
    assert resolve_path({"a": None}, "$.a") == (True, None)


def test_wildcards_give_every_match_in_document_order() -> None:
    assert resolve_path(DOCUMENT, "$.detail.items[*].sku") == (True, ["A-1", "B-2"])
    assert resolve_path(DOCUMENT, "$.detail.items.*.qty") == (True, [2, 1])
    assert resolve_path({"a": {"x": 1, "y": 2}}, "$.a.*") == (True, [1, 2])
    assert resolve_path(DOCUMENT, "$.detail.items[*].missing") == (True, [])


def test_quoted_names_take_escapes() -> None:
    assert resolve_path({"it's": 1}, "$['it\\'s']") == (True, 1)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("detail.state", "must start with '$'"),
        ("", "must start with '$'"),
        ("$..state", "recursive descent"),
        ("$.detail.", "not supported"),
        ("$.detail items", "not supported"),
        ("$.detail.items[-1]", "negative"),
        ("$.detail.items[0:1]", "slices"),
        ("$.detail.items[0,1]", "unions"),
        ("$.detail.items[?(@.qty > 1)]", "filters"),
        ("$.detail.items.length()", "not supported"),
        ("$.detail.items[0", "only [index]"),
        ("$['detail", "unterminated"),
        ("$['detail'", "expected ']'"),
        ("$['detail'x]", "expected ']'"),
        ("$.detail.a:b", "not supported"),
        ("$detail", "not supported"),
    ],
)
def test_unsupported_syntax_is_refused_naming_the_path(path: str, reason: str) -> None:
    with pytest.raises(PathError) as raised:
        resolve_path(DOCUMENT, path)
    assert reason in str(raised.value)
    assert repr(path) in str(raised.value)


def test_parsed_document_and_event_text_agree_on_every_path() -> None:
    # target_payload walks the event's text, resolve_path the parsed event: same answers.
    text = json.dumps(DOCUMENT)
    context = RuleContext("arn:aws:events:us-east-1:123456789012:rule/r", "r", "t")
    for path in ("$.detail.items[1].sku", "$.detail.items[*].qty", "$['detail']['flag']"):
        found, value = resolve_path(DOCUMENT, path)
        assert found
        target = {"InputPath": path}
        assert json.loads(target_payload(text, DOCUMENT, target, context)) == value


# --- Helpers ---------------------------------------------------------------

# UG, "Input transform examples": the example Amazon EC2 event.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
# UG: the Input Path of the examples.
EC2_PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}
# UG: the reserved variables in the examples render this rule.
EXAMPLE_RULE = RuleContext(
    rule_arn="arn:aws:events:us-east-2:123456789012:rule/example",
    rule_name="example",
    ingestion_time="2015-11-11T21:29:54Z",
)


def compact(event: dict[str, Any]) -> str:
    """An event as EventBridge writes it in a DLQ body: compact, non-ASCII kept."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def transform(
    template: str,
    paths: Optional[dict[str, str]] = None,
    event: Optional[dict[str, Any]] = None,
    context: RuleContext = EXAMPLE_RULE,
    event_text: str = "",
) -> str:
    """The payload for the EC2 example event and Input Path unless told otherwise."""
    event = EC2_EVENT if event is None else event
    paths = EC2_PATHS if paths is None else paths
    target = {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    return target_payload(event_text or compact(event), event, target, context)


def error_code(event: dict[str, Any], target: dict[str, Any], text: str = "") -> str:
    with pytest.raises(TransformError) as raised:
        target_payload(text or compact(event), event, target, EXAMPLE_RULE)
    return raised.value.code


# --- UG, "Input transform examples" table -----------------------------------


def test_ug_simple_string() -> None:
    template = '"instance <instance> is in <state>"'
    assert transform(template) == '"instance i-0123456789 is in RUNNING"'


def test_ug_string_with_escaped_quotes() -> None:
    # The template as the console stores it (UG notes the CLI needs its own escaping).
    template = '"instance \\"<instance>\\" is in <state>"'
    assert transform(template) == '"instance \\"i-0123456789\\" is in RUNNING"'


def test_ug_simple_json() -> None:
    template = '{\n  "instance" : <instance>,\n  "state": <state>\n}'
    assert transform(template) == '{\n  "instance" : "i-0123456789",\n  "state": "RUNNING"\n}'


def test_ug_json_with_strings_and_variables() -> None:
    template = (
        '{\n "instance" : <instance>,\n "state": "<state>",\n'
        ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}'
    )
    assert transform(template) == (
        '{\n "instance" : "i-0123456789",\n "state": "RUNNING",\n'
        ' "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"\n}'
    )


def test_ug_json_with_a_mix_of_variables_and_static_information() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n'
        '  "Transformed" : "Yes"\n}'
    )
    output = transform(template)
    assert output == (
        '{\n  "instance" : "i-0123456789",\n  "state": [ 9, "RUNNING", true ],\n'
        '  "Transformed" : "Yes"\n}'
    )
    # UG shows the output pretty-printed; as JSON it is the same document.
    assert json.loads(output) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_ug_including_reserved_variables_in_json() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,'
        '\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event.json>\n}'
    )
    output = json.loads(transform(template))
    assert output == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example",
        "ruleName": "example",
        "originalEvent": EC2_EVENT,
    }


def test_ug_including_reserved_variables_in_json_with_aws_events_event() -> None:
    # The same row in the earlier edition of UG uses <aws.events.event>: the event
    # "without the detail field" (UG), in the shape recorded against AWS.
    output = transform(
        '{"ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event>}'
    )
    assert output == (
        '{"ruleName" : "example", "originalEvent" : {'
        '"id":"7bf73129-1428-4cd3-a780-95db273d1602","account":"123456789012",'
        '"detailType":"EC2 Instance State-change Notification","time":"2015-11-11T21:29:54Z",'
        '"source":"aws.ec2","region":"us-east-1",'
        '"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"version":"0"}}'
    )


def test_ug_including_reserved_variables_in_a_string() -> None:
    assert transform('"<aws.events.rule-name> triggered"') == '"example triggered"'


def test_ug_cloudwatch_log_group_row_is_rendered_by_the_general_rules() -> None:
    template = (
        '{\n  "timestamp" : <timestamp>,\n  "message": "instance \\"<instance>\\" is in <state>"\n}'
    )
    output = transform(template)
    assert output == (
        '{\n  "timestamp" : "2015-11-11T21:29:54Z",\n'
        '  "message": "instance \\"i-0123456789\\" is in RUNNING"\n}'
    )
    # UG prints this row's output as below: an unquoted timestamp and unescaped quotes,
    # which is not JSON at all and contradicts the "Simple JSON" row and the common
    # issue "EventBridge automatically adds quotes to string variable values". It is a
    # display of the log line, not the payload; the general rules stand.
    documented = (
        '{\n  "timestamp" : 2015-11-11T21:29:54Z,\n'
        '  "message": "instance "i-0123456789" is in RUNNING\n}'
    )
    with pytest.raises(ValueError):
        json.loads(documented)
    assert json.loads(output)["timestamp"] == "2015-11-11T21:29:54Z"


# --- UG, "Common issues with transforming input" ----------------------------


def test_ug_missing_path_variable_does_not_appear_in_the_output() -> None:
    paths = {**EC2_PATHS, "state": "$.detail.not-there"}
    assert (
        transform('"instance <instance> is in <state>"', paths) == '"instance i-0123456789 is in "'
    )


def test_recorded_missing_path_outside_quotes_in_json_is_an_empty_string() -> None:
    # Recorded: {"detailType": <detail-type>, "time": <timestamp>, "command": <command>}
    # with command at $.detail.notinmessage delivered "command": "".
    paths = {**EC2_PATHS, "state": "$.detail.not-there"}
    assert transform('{"i": <instance>, "s": <state>}', paths) == '{"i": "i-0123456789", "s": ""}'


def test_ug_values_are_not_escaped_inside_a_string() -> None:
    # UG: "EventBridge doesn't escape values extracted by Input Path, when populating
    # the Input Template for a target."
    event = {**EC2_EVENT, "detail": {"instance-id": 'i-"quoted"', "state": "a\\b"}}
    assert transform('{"m": "<instance> / <state>"}', event=event) == '{"m": "i-"quoted" / a\\b"}'
    assert transform('"<instance>"', event=event) == '"i-"quoted""'


def test_ug_strings_get_quotes_outside_quotes_objects_and_arrays_do_not() -> None:
    # UG: "Quotes are not required for variables that represent strings ... EventBridge
    # automatically adds quotes to string variable values ... does not add quotes to
    # variables that represent JSON objects or arrays."
    paths = {"detail": "$.detail", "resources": "$.resources", "state": "$.detail.state"}
    output = transform('{"detail": <detail>, "resources": <resources>, "state": <state>}', paths)
    assert output == (
        '{"detail": {"instance-id":"i-0123456789","state":"RUNNING"}, '
        '"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"], '
        '"state": "RUNNING"}'
    )


def test_ug_an_object_referenced_in_a_string_loses_its_internal_quotes() -> None:
    # UG: "If a JSON path references a JSON object or array, but the variable is
    # referenced in a string, EventBridge removes any internal quotes".
    paths = {"detail": "$.detail"}
    assert (
        transform('"Detail is <detail>"', paths)
        == '"Detail is {instance-id:i-0123456789,state:RUNNING}"'
    )
    assert (
        transform('{"text": "Detail is <detail>"}', paths)
        == '{"text": "Detail is {instance-id:i-0123456789,state:RUNNING}"}'
    )


def test_ug_a_single_object_variable_must_be_placed_under_a_key() -> None:
    # UG: "if you want to output a JSON object based on a single JSON path variable,
    # you must place it as a key ... {"detail": <detail>}": alone, it is text.
    paths = {"detail": "$.detail"}
    assert transform("<detail>", paths) == "{instance-id:i-0123456789,state:RUNNING}"
    assert json.loads(transform('{"detail": <detail>}', paths)) == {"detail": EC2_EVENT["detail"]}


def test_ug_event_json_is_the_whole_event_as_json_and_text_inside_a_string() -> None:
    # UG: aws.events.event.json "Can only be used as a value for a JSON field, as it's
    # contents are not escaped"; Pipes: "not inline in other strings".
    text = compact(EC2_EVENT)
    assert transform('{"e": <aws.events.event.json>}', {}) == '{"e": ' + text + "}"
    assert transform('"e <aws.events.event.json>"', {}) == '"e ' + text.replace('"', "") + '"'


def test_ug_multi_line_text_output_wraps_each_line_in_quotes() -> None:
    # UG: "For (non-JSON) text output as multi-line strings, wrap each separate line in
    # your input template in double quotes."
    template = '"<state> state for <instance>"\n"Rule: <aws.events.rule-name>"\n"Time: <timestamp>"'
    assert transform(template) == (
        '"RUNNING state for i-0123456789"\n"Rule: example"\n"Time: 2015-11-11T21:29:54Z"'
    )


def test_pipes_reserved_variables_example_for_rules() -> None:
    # Pipes' (and UG's) example: strings quoted, the event embedded as an object.
    template = (
        '{\n  "ruleArn" : <aws.events.rule-arn>,\n  "ruleName" : <aws.events.rule-name>,\n'
        '  "originalEvent" : <aws.events.event.json>\n}'
    )
    assert json.loads(transform(template, {})) == {
        "ruleArn": EXAMPLE_RULE.rule_arn,
        "ruleName": "example",
        "originalEvent": EC2_EVENT,
    }


# --- Tutorial, API reference, Sandbox ---------------------------------------


def test_tutorial_sns_message() -> None:
    event = {**EC2_EVENT, "detail-type": "customerCreated", "source": "TestEvent", "detail": {}}
    output = transform(
        '"This event was of <detail-type> type."', {"detail-type": "$.detail-type"}, event
    )
    assert output == '"This event was of customerCreated type."'


API_EVENT = {**EC2_EVENT, "detail": {"instance": "i-0abc", "status": "running"}}
API_PATHS = {"instance": "$.detail.instance", "status": "$.detail.status"}


def test_api_plain_text_template() -> None:
    assert transform("<instance> is in state <status>", API_PATHS, API_EVENT) == (
        "i-0abc is in state running"
    )


def test_api_plain_text_template_with_quote_marks() -> None:
    # API: "To have the InputTemplate include quote marks within a JSON string, escape
    # each quote marks with a slash": the stored template holds the quote marks.
    assert transform('<instance> is in state "<status>"', API_PATHS, API_EVENT) == (
        'i-0abc is in state "running"'
    )


def test_api_json_template_with_variables_in_quotes_and_out() -> None:
    template = '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}'
    output = transform(template, API_PATHS, API_EVENT)
    assert output == '{"myInstance": "i-0abc","myStatus": "i-0abc is in state \\"running\\""}'
    assert json.loads(output) == {
        "myInstance": "i-0abc",
        "myStatus": 'i-0abc is in state "running"',
    }


def test_sandbox_s3_object_created_example() -> None:
    event = {
        **EC2_EVENT,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": "amzn-s3-demo-bucket"},
            "object": {"key": "example-key"},
            "requester": "123456789012",
        },
    }
    paths = {
        "requester": "$.detail.requester",
        "key": "$.detail.object.key",
        "bucket": "$.detail.bucket.name",
    }
    template = (
        '{\n    "message": "<requester> has created the object \\"<key>\\" in the bucket '
        '\\"<bucket>\\"",\n    "RuleName": <aws.events.rule-name>,\n'
        '    "ruleArn" : <aws.events.rule-arn>,\n    "Transformed": "Yes"\n}'
    )
    context = RuleContext("arn:aws:events:us-east-1:123456789012:rule/rule-name", "rule-name", "t")
    output = transform(template, paths, event, context)
    assert output == (
        '{\n    "message": "123456789012 has created the object \\"example-key\\" in the bucket '
        '\\"amzn-s3-demo-bucket\\"",\n    "RuleName": "rule-name",\n'
        '    "ruleArn" : "arn:aws:events:us-east-1:123456789012:rule/rule-name",\n'
        '    "Transformed": "Yes"\n}'
    )
    # The Sandbox page prints this output with the rule name and ARN unquoted and the
    # escaped quotes unescaped: not JSON, and at odds with UG's rows and common issues
    # (and with what AWS was recorded delivering). The general rules stand.
    documented = (
        '{\n    "message": "123456789012 has created the object "example-key" in the bucket '
        '"amzn-s3-demo-bucket"",\n    "RuleName": rule-name,\n'
        '    "ruleArn" : arn:aws:events:us-east-1:123456789012:rule/rule-name,\n'
        '    "Transformed": "Yes"\n}'
    )
    with pytest.raises(ValueError):
        json.loads(documented)


# --- Recorded against AWS ---------------------------------------------------

RECORDED_EVENT = {
    "version": "0",
    "id": "0c0f0f1e-8b5e-4a43-a8f4-6d6a1c8f7c10",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": "2024-06-11T08:33:10Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}},
}
RECORDED_PATHS = {
    "detail-type": "$.detail-type",
    "timestamp": "$.time",
    "command": "$.detail.command",
}


def test_recorded_string_templates() -> None:
    template = (
        '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
    )
    assert transform(template, RECORDED_PATHS, RECORDED_EVENT) == (
        '"Event of core.update-account-command type, at time 2024-06-11T08:33:10Z, '
        'info extracted from detail update-account"'
    )
    missing = {**RECORDED_PATHS, "command": "$.detail.notinmessage"}
    assert transform(template, missing, RECORDED_EVENT) == (
        '"Event of core.update-account-command type, at time 2024-06-11T08:33:10Z, '
        'info extracted from detail "'
    )
    special = '"{[/Check with special starting characters for event of <detail-type> type"'
    assert transform(special, RECORDED_PATHS, RECORDED_EVENT) == (
        '"{[/Check with special starting characters for event of core.update-account-command type"'
    )


def test_recorded_json_template() -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    assert json.loads(transform(template, RECORDED_PATHS, RECORDED_EVENT)) == {
        "detailType": "core.update-account-command",
        "time": "2024-06-11T08:33:10Z",
        "command": "update-account",
    }
    missing = {**RECORDED_PATHS, "command": "$.detail.notinmessage"}
    assert json.loads(transform(template, missing, RECORDED_EVENT))["command"] == ""


def test_recorded_predefined_variables() -> None:
    context = RuleContext(
        "arn:aws:events:us-east-1:111111111111:rule/bus/rule", "rule", "2024-06-11T08:33:12Z"
    )
    template = (
        '"Message containing all pre defined variables <aws.events.rule-arn> '
        '<aws.events.rule-name> <aws.events.event.ingestion-time>"'
    )
    assert transform(template, {}, RECORDED_EVENT, context) == (
        '"Message containing all pre defined variables '
        'arn:aws:events:us-east-1:111111111111:rule/bus/rule rule 2024-06-11T08:33:12Z"'
    )
    both = '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}'
    output = json.loads(transform(both, {}, RECORDED_EVENT, context))
    assert list(output["originalEvent"].items()) == [
        ("id", RECORDED_EVENT["id"]),
        ("account", "111111111111"),
        ("detailType", "core.update-account-command"),
        ("time", "2024-06-11T08:33:12Z"),
        ("source", "core.update-account-command"),
        ("region", "us-east-1"),
        ("resources", []),
        ("version", "0"),
    ]
    assert output["originalEventJson"] == RECORDED_EVENT


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        (
            "$.detail",
            '{"command":"update-account","payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}',
        ),
        ("$.detail.payload", '{"acc_id":"0a787ecb-4015","sf_id":"baz"}'),
        ("$.detail.payload.sf_id", '"baz"'),
    ],
)
def test_recorded_input_path(path: str, payload: str) -> None:
    text = compact(RECORDED_EVENT)
    assert target_payload(text, RECORDED_EVENT, {"InputPath": path}, EXAMPLE_RULE) == payload


def test_recorded_undefined_placeholder_is_refused() -> None:
    # Recorded: PutTargets answers "InputTemplate for target ... contains invalid
    # placeholder notdefinedkey."
    target = {
        "InputTransformer": {
            "InputPathsMap": RECORDED_PATHS,
            "InputTemplate": '"Event of <detail-type> type, with not defined key <notdefinedkey>"',
        }
    }
    assert error_code(RECORDED_EVENT, target) == "invalid_template"


def test_recorded_only_one_input_setting() -> None:
    # Recorded: "Only one of Input, InputPath, or InputTransformer must be provided".
    transformer = {"InputPathsMap": RECORDED_PATHS, "InputTemplate": '"<command>"'}
    for target in (
        {"InputTransformer": transformer, "InputPath": "$.detail"},
        {"Input": "{}", "InputPath": "$.detail"},
        {"Input": "{}", "InputTransformer": transformer},
    ):
        assert error_code(RECORDED_EVENT, target) == "conflicting_input"


# --- No settings, Input, InputPath ------------------------------------------


def test_no_input_settings_deliver_the_event_text_byte_for_byte() -> None:
    text = ' {"id": "e-1",  "detail": {"total": 2401.00, "名前": "抹茶", "esc": "\\u00e9\\/"}}\n'
    event = json.loads(text)
    target = {"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPath": None}
    assert target_payload(text, event, target, EXAMPLE_RULE) is text


def test_input_is_sent_as_given() -> None:
    constant = '{ "action" : "nightly",\n "n": 1.50 }'
    target = {"Input": constant}
    assert target_payload(compact(EC2_EVENT), EC2_EVENT, target, EXAMPLE_RULE) == constant


@pytest.mark.parametrize("constant", ["not json", "", '{"a": 1', "x" * 8193])
def test_input_must_be_json_of_at_most_8192(constant: str) -> None:
    assert error_code(EC2_EVENT, {"Input": constant}) == "invalid_input"


def test_input_path_keeps_the_value_as_it_is_written_in_the_event() -> None:
    text = (
        '{"id":"e-1","detail":{"total":2401.00,"big":1E+3,"note":"配達\\u00e9 \\"x\\"","n":null}}'
    )
    event = json.loads(text)

    def delivered(path: str) -> str:
        return target_payload(text, event, {"InputPath": path}, EXAMPLE_RULE)

    assert delivered("$") == text
    assert delivered("$.detail") == text[text.index('{"total"') : -1]
    assert delivered("$.detail.total") == "2401.00"
    assert delivered("$.detail.big") == "1E+3"
    assert delivered("$.detail.note") == '"配達\\u00e9 \\"x\\""'
    assert delivered("$.detail.n") == "null"
    assert delivered("$.detail.*") == '[2401.00,1E+3,"配達\\u00e9 \\"x\\"",null]'


def test_input_path_not_in_the_event_is_refused() -> None:
    assert error_code(EC2_EVENT, {"InputPath": "$.detail.missing"}) == "input_path_not_found"


@pytest.mark.parametrize("path", ["detail", "$..state", "$.detail[?(@.a)]", "$." + "a" * 256])
def test_malformed_input_path_is_refused(path: str) -> None:
    assert error_code(EC2_EVENT, {"InputPath": path}) == "invalid_input_path"


# --- Template rules ---------------------------------------------------------

VALUES_EVENT = {
    **EC2_EVENT,
    "detail": {
        "count": 3,
        "price": 1200.50,
        "on": True,
        "off": False,
        "nothing": None,
        "name": "山田 太郎",
        "tags": ["a", "b"],
        "items": [{"sku": "A-1"}, {"sku": "B-2"}],
    },
}
VALUES_TEXT = (
    '{"version":"0","id":"e-2","detail-type":"注文","source":"com.example","account":"123456789012",'
    '"time":"2026-11-21T12:00:00Z","region":"us-east-1","resources":[],'
    '"detail":{"count":3,"price":1200.50,"on":true,"off":false,"nothing":null,'
    '"name":"山田 太郎","tags":["a","b"],"items":[{"sku":"A-1"},{"sku":"B-2"}]}}'
)
VALUES_PATHS = {
    name: f"$.detail.{name}"
    for name in ("count", "price", "on", "off", "nothing", "name", "tags", "items")
}
VALUES_PATHS["skus"] = "$.detail.items[*].sku"


def values(template: str) -> str:
    return transform(template, VALUES_PATHS, json.loads(VALUES_TEXT), event_text=VALUES_TEXT)


def test_every_kind_of_value_outside_quotes_in_json() -> None:
    template = (
        '{"count": <count>, "price": <price>, "on": <on>, "off": <off>, "nothing": <nothing>, '
        '"name": <name>, "tags": <tags>, "items": <items>, "skus": <skus>}'
    )
    assert values(template) == (
        '{"count": 3, "price": 1200.50, "on": true, "off": false, "nothing": null, '
        '"name": "山田 太郎", "tags": ["a","b"], "items": [{"sku":"A-1"},{"sku":"B-2"}], '
        '"skus": ["A-1","B-2"]}'
    )


def test_every_kind_of_value_inside_quotes() -> None:
    template = '{"all": "<count> <price> <on> <off> <nothing> <name> <tags> <items> <skus>"}'
    assert values(template) == (
        '{"all": "3 1200.50 true false null 山田 太郎 [a,b] [{sku:A-1},{sku:B-2}] [A-1,B-2]"}'
    )


def test_every_kind_of_value_in_a_text_template() -> None:
    template = "<count> <price> <on> <nothing> <name> <tags> <skus>"
    assert values(template) == "3 1200.50 true null 山田 太郎 [a,b] [A-1,B-2]"


def test_a_json_array_template_is_json() -> None:
    assert values('[<count>, <name>, "<name>"]') == '[3, "山田 太郎", "山田 太郎"]'


def test_a_string_keeps_its_escapes_outside_quotes_and_loses_them_inside() -> None:
    text = '{"id":"e","detail":{"s":"line\\nnext \\"q\\" \\u00e9"}}'
    event = json.loads(text)
    output = transform('{"json": <s>, "text": "<s>"}', {"s": "$.detail.s"}, event, event_text=text)
    assert output == '{"json": "line\\nnext \\"q\\" \\u00e9", "text": "line\nnext "q" é"}'


def test_template_text_around_placeholders_is_kept_exactly() -> None:
    template = '  {\n\t"a" :\t<count> ,"b":"x\\\\<name>\\u00e9"  }\n'
    assert values(template) == '  {\n\t"a" :\t3 ,"b":"x\\\\山田 太郎\\u00e9"  }\n'


def test_a_lone_angle_bracket_is_literal_text() -> None:
    assert values('"3 < 4 and <count> >= 3"') == '"3 < 4 and 3 >= 3"'


def test_an_escaped_angle_bracket_is_still_a_placeholder() -> None:
    # Tutorial: "The characters < and > can't be escaped."
    assert values('{"a": "x\\<count>"}') == '{"a": "x\\3"}'


def test_predefined_values_keep_non_ascii() -> None:
    context = RuleContext("arn:aws:events:us-east-1:123456789012:rule/注文", "注文", "t")
    assert transform('{"r": <aws.events.rule-name>}', {}, context=context) == '{"r": "注文"}'


@pytest.mark.parametrize(
    "template",
    [
        "{<state>: 1}",
        '{"a": 1, <state> : 2}',
        '{"<state>": 1}',
        '{"x<state>y" : 1}',
        '[{"<state>":1}]',
    ],
)
def test_a_placeholder_cannot_be_an_object_key(template: str) -> None:
    # API: "If InputTemplate is a JSON object ... The placeholder cannot be used as an
    # object key."
    target = {"InputTransformer": {"InputPathsMap": EC2_PATHS, "InputTemplate": template}}
    assert error_code(EC2_EVENT, target) == "invalid_template"


def test_a_colon_after_a_placeholder_in_text_or_a_value_is_fine() -> None:
    assert transform("<state>: <instance>") == "RUNNING: i-0123456789"
    assert transform('{"a": "<state>: x", "b": "<state>"}') == '{"a": "RUNNING: x", "b": "RUNNING"}'


# --- Validity of the settings -----------------------------------------------


def transformer(paths: Any, template: Any = '"<aws.events.rule-name>"') -> dict[str, Any]:
    return {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}


def test_up_to_100_variables() -> None:
    # UG: "You can define up to 100 variables"; API: "Maximum number of 100 items".
    paths = {f"v{i}": "$.detail.state" for i in range(100)}
    template = "".join(f"<v{i}>" for i in range(100))
    assert transform(template, paths) == "RUNNING" * 100
    paths["v100"] = "$.detail.state"
    assert error_code(EC2_EVENT, transformer(paths)) == "invalid_input_paths_map"


@pytest.mark.parametrize(
    "name",
    [
        "aws.events.rule-arn",
        "aws.events.event",
        "AWS.custom",
        "aws.anything",
        "with.dot",
        "with space",
        "",
        "a" * 257,
    ],
)
def test_variable_names(name: str) -> None:
    # UG: predefined names are reserved; API: keys cannot start with "AWS.", key pattern
    # [A-Za-z0-9\_\-]+ of 1 to 256 characters.
    assert error_code(EC2_EVENT, transformer({name: "$.detail.state"})) == "invalid_input_paths_map"


def test_variable_names_that_are_allowed() -> None:
    paths = {"detail-type": "$.detail-type", "a_1": "$.id", "Z" * 256: "$.source"}
    assert transform("<detail-type>|<a_1>|<" + "Z" * 256 + ">", paths) == (
        "EC2 Instance State-change Notification|7bf73129-1428-4cd3-a780-95db273d1602|aws.ec2"
    )


@pytest.mark.parametrize("path", ["detail.state", "$..state", "$.detail[-1]", "$." + "a" * 256])
def test_variable_paths(path: str) -> None:
    assert error_code(EC2_EVENT, transformer({"v": path})) == "invalid_input_path"


@pytest.mark.parametrize("template", [None, "", "x" * 8193, 7])
def test_template_must_be_text_of_1_to_8192(template: Any) -> None:
    assert error_code(EC2_EVENT, transformer({}, template)) == "invalid_template"


def test_a_template_of_8192_is_fine() -> None:
    template = '"' + "x" * 8190 + '"'
    assert transform(template, {}) == template


def test_input_paths_map_may_be_absent_or_not_an_object() -> None:
    target = {"InputTransformer": {"InputTemplate": '"<aws.events.rule-name>"'}}
    assert target_payload(compact(EC2_EVENT), EC2_EVENT, target, EXAMPLE_RULE) == '"example"'
    assert error_code(EC2_EVENT, transformer(["not", "a", "map"])) == "invalid_input_paths_map"


def test_the_event_must_be_a_json_object() -> None:
    template = transformer({})
    assert error_code(EC2_EVENT, template, text="not json") == "invalid_event"
    assert error_code(EC2_EVENT, template, text="[1, 2]") == "invalid_event"
    assert error_code(EC2_EVENT, template, text='{"id": "e"} {"id": "f"}') == "invalid_event"
    with pytest.raises(TransformError) as raised:
        target_payload("[]", [], template, EXAMPLE_RULE)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_event"


def test_transform_error_is_a_value_error_with_a_code_and_a_message() -> None:
    with pytest.raises(ValueError, match="invalid placeholder 'nope'"):
        transform("<nope>")


def test_a_repeated_member_name_takes_the_last_value_as_json_parsers_do() -> None:
    text = '{"id":"e","detail":{"a":1,"a":{"b":2}}}'
    event = json.loads(text)
    assert target_payload(text, event, {"InputPath": "$.detail.a"}, EXAMPLE_RULE) == '{"b":2}'
    assert resolve_path(event, "$.detail.a.b") == (True, 2)


def test_an_escaped_lone_surrogate_put_inside_quotes_is_an_invalid_event() -> None:
    # Valid JSON ("\ud800" is an escape), but unescaped into the template it is no UTF-8
    # text: no target API could carry it, so the event is refused, not the run.
    text = '{"id":"e","detail":{"name":"a\\ud800b","pair":"\\ud83d\\ude00"}}'
    event = json.loads(text)
    quoted = {"InputPathsMap": {"n": "$.detail.name"}, "InputTemplate": '{"name": "<n>"}'}
    assert error_code(event, {"InputTransformer": quoted}, text=text) == "invalid_event"
    plain = {"InputPathsMap": {"n": "$.detail.name"}, "InputTemplate": "name <n>"}
    assert error_code(event, {"InputTransformer": plain}, text=text) == "invalid_event"
    # Outside quotes the value goes in as the JSON text it is, escape and all.
    outside = {"InputPathsMap": {"n": "$.detail.name"}, "InputTemplate": '{"name": <n>}'}
    assert target_payload(text, event, {"InputTransformer": outside}, EXAMPLE_RULE) == (
        '{"name": "a\\ud800b"}'
    )
    # An escaped surrogate pair is one character, which UTF-8 carries.
    pair = {"InputPathsMap": {"p": "$.detail.pair"}, "InputTemplate": '"<p>"'}
    assert target_payload(text, event, {"InputTransformer": pair}, EXAMPLE_RULE) == '"😀"'
