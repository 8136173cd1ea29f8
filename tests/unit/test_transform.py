"""What EventBridge delivers to a rule target.

Every expected output here comes from the AWS documentation, cited per test:
- UG: Amazon EventBridge User Guide, "Amazon EventBridge input transformation"
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
- API: EventBridge API Reference, "Target" and "InputTransformer"
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
"""

from __future__ import annotations

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.transform import (
    PathError,
    resolve_path,
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
