"""The Lambda glue without AWS: settings, events, the partial batch response, time budget."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Optional

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.lambda_runtime import (
    MAX_RECEIVES_VARIABLE,
    OPTION_BY_VARIABLE,
    QUEUE_VARIABLE,
    RESERVED_VARIABLES,
    Function,
    FunctionSettings,
    ItemFailureReporting,
    LambdaSettingsError,
    ScheduledRun,
    SqsBatch,
    UnknownEvent,
    UnsafeSetup,
    batch_seconds,
    item_failure_reporting,
    partial_batch_response,
    read_event,
    receive_message_shape,
    reserved_collisions,
    run_seconds,
    settings_table,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.options import OPTIONS
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from tests.support.events import ACCOUNT, REGION, custom_event, eventbridge_dlq_message
from tests.support.lambda_events import rule_schedule_event, scheduler_event

REPO = Path(__file__).resolve().parents[2]
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq"


def record(message_id: str, **overrides: Any) -> dict[str, Any]:
    value = {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": '{"detail": {}}',
        "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1764547200000"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }
    value.update(overrides)
    return value


# ---- settings ----------------------------------------------------------------------


def test_every_option_has_a_variable_and_none_is_lambda_reserved() -> None:
    assert set(OPTION_BY_VARIABLE) == {option.name.upper() for option in OPTIONS}
    assert reserved_collisions() == []
    assert QUEUE_VARIABLE not in RESERVED_VARIABLES
    assert "AWS_SOURCE_PREFIX" in OPTION_BY_VARIABLE  # AWS_ is not a reserved prefix
    assert MAX_RECEIVES_VARIABLE not in OPTION_BY_VARIABLE  # the function's own setting


def test_values_of_each_type_are_read_from_their_text() -> None:
    settings = FunctionSettings.from_environment(
        {
            "QUEUE": "orders-dlq",
            "DELIVER_TO": "target",
            "RULE_ARNS": '["arn:aws:events:us-east-1:123456789012:rule/a"]',
            "EVENT_PATTERN": '{"source": ["com.example.shop"]}',
            "DEDUPE": "False",
            "CONCURRENCY": "4",
            "RATE_LIMIT": "250.5",
            "MARKER_FIELD": "  ",  # blank: not set
            "UNRELATED": "x",
        }
    )

    assert settings.queue == "orders-dlq"
    assert settings.params == {
        "deliver_to": "target",
        "rule_arns": ["arn:aws:events:us-east-1:123456789012:rule/a"],
        "event_pattern": {"source": ["com.example.shop"]},
        "dedupe": False,
        "concurrency": 4,
        "rate_limit": 250.5,
    }
    assert not settings.selects_everything
    assert settings.max_receives == 5  # unset: the default
    assert FunctionSettings.from_environment({"MAX_RECEIVES": " 12 "}).max_receives == 12
    overridden = FunctionSettings.from_environment({"MAX_RECEIVES": "3"}).with_overrides({})
    assert overridden.max_receives == 3


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MAX_MESSAGES", "1.5", "MAX_MESSAGES must be an integer"),
        ("MAX_SECONDS", "nan", "MAX_SECONDS must be a number, got float"),
        ("MAX_SECONDS", "0", "MAX_SECONDS: max_seconds must be at least 1"),
        ("INCLUDE_BODIES", "1", "INCLUDE_BODIES must be true or false"),
        ("TARGET_ARNS", '["a", 2]', "TARGET_ARNS must be a JSON array of strings"),
        ("ERROR_CODES", "[TIMEOUT]", "ERROR_CODES must be a JSON array of strings: not JSON"),
        ("EVENT_PATTERN", '["source"]', "EVENT_PATTERN must be a JSON object, got list"),
        ("WHEN_RULE_UNMATCHED", "drop", "WHEN_RULE_UNMATCHED must be one of keep, put"),
        ("SOURCE_OVERRIDE", "aws.s3", "SOURCE_OVERRIDE: source_override must not start"),
        ("VISIBILITY_TIMEOUT", "5", "VISIBILITY_TIMEOUT: visibility_timeout must be between"),
        ("MAX_RECEIVES", "five", "MAX_RECEIVES must be an integer, got 'five'"),
        ("MAX_RECEIVES", "0", "MAX_RECEIVES must be between 1 and 1000, got 0"),
        ("MAX_RECEIVES", "1001", "MAX_RECEIVES must be between 1 and 1000, got 1001"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(LambdaSettingsError, match=re.escape(says)):
        FunctionSettings.from_environment({variable: value})


def test_overrides_are_typed_like_the_options_and_null_unsets() -> None:
    settings = FunctionSettings.from_environment({"QUEUE": "a", "ERROR_CODES": '["TIMEOUT"]'})

    changed = settings.with_overrides({"queue": "b", "max_messages": 5, "error_codes": None})

    assert (changed.queue, changed.params) == ("b", {"max_messages": 5})
    pattern = settings.with_overrides({"event_pattern": '{"source": ["com.example.shop"]}'})
    assert pattern.params["event_pattern"] == {"source": ["com.example.shop"]}
    with pytest.raises(LambdaSettingsError, match=r"redrive\.event_pattern must be a JSON object"):
        settings.with_overrides({"event_pattern": "[1]"})
    with pytest.raises(LambdaSettingsError, match=r"redrive\.max_messages must be an integer"):
        settings.with_overrides({"max_messages": "5"})
    with pytest.raises(LambdaSettingsError, match=r"redrive\.dedup is not an option"):
        settings.with_overrides({"dedup": False})
    with pytest.raises(LambdaSettingsError, match=r"redrive\.concurrency: concurrency must be"):
        settings.with_overrides({"concurrency": 65})
    with pytest.raises(LambdaSettingsError, match=r"redrive\.rate_limit must be a number"):
        settings.with_overrides({"rate_limit": True})


# ---- events ------------------------------------------------------------------------


def test_events_are_told_apart() -> None:
    batch = read_event({"Records": [record("m-1"), record("m-2")]})
    assert isinstance(batch, SqsBatch)
    assert (batch.queue_arn, batch.message_ids) == (QUEUE_ARN, ["m-1", "m-2"])
    assert read_event(scheduler_event()) == ScheduledRun("aws.scheduler")
    assert read_event(rule_schedule_event()) == ScheduledRun("aws.events")
    assert read_event({"redrive": {"max_messages": 3}}) == ScheduledRun(
        "invoke", {"max_messages": 3}
    )


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"detail-type": "Object Created", "source": "aws.s3"}, "got dict with keys"),
        ({"redrive": [1]}, "must hold an object"),
        ({"Records": [record("m-1", eventSource="aws:sns")]}, "is not an SQS record"),
        ({"Records": [record("")]}, "has no messageId"),
        ({"Records": [record("m-1", body=None)]}, "has no body text"),
        (
            {"Records": [record("m-1"), record("m-2", eventSourceARN=QUEUE_ARN + "-2")]},
            "do not all name one eventSourceARN",
        ),
        ("just text", "got str"),
    ],
)
def test_other_events_are_refused(event: Any, says: str) -> None:
    with pytest.raises(UnknownEvent, match=says):
        read_event(event)


def test_a_mapping_record_becomes_the_message_receive_message_returns() -> None:
    dlq = eventbridge_dlq_message(custom_event(7))
    attributes = {
        name: {
            "stringValue": value["StringValue"],
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in dlq["MessageAttributes"].items()
    }
    attributes["TRACE"] = {
        "binaryValue": base64.b64encode(b"\x00\xff").decode(),
        "stringValue": None,
        "dataType": "Binary",
    }
    mapped = record("m-7", body=dlq["MessageBody"], messageAttributes=attributes)

    message = receive_message_shape(mapped)

    assert message["MessageAttributes"]["TRACE"] == {
        "DataType": "Binary",
        "BinaryValue": b"\x00\xff",
    }
    assert message["MessageAttributes"]["RULE_ARN"] == dlq["MessageAttributes"]["RULE_ARN"]
    parsed = parse_message(message)
    assert (parsed.message_id, parsed.receive_count) == ("m-7", 3)
    assert parsed.sent_timestamp_ms == 1764547200000
    assert parsed.error_code == "CONNECTION_FAILURE"
    assert parsed.event is not None and parsed.event["detail"]["orderId"] == "ORD-00007"


def test_a_binary_value_that_is_not_base64_is_refused() -> None:
    bad = record("m-1", messageAttributes={"B": {"binaryValue": "%%%", "dataType": "Binary"}})
    with pytest.raises(UnknownEvent, match="not base64"):
        receive_message_shape(bad)


# ---- the partial batch response ------------------------------------------------------


def test_the_response_names_each_record_not_done_once_in_batch_order() -> None:
    batch = SqsBatch(QUEUE_ARN, tuple(record(f"m-{n}") for n in (1, 2, 3, 2)))

    assert partial_batch_response(batch, ["m-2", "m-1", "m-2"]) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]
    }
    assert partial_batch_response(batch, []) == {"batchItemFailures": []}
    every = partial_batch_response(batch, ["m-3", "m-2", "m-1"])
    assert [item["itemIdentifier"] for item in every["batchItemFailures"]] == ["m-1", "m-2", "m-3"]


def test_an_id_that_is_not_in_the_batch_is_never_answered() -> None:
    # Lambda would take it for "the whole batch failed"; a mismatch means something else
    # went wrong, and answering without it could delete a record that was not done.
    batch = SqsBatch(QUEUE_ARN, (record("m-1"),))
    with pytest.raises(ValueError, match="not in the batch"):
        partial_batch_response(batch, ["m-1", "m-9"])


# ---- ReportBatchItemFailures on the mapping ----------------------------------------------


class FakeLambda:
    def __init__(self, pages: list[list[dict[str, Any]]], error: Optional[Exception] = None):
        self.pages = pages
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def list_event_source_mappings(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        index = int(request.get("Marker", "0"))
        answer: dict[str, Any] = {"EventSourceMappings": self.pages[index]}
        if index + 1 < len(self.pages):
            answer["NextMarker"] = str(index + 1)
        return answer


def mapping(function: str, types: Optional[list[str]] = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "EventSourceArn": QUEUE_ARN,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
    }
    if types is not None:
        value["FunctionResponseTypes"] = types
    return value


def test_every_mapping_to_this_function_must_report_item_failures() -> None:
    reporting = ["ReportBatchItemFailures"]
    enabled = FakeLambda([[mapping("other")], [mapping("redrive:live", reporting)]])
    assert (
        item_failure_reporting(lambda: enabled, QUEUE_ARN, "redrive")
        is ItemFailureReporting.ENABLED
    )
    assert enabled.requests == [
        {"EventSourceArn": QUEUE_ARN},
        {"EventSourceArn": QUEUE_ARN, "Marker": "1"},
    ]
    missing = FakeLambda([[mapping("redrive", reporting), mapping("redrive")]])
    assert (
        item_failure_reporting(lambda: missing, QUEUE_ARN, "redrive")
        is ItemFailureReporting.MISSING
    )
    none = FakeLambda([[mapping("other")]])
    assert (
        item_failure_reporting(lambda: none, QUEUE_ARN, "redrive") is ItemFailureReporting.UNKNOWN
    )
    denied = FakeLambda([], error=RuntimeError("AccessDenied"))
    assert (
        item_failure_reporting(lambda: denied, QUEUE_ARN, "redrive") is ItemFailureReporting.UNKNOWN
    )


# ---- what an invocation that fails logs ---------------------------------------------


def test_a_failed_invocation_logs_why_and_never_the_text_of_an_unknown_error() -> None:
    lines: list[dict[str, Any]] = []

    def broken(_settings: FunctionSettings) -> Any:
        raise RuntimeError("a body: {'card': '4111'}")

    function = Function(FunctionSettings(), broken, lines.append)
    with pytest.raises(RuntimeError):
        function.handle({"Records": [record("m-1")]}, None)
    with pytest.raises(UnknownEvent):
        function.handle({"ping": 1}, None)

    assert lines[0] == {"redrive": "failed", "request_id": None, "error": {"code": "RuntimeError"}}
    assert (lines[1]["redrive"], lines[1]["error"]["code"]) == ("refused", "UnknownEvent")
    assert "expected an SQS batch" in lines[1]["error"]["message"]


# ---- the time a scheduled run may take ------------------------------------------------


def test_a_scheduled_run_stops_receiving_well_inside_the_function_timeout() -> None:
    assert run_seconds(60_000, 1, None) == 50.0  # the 10 s minimum margin
    assert run_seconds(900_000, 1, None) == 810.0  # a tenth of a long timeout
    assert run_seconds(60_000, 20, None) == 35.0  # a long poll in flight, plus 5 s
    assert run_seconds(60_000, 1, 12.0) == 12.0  # MAX_SECONDS when it is shorter
    assert run_seconds(None, 1, 30.0) == 30.0  # no context: MAX_SECONDS alone
    with pytest.raises(UnsafeSetup, match="raise the function's timeout"):
        run_seconds(10_500, 1, None)
    with pytest.raises(LambdaSettingsError, match="MAX_SECONDS is not set"):
        run_seconds(None, 1, None)


def test_a_batch_stops_sending_well_inside_the_function_timeout() -> None:
    assert batch_seconds(60_000) == 54.0  # the 6 s of a tenth
    assert batch_seconds(900_000) == 810.0
    assert batch_seconds(8_000) == 3.0  # the 5 s minimum margin
    assert batch_seconds(None) is None  # no context, no bound
    with pytest.raises(UnsafeSetup, match="raise the function's timeout"):
        batch_seconds(3_000)  # Lambda's default timeout


# ---- documentation ---------------------------------------------------------------------


def test_the_readme_lists_every_setting_as_the_options_define_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
