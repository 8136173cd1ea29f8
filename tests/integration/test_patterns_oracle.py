"""Our event-pattern matcher against EventBridge as moto serves it over HTTP.

moto 5.2.5 answers TestEventPattern with an empty body (its handler is not
implemented), so the oracle here is moto's rule delivery: the pattern becomes a
rule on a bus of its own, the events go through PutEvents, and the events the
rule's SQS target received are the ones moto matched. That is the same matcher
TestEventPattern would use.

The property tests stay within the constructs where moto follows the AWS
documentation. `test_where_moto_differs_from_aws` lists, case by case, where
it does not; there our matcher answers as AWS documents, and that is on
purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.redrive.eventbridge.plugins.module_utils.patterns import (
    EventPattern,
    PatternError,
)
from tests.support.world import World

# A detail field the generated patterns never name: it tells delivered events apart.
SEQUENCE = "oracle-sequence"


class Oracle:
    """One rule on one bus, its pattern replaced for each question."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.bus = world.bus("patterns")
        self.rule = world.name("oracle")
        self.queue_url = world.queue("oracle-target")
        world.events.put_rule(
            Name=self.rule, EventBusName=self.bus, EventPattern=json.dumps({"source": ["x"]})
        )
        world.events.put_targets(
            Rule=self.rule,
            EventBusName=self.bus,
            Targets=[{"Id": "target", "Arn": world.queue_arn(self.queue_url)}],
        )

    def matched(self, pattern: Any, events: Sequence[dict[str, Any]]) -> list[bool]:
        """For each event (source, detail-type, resources, detail): did moto's rule match it?"""
        self.world.events.put_rule(
            Name=self.rule, EventBusName=self.bus, EventPattern=json.dumps(pattern)
        )
        for start in range(0, len(events), 10):
            response = self.world.events.put_events(
                Entries=[
                    {
                        "EventBusName": self.bus,
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Resources": event["resources"],
                        "Detail": json.dumps({**event["detail"], SEQUENCE: start + offset}),
                    }
                    for offset, event in enumerate(events[start : start + 10])
                ]
            )
            assert response["FailedEntryCount"] == 0, response
        delivered = {
            body["detail"][SEQUENCE] for body in self.world.captured_events(self.queue_url)
        }
        return [index in delivered for index in range(len(events))]


@pytest.fixture(scope="module")
def oracle(moto_url: str) -> Iterator[Oracle]:
    yield Oracle(World(moto_url))


def ours(pattern: Any, events: Sequence[dict[str, Any]]) -> list[bool]:
    compiled = EventPattern.parse(pattern)
    return [
        compiled.matches({**event, "detail": {**event["detail"], SEQUENCE: 0}}) for event in events
    ]


def _event(**detail: Any) -> dict[str, Any]:
    return {"source": "com.example", "detail-type": "t", "resources": ["r"], "detail": detail}


# --- generated events ------------------------------------------------------------------
#
# Fields keep one kind of value each, so that no pattern compares a boolean with a
# number (moto takes true for 1), and numbers stay within -5e9..5e9.

STATES = ["running", "Running", "RUNNING", "stopped", "init", "initializing", "pending-init", "",
          "dir/a.png", "dir/b/c.PNG", "a*b", "état", "ÉTAT"]  # fmt: skip
NUMBERS = [-3, 2, 5, 5.0, 7.5, 10, 12, 300, 301.8, 4.5e9]
IPS = [
    "10.0.0.7",
    "10.0.1.200",
    "192.168.4.4",
    "8.8.8.8",
    "2001:db8::1",
    "2001:db9::5",
    "not-an-ip",
]
SOURCES = ["aws.s3", "redrive.aws.s3", "com.example.shop", "com.example.shop.eu"]
DETAIL_TYPES = ["AWS API Call via CloudTrail", "Object Created", "注文確定"]
ARNS = ["arn:aws:s3:::billing-inbox/a.pdf", "arn:aws:s3:::other/b.txt",
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders"]  # fmt: skip
TAGS = ["red", "green", "Blue", "dir/x.png"]


def _optional(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=values)


nested_values = st.one_of(
    _optional({"state": st.sampled_from(STATES), "count": st.sampled_from(NUMBERS)}).filter(bool),
    st.sampled_from(STATES),
)
detail_values: dict[str, st.SearchStrategy[Any]] = {
    "state": st.sampled_from(STATES),
    "count": st.sampled_from(NUMBERS),
    "flag": st.sampled_from([True, False, None, "yes"]),
    "ip": st.sampled_from(IPS),
    "tags": st.one_of(
        st.lists(st.sampled_from(TAGS), min_size=1, max_size=3), st.sampled_from(TAGS)
    ),
    "sizes": st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3),
    "nested": nested_values,
}


