"""Event patterns: the AWS documentation's examples, every operator, malformed patterns.

Pages cited (EventBridge user guide unless said otherwise):
  EVENT_PATTERNS  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
  SYNTAX          https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
  OPERATORS       https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  FILTERING       https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
                  (the older "Content filtering" page, with its own examples)
  ARRAYS          https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
  NULLS           https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
  BEST_PRACTICES  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-patterns-best-practices.html
  TEST_API        https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
  RULER           https://github.com/aws/event-ruler/blob/main/README.md — the matching engine
                  AWS publishes for EventBridge; its README documents arrays of objects,
                  `$or` and wildcard escapes in more detail than the user guide.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils.patterns import (
    ABSENT,
    EventPattern,
    Mismatch,
    PatternError,
)
from tests.support.events import custom_event, s3_cloudtrail_event


def matches(pattern: Any, event: dict[str, Any]) -> bool:
    return EventPattern.parse(pattern).matches(event)


# EVENT_PATTERNS: the EC2 state-change event and the pattern selecting terminations.
EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}
EC2_TERMINATED = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["terminated"]},
}

# RULER: the sample event its examples (and FILTERING's numeric ones) are written for.
RULER_EVENT = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

# NULLS: the Auto Scaling event with an empty string and a null.
NULLS_EVENT = {
    "version": "0",
    "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling",
    "account": "123456789012",
    "time": "2015-11-11T21:31:47Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"eventVersion": "", "responseElements": None},
}


def _with(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**event, **fields}


def _detail(event: dict[str, Any], **detail: Any) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], **detail}}


DOCUMENTED = [
    # EVENT_PATTERNS: matches the termination, not another state or source.
    ("event-patterns termination", EC2_TERMINATED, EC2_EVENT, True),
    ("event-patterns running", EC2_TERMINATED, _detail(EC2_EVENT, state="running"), False),
    ("event-patterns other source", EC2_TERMINATED, _with(EC2_EVENT, source="aws.s3"), False),
    # SYNTAX: "the event must contain all the field names listed in the event pattern".
    (
        "syntax all fields needed",
        EC2_TERMINATED,
        {k: v for k, v in EC2_EVENT.items() if k != "detail-type"},
        False,
    ),
    # SYNTAX: "source" is either "aws.ec2" or "aws.fargate".
    ("syntax any of ec2", {"source": ["aws.ec2", "aws.fargate"]}, EC2_EVENT, True),
    (
        "syntax any of fargate",
        {"source": ["aws.ec2", "aws.fargate"]},
        _with(EC2_EVENT, source="aws.fargate"),
        True,
    ),
    (
        "syntax any of neither",
        {"source": ["aws.ec2", "aws.fargate"]},
        _with(EC2_EVENT, source="aws.s3"),
        False,
    ),
    # ARRAYS: the pattern's first ARN is the event's second.
    (
        "arrays intersection",
        {
            "resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
            ]
        },
        _with(
            EC2_EVENT,
            resources=[
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-"
                "b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            ],
        ),
        True,
    ),
    (
        "arrays no intersection",
        {"resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
        _with(EC2_EVENT, resources=["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]),
        False,
    ),
    # NULLS: an empty string and a null each match themselves, never each other.
    ("nulls empty string", {"detail": {"eventVersion": [""]}}, NULLS_EVENT, True),
    ("nulls null", {"detail": {"responseElements": [None]}}, NULLS_EVENT, True),
    ("nulls null is not empty", {"detail": {"eventVersion": [None]}}, NULLS_EVENT, False),
    ("nulls empty is not null", {"detail": {"responseElements": [""]}}, NULLS_EVENT, False),
    # TEST_API: "EventBridge uses an exact match in event patterns": ':' and '/' differ in ARNs.
    (
        "test-api arn exact",
        {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance:i-1234567890abcdef0"]},
        EC2_EVENT,
        False,
    ),
    # FILTERING: prefix on "time".
    ("filtering prefix time", {"time": [{"prefix": "2017-10-02"}]}, RULER_EVENT, True),
    ("filtering prefix other day", {"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT, False),
    # FILTERING: Auto Scaling events from European regions.
    (
        "filtering prefix eu",
        {"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]},
        _with(NULLS_EVENT, region="eu-west-1"),
        True,
    ),
    (
        "filtering prefix not eu",
        {"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]},
        NULLS_EVENT,
        False,
    ),
    # FILTERING: everything but CloudTrail API calls; everything but EC2 and S3; not aws.*.
    (
        "filtering anything-but cloudtrail",
        {"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]},
        EC2_EVENT,
        True,
    ),
    (
        "filtering anything-but cloudtrail excluded",
        {"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]},
        s3_cloudtrail_event(),
        False,
    ),
    (
        "filtering anything-but ec2 s3",
        {"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]},
        NULLS_EVENT,
        True,
    ),
    (
        "filtering anything-but ec2 s3 excluded",
        {"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]},
        EC2_EVENT,
        False,
    ),
    (
        "filtering anything-but prefix aws",
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        custom_event(),
        True,
    ),
    (
        "filtering anything-but prefix aws excluded",
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        EC2_EVENT,
        False,
    ),
    # FILTERING and RULER: numeric matching is true for all the fields.
    (
        "filtering numeric all",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        RULER_EVENT,
        True,
    ),
    (
        "filtering numeric one fails",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        _detail(RULER_EVENT, **{"c-count": 6}),
        False,
    ),
    # FILTERING: exists false matches an event without detail.c-count ...
    (
        "filtering exists false absent",
        {"detail": {"c-count": [{"exists": False}]}},
        {
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
            "detail": {"state": ["initializing", "running"]},
        },
        True,
    ),
    # ... and one where c-count is an object, because "exists matching only works on leaf nodes".
    (
        "filtering exists false intermediate node",
        {"detail": {"c-count": [{"exists": False}]}},
        {
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
            "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}},
        },
        True,
    ),
    (
        "filtering exists false present",
        {"detail": {"c-count": [{"exists": False}]}},
        RULER_EVENT,
        False,
    ),
    # FILTERING: select the events that have a description field.
    (
        "filtering exists true",
        {"detail": {"description": [{"exists": True}]}},
        _detail(EC2_EVENT, description="an instance"),
        True,
    ),
    (
        "filtering exists true absent",
        {"detail": {"description": [{"exists": True}]}},
        EC2_EVENT,
        False,
    ),
    # FILTERING and RULER: the complex example combining prefix, anything-but, numeric and cidr.
    (
        "filtering complex",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        RULER_EVENT,
        True,
    ),
    (
        "filtering complex initializing",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
            },
        },
        _detail(RULER_EVENT, state="initializing"),
        False,
    ),
    # BEST_PRACTICES: two services, each with its own event names, under one detail-type.
    *[
        (
            f"best-practices or {source} {name}",
            {
                "detail-type": ["AWS API Call via CloudTrail"],
                "$or": [
                    {
                        "source": ["aws.sqs"],
                        "detail": {"eventName": ["CreateQueue", "SetQueueAttributes"]},
                    },
                    {
                        "source": ["aws.kms"],
                        "detail": {"eventName": ["CreateKey", "DisableKeyRotation"]},
                    },
                ],
            },
            s3_cloudtrail_event(source=source, detail={"eventName": name}),
            expected,
        )
        for source, name, expected in [
            ("aws.sqs", "CreateQueue", True),
            ("aws.kms", "DisableKeyRotation", True),
            ("aws.sqs", "CreateKey", False),  # a KMS name under the SQS source
            ("aws.s3", "CreateQueue", False),
        ]
    ],
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [case[1:] for case in DOCUMENTED],
    ids=[case[0] for case in DOCUMENTED],
)
def test_documented_examples(
    pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    assert matches(pattern, event) is expected
    assert matches(json.dumps(pattern), event) is expected


# OPERATORS: the summary table, one row each, with an event that matches and one that does not.
OPERATOR_TABLE = [
    (
        "and",
        {"Location": ["New York"], "Day": ["Monday"]},
        {"Location": "New York", "Day": "Monday"},
        {"Location": "New York", "Day": "Tuesday"},
    ),
    (
        "anything-but",
        {"state": [{"anything-but": "initializing"}]},
        {"state": "running"},
        {"state": "initializing"},
    ),
    (
        "anything-but begins with",
        {"Region": [{"anything-but": {"prefix": "us-"}}]},
        {"Region": "eu-west-1"},
        {"Region": "us-east-1"},
    ),
    (
        "anything-but ends with",
        {"FileName": [{"anything-but": {"suffix": ".png"}}]},
        {"FileName": "a.jpg"},
        {"FileName": "a.png"},
    ),
    (
        "anything-but ignore case",
        {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        {"state": "running"},
        {"state": "INITIALIZING"},
    ),
    (
        "anything-but wildcard",
        {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"FilePath": "/usr/bin/tool"},
        {"FilePath": "/usr/lib/libc.so"},
    ),
    (
        "begins with",
        {"Region": [{"prefix": "us-"}]},
        {"Region": "us-east-1"},
        {"Region": "eu-west-1"},
    ),
    (
        "begins with ignore case",
        {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]},
        {"service": "EventBridge"},
        {"service": "Lambda"},
    ),
    ("empty", {"LastName": [""]}, {"LastName": ""}, {"LastName": "Doe"}),
    ("equals", {"Name": ["Alice"]}, {"Name": "Alice"}, {"Name": "alice"}),
    (
        "equals ignore case",
        {"Name": [{"equals-ignore-case": "alice"}]},
        {"Name": "ALICE"},
        {"Name": "Alicia"},
    ),
    ("ends with", {"FileName": [{"suffix": ".png"}]}, {"FileName": "a.png"}, {"FileName": "a.PNG"}),
    (
        "ends with ignore case",
        {"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]},
        {"service": "EVENTBRIDGE"},
        {"service": "EventBus"},
    ),
    ("exists", {"ProductName": [{"exists": True}]}, {"ProductName": "tea"}, {"Product": "tea"}),
    (
        "does not exist",
        {"ProductName": [{"exists": False}]},
        {"Product": "tea"},
        {"ProductName": "tea"},
    ),
    (
        "not",
        {"Weather": [{"anything-but": ["Raining"]}]},
        {"Weather": "Sunny"},
        {"Weather": "Raining"},
    ),
    ("null", {"UserID": [None]}, {"UserID": None}, {"UserID": "u-1"}),
    ("numeric equals", {"Price": [{"numeric": ["=", 100]}]}, {"Price": 100}, {"Price": 100.5}),
    ("numeric range", {"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20}, {"Price": 10}),
    ("or", {"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, {"PaymentType": "Cash"}),
    (
        "or multiple fields",
        {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
        {"Location": "Paris", "Day": "Monday"},
        {"Location": "Paris", "Day": "Sunday"},
    ),
    (
        "wildcard",
        {"FileName": [{"wildcard": "dir/*.png"}]},
        {"FileName": "dir/photo.png"},
        {"FileName": "other/photo.png"},
    ),
]


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [row[1:] for row in OPERATOR_TABLE],
    ids=[row[0] for row in OPERATOR_TABLE],
)
def test_operator_table(
    pattern: dict[str, Any], matching: dict[str, Any], other: dict[str, Any]
) -> None:
    assert matches(pattern, matching)
    assert not matches(pattern, other)


# OPERATORS, section by section: examples with several events each.
SECTIONS = [
    # "Prefix matching while ignoring case": EventB, EVENTB, eventb ...
    (
        {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        ["EventBridge", "EVENTBRIDGE", "eventbus"],
        ["Event", "SNS"],
    ),
    # "Suffix matching": "FileName" ends with .png.
    ({"FileName": [{"suffix": ".png"}]}, ["image.png", ".png"], ["image.PNG", "image.png.txt"]),
    # "Suffix matching while ignoring case".
    (
        {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]},
        ["image.png", "image.PNG", "a.Png"],
        ["image.jpg"],
    ),
    # "Anything-but matching": a list of strings ...
    ({"state": [{"anything-but": ["stopped", "overloaded"]}]}, ["running", "Stopped"], ["stopped"]),
    # ... a single number and a list of numbers ...
    ({"x-limit": [{"anything-but": 123}]}, [122, 123.5], [123, 123.0]),
    ({"x-limit": [{"anything-but": [100, 200, 300]}]}, [150, 301.8], [100, 200.0, 300]),
    # ... a prefix, a suffix ...
    (
        {"state": [{"anything-but": {"prefix": "init"}}]},
        ["running", "pending-init"],
        ["initializing"],
    ),
    ({"FileName": [{"anything-but": {"suffix": ".txt"}}]}, ["notes.md"], ["notes.txt"]),
    # ... ignoring case, for a list ...
    (
        {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]},
        ["running"],
        ["stopped", "OVERLOADED"],
    ),
    # ... and wildcards, one or a list.
    (
        {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]},
        ["/usr/share/doc"],
        ["/usr/lib/x", "/usr/bin/y"],
    ),
    # "IP address matching": 10.0.0.0/24 is 10.0.0.0 to 10.0.0.255.
    (
        {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]},
        ["10.0.0.0", "10.0.0.7", "10.0.0.255"],
        ["10.0.1.0", "9.255.255.255", "10.0.0.256", "host"],
    ),
    # ... "for IPv4 and IPv6 addresses".
    (
        {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]},
        ["2001:db8::1", "2001:0db8:ffff::"],
        ["2001:db9::1", "10.0.0.1"],
    ),
    # "Equals-ignore-case matching".
    (
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        ["EC2 Instance State-change Notification"],
        ["EC2 Instance Launch Successful"],
    ),
    # "Wildcard matching": any number of *, each matching any characters, even none.
    (
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        [
            "arn:aws:events:us-east-1:123456789012:event-bus/orders",
            "arn:aws:events:us-east-1::event-bus/",
        ],
        ["arn:aws:events:us-west-2:123456789012:event-bus/orders"],
    ),
    (
        {"FileName": [{"wildcard": "dir/*.png"}]},
        ["dir/a.png", "dir/sub/a.png", "dir/.png"],
        ["dir/a.png.bak", "dir/a.jpg"],
    ),
    # RULER: "Simple*Service".
    (
        {"source": [{"wildcard": "Simple*Service"}]},
        ["SimpleService", "SimpleQueueService"],
        ["SimpleQueue", "simpleService"],
    ),
]


@pytest.mark.parametrize(("pattern", "good", "bad"), SECTIONS)
def test_operator_sections(pattern: dict[str, Any], good: list[Any], bad: list[Any]) -> None:
    compiled = EventPattern.parse(pattern)
    (field,) = pattern
    for value in good:
        assert compiled.matches({field: value}), value
    for value in bad:
        assert not compiled.matches({field: value}), value


CLOUDWATCH = {"source": "aws.cloudwatch", "metricName": "CPUUtilization", "namespace": "AWS/RDS"}


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        # RULER, "$or": source && (metricName || namespace).
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [
                    {"metricName": ["CPUUtilization", "ReadLatency"]},
                    {"namespace": ["AWS/EC2", "AWS/ES"]},
                ],
            },
            CLOUDWATCH,
            True,
        ),
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [{"metricName": ["ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}],
            },
            CLOUDWATCH,
            False,
        ),
        # Parallel "$or": (metricName || namespace) && (detail.source || detail.detail-type).
        (
            {
                "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
                "detail": {
                    "$or": [
                        {"source": ["aws.cloudwatch"]},
                        {"detail-type": ["CloudWatch Alarm State Change"]},
                    ]
                },
            },
            {**CLOUDWATCH, "detail": {"detail-type": "CloudWatch Alarm State Change"}},
            True,
        ),
        (
            {
                "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
                "detail": {
                    "$or": [
                        {"source": ["aws.cloudwatch"]},
                        {"detail-type": ["CloudWatch Alarm State Change"]},
                    ]
                },
            },
            {**CLOUDWATCH, "detail": {"detail-type": "Other"}},
            False,
        ),
        # "$or" with an "and" inside, and nested "$or" and "and".
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [
                    {"metricName": ["ReadLatency"]},
                    {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
                    {"scope": ["Service"]},
                ],
            },
            {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"},
            True,
        ),
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [
                    {"metricName": ["ReadLatency"]},
                    {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
                ],
            },
            {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/RDS"},
            False,
        ),
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [
                    {"metricName": ["CPUUtilization", "ReadLatency"]},
                    {
                        "metricType": ["MetricType"],
                        "namespace": ["AWS/EC2", "AWS/ES"],
                        "$or": [{"metricId": [1234]}, {"spaceId": [1000]}],
                    },
                    {"scope": ["Service"]},
                ],
            },
            {
                "source": "aws.cloudwatch",
                "metricType": "MetricType",
                "namespace": "AWS/EC2",
                "spaceId": 1000,
            },
            True,
        ),
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [
                    {"metricName": ["ReadLatency"]},
                    {
                        "metricType": ["MetricType"],
                        "namespace": ["AWS/EC2", "AWS/ES"],
                        "$or": [{"metricId": [1234]}, {"spaceId": [1000]}],
                    },
                ],
            },
            {
                "source": "aws.cloudwatch",
                "metricType": "MetricType",
                "namespace": "AWS/EC2",
                "spaceId": 1001,
            },
            False,
        ),
        # OPERATORS, "$or" on numeric conditions inside detail.
        (
            {
                "detail": {
                    "$or": [
                        {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                        {"d-count": [{"numeric": ["<", 10]}]},
                        {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                    ]
                }
            },
            {"detail": {"c-count": 50, "d-count": 50, "x-limit": 301.8}},
            True,
        ),
        (
            {
                "detail": {
                    "$or": [
                        {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                        {"d-count": [{"numeric": ["<", 10]}]},
                    ]
                }
            },
            {"detail": {"c-count": 50, "d-count": 50}},
            False,
        ),
    ],
)
def test_or(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected


EMPLOYEES = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}


def test_arrays_of_objects() -> None:
    # RULER, "JSON Array Matching": the array is crushed out of the pattern ...
    assert matches({"employees": {"firstName": ["Anna"]}}, EMPLOYEES)
    # ... but two fields never come from different elements of the same array.
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES)
    assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES)
    # ... and it works for multi-level arrays too.
    nested = {"employees": [EMPLOYEES["employees"][:2], EMPLOYEES["employees"][2:]]}
    assert matches({"employees": {"firstName": ["Peter"]}}, nested)
    assert not matches({"employees": {"firstName": ["Peter"], "lastName": ["Doe"]}}, nested)
    # exists:false under an array of objects follows the same rule: one element, all of it.
    assert matches({"employees": {"middleName": [{"exists": False}]}}, EMPLOYEES)
    assert not matches({"employees": {"firstName": [{"exists": False}]}}, EMPLOYEES)
    # A realistic one: the custom shop event's items.
    order = custom_event()
    assert matches(
        {"detail": {"items": {"sku": ["TEA-001"], "qty": [{"numeric": [">=", 2]}]}}}, order
    )
    assert not matches(
        {"detail": {"items": {"sku": ["TEA-001"], "qty": [{"numeric": [">", 2]}]}}}, order
    )


def test_arrays_of_values() -> None:
    pattern = EventPattern.parse({"tags": ["red"], "sizes": [{"numeric": [">", 10]}]})
    assert pattern.matches({"tags": ["blue", "red"], "sizes": [3, 12]})
    assert pattern.matches({"tags": [["blue"], ["red"]], "sizes": [[3], [12]]})  # nested arrays
    assert not pattern.matches({"tags": ["blue"], "sizes": [12]})
    assert not pattern.matches({"tags": ["red"], "sizes": [3, "12"]})
    # anything-but holds when any element is not excluded (each element is a value).
    assert matches({"state": [{"anything-but": "a"}]}, {"state": ["a", "b"]})
    assert not matches({"state": [{"anything-but": "a"}]}, {"state": ["a", "a"]})


def test_leaves_objects_and_empty_arrays() -> None:
    """Only leaves hold values: an object or an empty array is absent for a leaf condition."""
    exists, absent = (
        EventPattern.parse({"x": [{"exists": True}]}),
        EventPattern.parse({"x": [{"exists": False}]}),
    )
    for holder in ({"x": {"y": 1}}, {"x": {}}, {"x": []}, {"x": [{"y": 1}]}, {}):
        assert not exists.matches(holder), holder
        assert absent.matches(holder), holder
    for holder in (
        {"x": None},
        {"x": ""},
        {"x": 0},
        {"x": False},
        {"x": [None]},
        {"x": ["a", {"y": 1}]},
    ):
        assert exists.matches(holder), holder
        assert not absent.matches(holder), holder
    # exists:false under a missing parent: the field is absent too (FILTERING's first example).
    assert matches({"detail": {"a": {"b": [{"exists": False}]}}}, {"source": "x"})
    assert matches({"detail": {"a": {"b": [{"exists": False}]}}}, {"detail": {"a": "scalar"}})
    assert not matches({"detail": {"a": {"b": [{"exists": True}]}}}, {"detail": {"a": "scalar"}})
    # An object pattern against a value that is not an object.
    assert not matches({"detail": {"state": ["x"]}}, {"detail": "x"})
    assert not matches({"detail": ["x"]}, {"detail": {"x": 1}})


def test_json_types_stay_apart() -> None:
    """Strings, numbers, booleans and null are distinct; 5 and 5.0 are one number."""
    assert matches({"n": [5]}, {"n": 5.0}) and matches({"n": [5.0]}, {"n": 5})
    assert matches({"n": [3.018e2]}, {"n": 301.8})
    assert not matches({"n": [5]}, {"n": "5"})
    assert not matches({"n": ["5"]}, {"n": 5})
    assert not matches({"n": [1]}, {"n": True})
    assert not matches({"n": [True]}, {"n": 1})
    assert not matches({"n": [0]}, {"n": False})
    assert matches({"n": [True]}, {"n": True}) and not matches({"n": [False]}, {"n": True})
    assert not matches({"n": [None]}, {"n": False}) and not matches({"n": [None]}, {})
    # Exact numbers are not limited to the numeric range: account ids are numbers too.
    assert matches({"account": [123456789012]}, {"account": 123456789012})
    assert not matches({"account": [123456789012]}, {"account": "123456789012"})


def test_numeric() -> None:
    at_most_five = EventPattern.parse({"n": [{"numeric": ["<=", 5]}]})
    assert at_most_five.matches({"n": 5}) and at_most_five.matches({"n": -4.5e9})
    assert not at_most_five.matches({"n": 5.000001})
    # Numbers only: not a numeric string, not a boolean ("true is not a number").
    positive = EventPattern.parse({"n": [{"numeric": [">", 0]}]})
    for value in ("1", True, None, [True], {"v": 1}):
        assert not positive.matches({"n": value}), value
    # "limited to values between -5.0e9 and +5.0e9 inclusive" (FILTERING).
    assert positive.matches({"n": 5e9}) and not positive.matches({"n": 5e9 + 1})
    assert not at_most_five.matches({"n": -5e9 - 1})
    assert matches({"n": [{"numeric": [">=", 0, "<", 1]}]}, {"n": 0})
    assert not matches({"n": [{"numeric": [">=", 0, "<", 1]}]}, {"n": 1})
    assert matches({"n": [{"numeric": ["=", 0]}]}, {"n": -0.0})


# FILTERING: numeric matching works "with 15 digits of precision, or six digits to the
# right of the decimal point"; digits past the sixth decimal are not compared.
@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ([{"numeric": [">", 5]}], 5.0000001, False),
        ([{"numeric": [">", 5]}], 5.000001, True),
        ([{"numeric": [">=", 5, "<", 6]}], 5.9999999, True),
        ([{"numeric": ["<", 5]}], 4.9999999, True),
        ([{"numeric": ["=", 0.3]}], 0.1 + 0.2, True),
        ([{"numeric": ["=", 0.3]}], 0.3000001, True),
        ([{"numeric": ["=", 0.3]}], 0.300001, False),
        ([0.3], 0.1 + 0.2, True),
        ([0.3], 0.3000009, True),
        ([0.3], 0.300001, False),
        ([{"anything-but": 0.3}], 0.1 + 0.2, False),
        ([{"anything-but": [0.3, 7]}], 0.300001, True),
        # 15 significant digits: millionths of a number near the limit still count.
        ([{"numeric": [">", 4999999999.999998]}], 4999999999.999999, True),
        ([{"numeric": ["=", -1.5]}], -1.5000001, True),
        ([{"numeric": ["=", -1.5]}], -1.500001, False),
    ],
)
def test_numbers_compare_to_six_decimal_places(pattern: Any, value: float, expected: bool) -> None:
    assert matches({"n": pattern}, {"n": value}) is expected
    assert matches({"n": pattern}, {"n": [value]}) is expected  # inside an array the same


@pytest.mark.parametrize(
    "pattern",
    [
        {"n": [{"numeric": [">", 5e9 + 1]}]},
        {"n": [{"numeric": [">", -1, "<", 6e9]}]},
        {"n": [{"anything-but": [-5.0000001e9]}]},
    ],
)
def test_numeric_operands_beyond_the_documented_range_are_refused(pattern: Any) -> None:
    # "limited to values between -5.0e9 and +5.0e9 inclusive" (FILTERING).
    with pytest.raises(PatternError, match=r"outside -5e9\.\.5e9"):
        EventPattern.parse(pattern)


def test_event_numbers_beyond_the_documented_range_never_compare() -> None:
    anything_positive = EventPattern.parse({"n": [{"numeric": [">", 0]}]})
    anything_negative = EventPattern.parse({"n": [{"numeric": ["<", 0]}]})
    assert anything_positive.matches({"n": 5e9})
    assert not anything_positive.matches({"n": 5e9 + 0.000001})
    assert not anything_positive.matches({"n": 1e300})
    assert not anything_negative.matches({"n": -6e9})
    # An exact value is not a numeric comparison: large ids still match exactly.
    assert matches({"n": [123456789012]}, {"n": 123456789012.0})
    # A value JSON cannot hold is no number to compare.
    assert not anything_positive.matches({"n": float("inf")})


def test_ip_addresses() -> None:
    # An exact IP address compares as an address, as EventBridge's engine does.
    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:0DB8:0:0::1"})
    assert not matches({"ip": ["2001:db8::1"]}, {"ip": "2001:db8::2"})
    # Host bits below the prefix length do not narrow the block.
    assert matches({"ip": [{"cidr": "10.0.0.77/24"}]}, {"ip": "10.0.0.1"})
    assert matches({"ip": [{"cidr": "192.168.1.1/32"}]}, {"ip": "192.168.1.1"})
    assert not matches({"ip": [{"cidr": "192.168.1.1/32"}]}, {"ip": "192.168.1.2"})
    assert not matches({"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": "::1"})
    assert not matches({"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": 167772161})


def test_wildcard_escapes() -> None:
    # RULER: \* is a literal asterisk and \\ a literal backslash.
    star = EventPattern.parse({"f": [{"wildcard": "a\\*b*"}]})
    assert star.matches({"f": "a*b"}) and star.matches({"f": "a*bcd"})
    assert not star.matches({"f": "axb"})
    backslash = EventPattern.parse({"f": [{"wildcard": "C:\\\\*"}]})
    assert backslash.matches({"f": "C:\\Users"}) and not backslash.matches({"f": "C:/Users"})
    # Pieces are found in order, and the head and tail do not overlap.
    assert matches({"f": [{"wildcard": "ab*ba"}]}, {"f": "abba"})
    assert not matches({"f": [{"wildcard": "ab*ba"}]}, {"f": "aba"})
    assert matches({"f": [{"wildcard": "*a*b*c*"}]}, {"f": "xaybzc"})
    assert not matches({"f": [{"wildcard": "*a*b*c*"}]}, {"f": "cba"})
    assert matches({"f": [{"wildcard": "*"}]}, {"f": ""})
    assert not matches({"f": [{"wildcard": "*"}]}, {"f": 5})


def test_operators_on_other_types() -> None:
    """String operators never match numbers, booleans or null; anything-but does."""
    for operator in (
        {"prefix": "1"},
        {"suffix": "1"},
        {"equals-ignore-case": "1"},
        {"wildcard": "*"},
        {"cidr": "0.0.0.0/0"},
    ):
        for value in (1, True, None):
            assert not matches({"v": [operator]}, {"v": value}), (operator, value)
    for operator in (
        {"anything-but": "x"},
        {"anything-but": {"prefix": "x"}},
        {"anything-but": [7]},
    ):
        for value in (1, True, None, "y"):
            assert matches({"v": [operator]}, {"v": value}), (operator, value)
        assert not matches({"v": [operator]}, {}), operator


def test_the_seed_case_and_realistic_events() -> None:
    rule = EventPattern.parse('{"source": ["aws.s3"]}')
    original = s3_cloudtrail_event()
    redriven = {**original, "source": "redrive.aws.s3"}
    assert rule.matches(original) and rule.mismatch(original) is None
    mismatch = rule.mismatch(redriven)
    assert mismatch == Mismatch("source", "redrive.aws.s3", "[aws.s3]")
    assert str(mismatch) == "source: redrive.aws.s3 not in [aws.s3]"
    # Japanese text in the custom events matches as text.
    assert matches(
        {"detail-type": ["注文確定"], "detail": {"customer": {"name": [{"prefix": "山田"}]}}},
        custom_event(),
    )


@pytest.mark.parametrize(
    ("pattern", "event", "text"),
    [
        (
            {"detail": {"state": [{"exists": True}]}},
            {"detail": {}},
            "detail.state: absent, expected exists",
        ),
        (
            {"detail": {"state": [{"exists": False}]}},
            {"detail": {"state": "x"}},
            "detail.state: x, expected absent",
        ),
        (
            {"detail": {"state": ["running"]}},
            {"source": "x"},
            "detail.state: absent, expected [running]",
        ),
        (
            {"detail": {"c-count": [{"exists": True}]}},
            {"detail": {"c-count": {"c1": 100}}},
            'detail.c-count: {"c1":100}, expected exists',
        ),
        (
            {"detail": {"amount": [{"numeric": [">", 0, "<=", 5]}, 7]}},
            {"detail": {"amount": 6}},
            "detail.amount: 6 not in [numeric > 0 <= 5, 7]",
        ),
        (
            {"region": [{"anything-but": {"prefix": "us-"}}, {"wildcard": "eu-*-1"}]},
            {"region": "us-east-1"},
            "region: us-east-1 not in [anything-but prefix us-, wildcard eu-*-1]",
        ),
        (
            {"service": [{"prefix": {"equals-ignore-case": "eventb"}}, None, True]},
            {"service": "sns"},
            "service: sns not in [prefix eventb (ignoring case), null, true]",
        ),
        (
            {"resources": ["arn:x"]},
            {"resources": ["arn:a", "arn:b"]},
            "resources: [arn:a, arn:b] not in [arn:x]",
        ),
        (
            {"source": ["aws.s3"], "$or": [{"a": ["1"]}, {"b": ["2"]}, {"c": ["3"]}]},
            {"source": "aws.s3", "a": "0"},
            "a: 0 not in [1] (none of the 3 $or alternatives matched; first shown)",
        ),
        (
            {"detail": {"items": {"sku": ["TEA-002"]}}},
            custom_event(),
            "detail.items.sku: TEA-001 not in [TEA-002]",
        ),
        (
            {"note": [{"suffix": "!"}]},
            {"note": "x" * 100},
            "note: " + "x" * 59 + "… not in [suffix !]",
        ),
    ],
)
def test_mismatch_text(pattern: dict[str, Any], event: dict[str, Any], text: str) -> None:
    compiled = EventPattern.parse(pattern)
    assert not compiled.matches(event)
    found = compiled.mismatch(event)
    assert found is not None and str(found) == text
    assert "\n" not in text


def test_mismatch_fields_and_order() -> None:
    pattern = EventPattern.parse({"source": ["a"], "detail": {"state": ["on"]}})
    # Fields are checked in the pattern's order: the first that fails is reported.
    found = pattern.mismatch({"source": "b", "detail": {"state": "off"}})
    assert found == Mismatch("source", "b", "[a]")
    found = pattern.mismatch({"source": "a"})
    assert found is not None and found.path == "detail.state" and found.value is ABSENT
    assert pattern.mismatch({"source": "a", "detail": {"state": "on"}}) is None


MALFORMED = [
    # (pattern, error text) — each names the part that is wrong.
    ("[]", "pattern: must be a JSON object, got a list"),
    ('"source"', "pattern: must be a JSON object, got a string"),
    ("{", "pattern: not valid JSON"),
    ('{"a": [NaN]}', "pattern: NaN is not a JSON number"),
    ('{"a": ["x"], "a": ["y"]}', "pattern: field 'a' appears twice in one object"),
    ({}, "pattern: empty objects are not allowed"),
    ({1: ["x"]}, "pattern: field names are strings, got a number 1"),
    ({"d": {("a",): ["x"]}}, 'd: field names are strings, got a list ["a"]'),
    ({"detail": {}}, "detail: empty objects are not allowed"),
    (
        {"source": "aws.s3"},
        'source: must be a list of values or an object of fields, got a string "aws.s3"',
    ),
    ({"n": 5}, "n: must be a list of values or an object of fields, got a number 5"),
    ({"source": []}, "source: empty lists are not allowed"),
    (
        {"a": [["x"]]},
        'a: values are strings, numbers, booleans, null or operator objects, got a list ["x"]',
    ),
    ({"a": [{}]}, "a: an operator object needs one operator, got {}"),
    (
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "a: an operator object holds one operator, got prefix, suffix",
    ),
    ({"a": [{"contains": "x"}]}, "a: unknown operator 'contains' (known: anything-but, cidr, "),
    ({"a": [{"prefix": 5}]}, "a: prefix needs a string, got a number 5"),
    (
        {"a": [{"prefix": {"equals": "x"}}]},
        'a: prefix takes a string or {"equals-ignore-case": string}',
    ),
    (
        {"a": [{"suffix": {"equals-ignore-case": 1}}]},
        "a: suffix equals-ignore-case needs a string, got a number 1",
    ),
    (
        {"a": [{"equals-ignore-case": ["x"]}]},
        'a: equals-ignore-case needs a string, got a list ["x"]',
    ),
    (
        {"a": [{"wildcard": "a**b"}]},
        'a: wildcard "a**b": consecutive * are not allowed (position 2)',
    ),
    (
        {"a": [{"wildcard": "a\\b"}]},
        'a: wildcard "a\\\\b": a backslash escapes only * or \\ (position 1)',
    ),
    ({"a": [{"wildcard": "a\\"}]}, "a backslash escapes only * or \\ (position 1)"),
    ({"a": [{"wildcard": 1}]}, "a: wildcard needs a string, got a number 1"),
    ({"a": [{"anything-but": None}]}, "a: anything-but takes strings only or numbers only"),
    ({"a": [{"anything-but": [True]}]}, "a: anything-but takes strings only or numbers only"),
    ({"a": [{"anything-but": ["x", 1]}]}, 'got ["x", 1]'),
    ({"a": [{"anything-but": []}]}, "a: anything-but needs at least one value, got []"),
    ({"a": [{"anything-but": 6e9}]}, "a: anything-but: 6000000000.0 is outside -5e9..5e9"),
    ({"a": [{"anything-but": {"exists": True}}]}, "a: anything-but cannot take 'exists'"),
    ({"a": [{"anything-but": {"prefix": ""}}]}, "a: anything-but prefix needs a non-empty string"),
    (
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "a: anything-but suffix needs a non-empty string",
    ),
    (
        {"a": [{"anything-but": {"prefix": []}}]},
        "a: anything-but prefix needs at least one string, got []",
    ),
    ({"a": [{"anything-but": {"wildcard": "**"}}]}, 'a: anything-but wildcard "**": consecutive *'),
    (
        {"a": [{"anything-but": {"prefix": "x", "suffix": "y"}}]},
        "a: anything-but takes one nested operator",
    ),
    (
        {"detail": {"amount": [{"numeric": [">", "x"]}]}},
        "detail.amount: numeric needs operator/number pairs, got ['>', 'x']",
    ),
    (
        {"a": [{"numeric": [">", 1, "<"]}]},
        "a: numeric needs operator/number pairs, got ['>', 1, '<']",
    ),
    ({"a": [{"numeric": ">"}]}, "a: numeric needs operator/number pairs, got '>'"),
    ({"a": [{"numeric": [">", True]}]}, "a: numeric needs operator/number pairs, got ['>', True]"),
    ({"a": [{"numeric": ["!=", 1]}]}, "a: numeric: unknown operator '!=' (use =, <, <=, >, >=)"),
    (
        {"a": [{"numeric": ["<", 5, ">", 1]}]},
        "a: numeric: a range is a lower bound (> or >=) then an upper",
    ),
    ({"a": [{"numeric": [">", 5, "<", 5]}]}, "a: numeric: empty range, 5 is not below 5"),
    ({"a": [{"numeric": [">", 7, "<=", 2]}]}, "a: numeric: empty range, 7 is not below 2"),
    ({"a": [{"numeric": ["=", 5e9 + 1]}]}, "a: numeric: 5000000001.0 is outside -5e9..5e9"),
    ({"a": [{"exists": "true"}]}, 'a: exists needs true or false, got a string "true"'),
    ({"a": [{"cidr": "10.0.0.0"}]}, 'a: cidr needs address/prefix-length, got "10.0.0.0"'),
    ({"a": [{"cidr": "10.0.0.0/-1"}]}, 'a: cidr needs address/prefix-length, got "10.0.0.0/-1"'),
    (
        {"a": [{"cidr": "10.0.0.0/33"}]},
        "a: cidr: '10.0.0.0/33' does not appear to be an IPv4 or IPv6",
    ),
    ({"a": [{"cidr": "10.0.0/24"}]}, "a: cidr: '10.0.0/24' does not appear to be an IPv4 or IPv6"),
    ({"a": [{"cidr": "2001:db8::/129"}]}, "a: cidr: '2001:db8::/129' does not appear"),
    ({"a": [{"cidr": 10}]}, "a: cidr needs a string, got a number 10"),
    ({"$or": {"a": ["x"]}}, "$or: needs a list of pattern objects, got an object"),
    ({"$or": [{"a": ["x"]}]}, "$or: needs at least 2 pattern objects, got 1"),
    ({"d": {"$or": [{"a": ["x"]}, "b"]}}, 'd.$or[1]: must be a pattern object, got a string "b"'),
    ({"$or": [{"a": ["x"]}, {}]}, "$or[1]: empty objects are not allowed"),
    (
        {"$or": [{"a": ["x"]}, {"b": {"prefix": ["y"]}}]},
        "$or[1].b.prefix: 'prefix' is an operator name, not allowed as a field in $or",
    ),
    (
        {"$or": [{"a": ["x"]}, {"b": [{"numeric": ["<"]}]}]},
        "$or[1].b: numeric needs operator/number pairs",
    ),
    ({"a": ["x" * 4100]}, "pattern: 4110 characters, EventBridge takes at most 4096"),
]


@pytest.mark.parametrize(
    ("pattern", "text"), MALFORMED, ids=[str(i) for i in range(len(MALFORMED))]
)
def test_malformed_patterns(pattern: Any, text: str) -> None:
    with pytest.raises(PatternError) as raised:
        EventPattern.parse(pattern)
    assert text in str(raised.value)
    assert str(raised.value) == f"{raised.value.path}: {raised.value.problem}"
    assert isinstance(raised.value, ValueError)


def test_accepted_edge_patterns() -> None:
    """What AWS accepts stays accepted: bounds at the limits, empty prefix, one-element lists."""
    for pattern in (
        {"a": [{"numeric": [">=", -5e9, "<=", 5e9]}]},
        {"a": [{"prefix": ""}]},
        {"a": [{"wildcard": ""}]},
        {"a": [{"anything-but": "x"}], "b": [{"anything-but": [1.5]}]},
        {"a": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]},
        {"a": [None, True, False, 0, "", {"exists": True}]},
        {"prefix": ["a"], "numeric": ["b"]},  # operator names are fine as fields outside $or
        {"$or": [{"a": ["x"]}, {"b": ["y"]}], "c": {"$or": [{"d": [1]}, {"e": [2]}]}},
    ):
        assert isinstance(EventPattern.parse(pattern), EventPattern)
        assert isinstance(EventPattern.parse(json.dumps(pattern).encode()), EventPattern)


def test_events_are_mappings() -> None:
    pattern = EventPattern.parse({"a": ["x"]})
    with pytest.raises(TypeError):
        pattern.matches(["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pattern.mismatch("a")  # type: ignore[arg-type]


def test_python_mappings_and_sequences_count_as_json() -> None:
    """Events built in Python: any Mapping is an object, a tuple is an array."""
    event = MappingProxyType(
        {
            "detail": OrderedDict(
                items=({"sku": "A", "qty": 2}, (MappingProxyType({"sku": "B", "qty": 5}),)),
                tags=("red", ("blue",)),
            )
        }
    )
    assert matches({"detail": {"items": {"sku": ["B"], "qty": [5]}}}, event)
    assert not matches({"detail": {"items": {"sku": ["A"], "qty": [5]}}}, event)
    assert matches({"detail": {"tags": ["blue"]}}, event)
    assert not matches({"detail": {"items": [{"exists": True}]}}, event)  # only objects there
    assert matches(
        {"detail": {"tags": [{"exists": True}]}}, {"detail": {"tags": [OrderedDict(a=1), "x"]}}
    )
    assert not matches({"detail": {"tags": ["x"]}}, {"detail": {"tags": [OrderedDict(x=1)]}})


def test_long_values_against_ip_conditions() -> None:
    long_text = "10.0.0.1" + " " * 10_000
    assert not matches({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": long_text})
    assert not matches({"ip": ["10.0.0.1"]}, {"ip": long_text})
    longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
    assert matches({"ip": [{"cidr": "ffff:ffff:ffff:ffff:ffff:ffff::/96"}]}, {"ip": longest})