@st.composite
def details(draw: st.DrawFn) -> dict[str, Any]:
    """Most fields present, a few absent (so that exists has both answers)."""
    missing = draw(st.sets(st.sampled_from(sorted(detail_values)), max_size=2))
    return {key: draw(values) for key, values in detail_values.items() if key not in missing}


events = st.fixed_dictionaries(
    {
        "source": st.sampled_from(SOURCES),
        "detail-type": st.sampled_from(DETAIL_TYPES),
        "resources": st.lists(st.sampled_from(ARNS), min_size=1, max_size=2),
        "detail": details(),
    }
)


# --- generated patterns ----------------------------------------------------------------

WILDCARDS = ["*", "dir/*.png", "*init*", "a\\*b", "r*n*g", "*.PNG", "arn:aws:s3:::*/*"]
CIDRS = ["10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "0.0.0.0/0"]


def text_conditions(pool: list[str]) -> st.SearchStrategy[Any]:
    word = st.sampled_from(pool)
    piece = st.sampled_from(["r", "R", "ru", "init", "dir/", ".png", ".PNG", "s3", "aws.", "com."])
    some_words = st.lists(word, min_size=1, max_size=3, unique=True)
    return st.one_of(
        word,
        st.builds(lambda p: {"prefix": p}, piece),
        st.builds(lambda p: {"prefix": {"equals-ignore-case": p}}, piece),
        st.builds(lambda p: {"suffix": p}, piece),
        st.builds(lambda p: {"suffix": {"equals-ignore-case": p}}, piece),
        st.builds(lambda w: {"equals-ignore-case": w}, word),
        st.builds(lambda w: {"wildcard": w}, st.sampled_from(WILDCARDS)),
        st.builds(lambda w: {"anything-but": w}, st.one_of(word, some_words)),
        st.builds(lambda p: {"anything-but": {"prefix": p}}, piece),
        st.builds(lambda p: {"anything-but": {"suffix": p}}, piece),
        st.builds(
            lambda w: {"anything-but": {"equals-ignore-case": w}}, st.one_of(word, some_words)
        ),
        st.builds(lambda w: {"anything-but": {"wildcard": w}}, st.sampled_from(WILDCARDS)),
        st.builds(lambda b: {"exists": b}, st.booleans()),
    )


@st.composite
def numeric_ranges(draw: st.DrawFn) -> dict[str, Any]:
    low, high = sorted(
        draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2, unique=True))
    )
    form = draw(st.sampled_from(["=", "<", "<=", ">", ">=", "range"]))
    if form == "range":
        return {
            "numeric": [
                draw(st.sampled_from([">", ">="])),
                low,
                draw(st.sampled_from(["<", "<="])),
                high,
            ]
        }
    return {"numeric": [form, low]}


def number_conditions() -> st.SearchStrategy[Any]:
    number = st.sampled_from(NUMBERS)
    return st.one_of(
        number,
        numeric_ranges(),
        st.builds(
            lambda n: {"anything-but": n},
            st.one_of(number, st.lists(number, min_size=1, max_size=3)),
        ),
        st.builds(lambda b: {"exists": b}, st.booleans()),
    )


def leaf(conditions: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(conditions, min_size=1, max_size=3)


detail_fields: dict[str, st.SearchStrategy[Any]] = {
    "state": leaf(text_conditions(STATES)),
    "count": leaf(number_conditions()),
    "flag": leaf(
        st.one_of(
            st.sampled_from([True, False, None, "yes"]),
            st.builds(lambda b: {"exists": b}, st.booleans()),
        )
    ),
    "ip": leaf(
        st.one_of(st.sampled_from(IPS), st.builds(lambda c: {"cidr": c}, st.sampled_from(CIDRS)))
    ),
    "tags": leaf(text_conditions(TAGS)),
    "sizes": leaf(number_conditions()),
    "nested": _optional(
        {"state": leaf(text_conditions(STATES)), "count": leaf(number_conditions())}
    ).filter(bool),
}
top_fields: dict[str, st.SearchStrategy[Any]] = {
    "source": leaf(text_conditions(SOURCES)),
    "detail-type": leaf(text_conditions(DETAIL_TYPES)),
    "resources": leaf(text_conditions(ARNS)),
}


def _some(
    fields: dict[str, st.SearchStrategy[Any]], most: int
) -> st.SearchStrategy[dict[str, Any]]:
    """A few of the fields (a pattern naming many rarely matches anything)."""
    return st.sets(st.sampled_from(sorted(fields)), max_size=most).flatmap(
        lambda keys: st.fixed_dictionaries({key: fields[key] for key in sorted(keys)})
    )


@st.composite
def patterns(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    pattern: dict[str, Any] = draw(_some(top_fields, 1))
    detail: dict[str, Any] = draw(_some(detail_fields, 2))
    if depth == 0 and draw(st.booleans()):
        alternatives = draw(st.lists(patterns(depth=1), min_size=2, max_size=3))
        if draw(st.booleans()):
            pattern["$or"] = alternatives
        else:  # an $or inside detail: the alternatives' detail fields only
            inner = [alt["detail"] for alt in alternatives if alt.get("detail")]
            if len(inner) >= 2:
                detail["$or"] = inner
    if detail:
        pattern["detail"] = detail
    if not pattern:
        pattern["source"] = [draw(st.sampled_from(SOURCES))]
    return pattern


@settings(max_examples=40)
@given(pattern=patterns(), batch=st.lists(events, min_size=1, max_size=6))
def test_agrees_with_moto_where_moto_follows_the_documentation(
    oracle: Oracle, pattern: dict[str, Any], batch: list[dict[str, Any]]
) -> None:
    assert ours(pattern, batch) == oracle.matched(pattern, batch), json.dumps(pattern)


# Each operator, one at a time, over every value of its field's pool (and the field absent).
EACH_OPERATOR = [
    *[
        ("state", condition)
        for condition in [
            "running",
            "",
            {"prefix": "r"},
            {"prefix": "init"},
            {"prefix": ""},
            {"prefix": {"equals-ignore-case": "r"}},
            {"prefix": {"equals-ignore-case": "éT"}},
            {"suffix": "ing"},
            {"suffix": ".png"},
            {"suffix": {"equals-ignore-case": ".png"}},
            {"equals-ignore-case": "running"},
            {"equals-ignore-case": "état"},
            *({"wildcard": w} for w in WILDCARDS if not w.startswith("arn")),
            {"anything-but": "running"},
            {"anything-but": ["running", "stopped"]},
            {"anything-but": {"prefix": "init"}},
            {"anything-but": {"suffix": "ing"}},
            {"anything-but": {"equals-ignore-case": "RUNNING"}},
            {"anything-but": {"equals-ignore-case": ["RUNNING", "Stopped"]}},
            {"anything-but": {"wildcard": "*init*"}},
            {"anything-but": {"wildcard": ["*init*", "dir/*"]}},
            {"exists": True},
            {"exists": False},
        ]
    ],
    *[
        ("count", condition)
        for condition in [
            5,
            301.8,
            {"numeric": ["=", 5]},
            {"numeric": ["<", 5]},
            {"numeric": ["<=", 5]},
            {"numeric": [">", 5]},
            {"numeric": [">=", 5]},
            {"numeric": [">", 2, "<=", 300]},
            {"numeric": [">=", -3, "<", 7.5]},
            {"anything-but": 5},
            {"anything-but": [5, 300]},
            {"exists": False},
        ]
    ],
    *[("ip", {"cidr": cidr}) for cidr in CIDRS],
    ("ip", "10.0.0.7"),
    *[("flag", condition) for condition in [True, False, None, "yes", {"anything-but": "yes"}]],
    *[("tags", condition) for condition in ["red", {"prefix": "g"}, {"anything-but": "red"}]],
]
POOLS: dict[str, list[Any]] = {
    "state": STATES,
    "count": NUMBERS,
    "ip": IPS,
    "flag": [True, False, None, "yes"],
    "tags": [["red"], ["red", "green"], ["Blue"], "green", ["dir/x.png", "red"]],
}


@pytest.mark.parametrize(
    ("field", "condition"),
    EACH_OPERATOR,
    ids=[
        f"{field} {json.dumps(condition, ensure_ascii=False)}" for field, condition in EACH_OPERATOR
    ],
)
def test_each_operator_agrees_with_moto(oracle: Oracle, field: str, condition: Any) -> None:
    pattern = {"detail": {field: [condition]}}
    batch = [_event(**{field: value}) for value in POOLS[field]] + [_event(other="x")]
    answers = ours(pattern, batch)
    assert answers == oracle.matched(pattern, batch)
    assert True in answers and False in answers  # the question tells something apart


# --- where moto and the AWS documentation part ----------------------------------------------

EMPLOYEES = [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]


# (case, pattern, event, what moto answers, what AWS documents, where AWS says so)
DIFFERENT_ANSWERS = [
    (
        "a field under an array of objects",
        {"detail": {"employees": {"firstName": ["Anna"]}}},
        _event(employees=EMPLOYEES),
        False,
        True,
        "event-ruler README, JSON Array Matching",
    ),
    (
        "nested arrays of values",
        {"detail": {"tags": ["b"]}},
        _event(tags=[["a"], ["b"]]),
        False,
        True,
        "event-ruler README, JSON Array Matching (multi-level arrays)",
    ),
    (
        "numeric on a boolean",
        {"detail": {"n": [{"numeric": [">", 0]}]}},
        _event(n=True),
        True,
        False,
        "content filtering: numeric matching works with values that are JSON numbers",
    ),
    (
        "an exact number against a boolean",
        {"detail": {"n": [1]}},
        _event(n=True),
        True,
        False,
        "event pattern syntax: values follow JSON rules (numbers; true, false, null)",
    ),
    (
        "an exact boolean against a number",
        {"detail": {"n": [False]}},
        _event(n=0),
        True,
        False,
        "event pattern syntax: values follow JSON rules (numbers; true, false, null)",
    ),
    (
        "numeric beyond 5e9",
        {"detail": {"n": [{"numeric": [">", 0]}]}},
        _event(n=6e9),
        True,
        False,
        "content filtering: numeric matching is limited to -5.0e9..+5.0e9",
    ),
    (
        "an exact IPv6 address written another way",
        {"detail": {"ip": ["2001:db8::1"]}},
        _event(ip="2001:DB8:0:0::1"),
        False,
        True,
        "event-ruler JsonRuleCompiler: listed IP addresses are compared as addresses",
    ),
]

# (case, pattern, event, what moto answers) — moto accepts the pattern; AWS refuses it.
REFUSED_BY_AWS = [
    (
        "an unknown operator",
        {"detail": {"state": [{"contains": "zzz"}]}},
        _event(state="running"),
        True,
    ),
    (
        "consecutive wildcards",
        {"detail": {"state": [{"wildcard": "run**"}]}},
        _event(state="running"),
        True,
    ),
    (
        "anything-but with a mixed list",
        {"detail": {"state": [{"anything-but": ["x", 1]}]}},
        _event(state="y"),
        True,
    ),
    (
        "prefix with a list",
        {"detail": {"state": [{"prefix": ["r", "s"]}]}},
        _event(state="running"),
        True,
    ),
    (
        "numeric bounds in the wrong order",
        {"detail": {"n": [{"numeric": ["<", 5, ">", 1]}]}},
        _event(n=3),
        True,
    ),
    ("numeric bounds beyond 5e9", {"detail": {"n": [{"numeric": ["<", 6e9]}]}}, _event(n=3), True),
]


@pytest.mark.parametrize(
    ("pattern", "event", "moto_answer", "documented"),
    [case[1:5] for case in DIFFERENT_ANSWERS],
    ids=[case[0] for case in DIFFERENT_ANSWERS],
)
def test_where_moto_differs_from_aws(
    oracle: Oracle,
    pattern: dict[str, Any],
    event: dict[str, Any],
    moto_answer: bool,
    documented: bool,
) -> None:
    assert oracle.matched(pattern, [event]) == [moto_answer]
    assert ours(pattern, [event]) == [documented]


@pytest.mark.parametrize(
    ("pattern", "event", "moto_answer"),
    [case[1:4] for case in REFUSED_BY_AWS],
    ids=[case[0] for case in REFUSED_BY_AWS],
)
def test_patterns_moto_accepts_and_aws_refuses(
    oracle: Oracle, pattern: dict[str, Any], event: dict[str, Any], moto_answer: Optional[bool]
) -> None:
    assert oracle.matched(pattern, [event]) == [moto_answer]
    with pytest.raises(PatternError):
        EventPattern.parse(pattern)
