# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EventBridge event patterns: parse once, match many events, say why one does not match.

`EventPattern.parse` validates a pattern (a JSON string or a mapping) the way
EventBridge does and compiles it into small matcher objects; `matches` and
`mismatch` then walk only the fields the pattern names.

Semantics follow the EventBridge user guide (event patterns, comparison
operators, arrays, null and empty values) and, where the guide is silent,
EventBridge's open-source matching engine (Event Ruler):

- A field matches when any of its listed values or operators matches.
  An event value that is an array matches when any element matches;
  nested arrays are flattened.
- A pattern object under an event array of objects matches when one single
  element matches all of it (two fields are never taken from different
  elements).
- Only leaves carry values: an object (or an array holding only objects, or
  an empty array) counts as absent for a leaf condition, so `exists: false`
  matches it and `exists: true` does not.
- JSON types are kept apart: "5", 5 and true are three different values; 5
  and 5.0 are the same number. `numeric` and numeric `anything-but` work on
  numbers only (never on booleans), within -5e9..5e9.
- Numbers compare "with 15 digits of precision, or six digits to the right of
  the decimal point" (content filtering): digits past the sixth decimal are
  dropped, on the number as JSON writes it, so 0.1 + 0.2 equals 0.3 and
  5.0000001 is not above 5. Exact numbers, numeric comparisons and numeric
  anything-but all compare this way.
- `anything-but` matches any present leaf that is not excluded, whatever its
  type; it never matches an absent field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Any, Callable, Optional, Union

# "Numeric matching ... is limited to values between -5.0e9 and +5.0e9 inclusive".
NUMERIC_LIMIT = 5e9
# "... with 15 digits of precision, or six digits to the right of the decimal point":
# numbers are compared as whole millionths.
MICROS = 1_000_000
MICRO_LIMIT = int(NUMERIC_LIMIT) * MICROS
OR_KEY = "$or"
OPERATORS = frozenset(
    (
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
    )
)
_COMPARATORS = ("=", "<", "<=", ">", ">=")
# TestEventPattern and PutRule: "EventPattern ... Length Constraints: Maximum length of 4096."
MAX_PATTERN_CHARS = 4096
_SHOWN_CHARS = 60
_LONGEST_IP = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

Test = Callable[[Any], bool]
_SCALARS = frozenset((str, int, float, bool, type(None)))


class _Absent:
    """The value of a field the event does not have."""

    _instance: Optional[_Absent] = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "absent"

    def __bool__(self) -> bool:
        return False


ABSENT = _Absent()
_EMPTY: Mapping[str, Any] = {}


class PatternError(ValueError):
    """A malformed pattern; str() names the part that is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Mismatch:
    """Why an event does not match: the first field that stopped matching.

    `alternatives` is set when every alternative of a `$or` failed; the field
    shown is then the one that stopped the first alternative.
    """

    path: str
    value: Any
    expected: str
    alternatives: int = 0

    def __str__(self) -> str:
        if self.value is ABSENT:
            text = f"{self.path}: absent, expected {self.expected}"
        elif self.expected in ("exists", "absent") or not _is_leaf(self.value):
            text = f"{self.path}: {_show(self.value)}, expected {self.expected}"
        else:
            text = f"{self.path}: {_show(self.value)} not in {self.expected}"
        if self.alternatives:
            text += f" (none of the {self.alternatives} $or alternatives matched; first shown)"
        return text


# --- rendering ---------------------------------------------------------------


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _show(value: Any) -> str:
    """One short line for a pattern operand or an event value."""
    if value is ABSENT:
        return "absent"
    if isinstance(value, str):
        return _clip(value)
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return _clip(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))
    if isinstance(value, (list, tuple)):
        return _clip("[" + ", ".join(_show(item) for item in value) + "]")
    return _clip(repr(value))


def _operand(value: Any) -> str:
    """A pattern operand as written, for error messages."""
    return _clip(json.dumps(value, ensure_ascii=False, default=str))


def _got(value: Any) -> str:
    return f"{_kind(value)} {_operand(value)}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple)) or bool(_leaves_of(value))


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "pattern"


# --- event values ----------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def micros(number: Union[int, float]) -> Optional[int]:
    """A JSON number as EventBridge compares it: in whole millionths, the digits past
    the sixth decimal dropped; None for a value that is no JSON number (NaN, infinity).

    The float's shortest decimal form is what the event's JSON said, so 0.3 stays
    0.300000 rather than the binary 0.29999999999999998..."""
    if isinstance(number, int):  # callers pass no booleans
        return number * MICROS
    if not math.isfinite(number):
        return None
    if number.is_integer():
        return int(number) * MICROS
    return int(Decimal(repr(number)).scaleb(6).to_integral_value(rounding=ROUND_DOWN))


def _collect_leaves(values: Sequence[Any], out: list[Any]) -> None:
    for item in values:
        if isinstance(item, (list, tuple)):
            _collect_leaves(item, out)
        elif not isinstance(item, Mapping):
            out.append(item)


def _leaves_of(value: Any) -> Sequence[Any]:
    """The leaf values a field holds: none for absent, objects and empty arrays."""
    if value is ABSENT or isinstance(value, Mapping):
        return ()
    if isinstance(value, (list, tuple)):
        out: list[Any] = []
        _collect_leaves(value, out)
        return out
    return (value,)


def _collect_objects(values: Sequence[Any], out: list[Mapping[str, Any]]) -> None:
    for item in values:
        if isinstance(item, Mapping):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            _collect_objects(item, out)


def _objects_of(values: Sequence[Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    _collect_objects(values, out)
    return out


def _ip_of(text: str) -> Optional[tuple[int, int]]:
    """(version, integer) of an IP address literal, None for anything else."""
    # Longer text is no address; not caching it keeps large event values out of memory.
    return _parsed_ip(text) if len(text) <= _LONGEST_IP else None


@lru_cache(maxsize=4096)
def _parsed_ip(text: str) -> Optional[tuple[int, int]]:
    if "%" in text:  # a scoped IPv6 address is not an address EventBridge compares
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


# --- matcher nodes -------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    """One operator object of a field's list, compiled."""

    test: Optional[Test]  # None for exists
    text: str
    exists: Optional[bool] = None


class _Leaf:
    """A field's list of values and operators: matches when any of them does."""

    __slots__ = (
        "_bools",
        "_exists_false",
        "_exists_true",
        "_null",
        "_numbers",
        "_strings",
        "_test",
        "text",
    )

    def __init__(
        self,
        strings: frozenset[str],
        numbers: frozenset[int],
        bools: frozenset[bool],
        null: bool,
        conditions: Sequence[_Condition],
        text: str,
    ) -> None:
        self._strings = strings
        self._numbers = numbers
        self._bools = bools
        self._null = null
        tests = [c.test for c in conditions if c.test is not None]
        self._test: Optional[Test] = _any_of(tests) if tests else None
        self._exists_true = any(c.exists is True for c in conditions)
        self._exists_false = any(c.exists is False for c in conditions)
        self.text = text

    def matches(self, value: Any) -> bool:
        # Exact types first: events come from JSON, and an isinstance check
        # against the Mapping ABC costs more than the whole string test.
        kind = type(value)
        if kind is str:
            if value in self._strings or self._exists_true:
                return True
            return self._test is not None and self._test(value)
        if kind is float or kind is int:
            if self._exists_true or (self._numbers and micros(value) in self._numbers):
                return True
            return self._test is not None and self._test(value)
        if kind is list:
            for item in value:
                if type(item) not in _SCALARS:
                    break  # nested structure: take the general way
                if self._matches_leaf(item):
                    return True
            else:
                return not value and self._exists_false
        leaves = _leaves_of(value)
        if not leaves:
            return self._exists_false
        return any(self._matches_leaf(leaf) for leaf in leaves)

    def _matches_leaf(self, value: Any) -> bool:
        if self._exists_true:
            return True
        if isinstance(value, str):
            if value in self._strings:
                return True
        elif isinstance(value, bool):
            if value in self._bools:
                return True
        elif value is None:
            if self._null:
                return True
        elif isinstance(value, (int, float)) and self._numbers and micros(value) in self._numbers:
            return True
        return self._test is not None and self._test(value)

    def explain(self, path: tuple[str, ...], value: Any) -> Mismatch:
        """Why `value`, which does not match, does not."""
        return Mismatch(_path_text(path), value, self.text)


class _Object:
    """A pattern object: every field matches and every `$or` group has a match."""

    __slots__ = ("_fields", "_groups", "_when_empty")

    def __init__(
        self,
        fields: Sequence[tuple[str, Union[_Leaf, _Object]]],
        groups: Sequence[Sequence[_Object]],
    ) -> None:
        self._fields = tuple(fields)
        self._groups = tuple(tuple(group) for group in groups)
        # What an absent or non-object value gets: only exists:false can hold there.
        self._when_empty = self.matches_mapping(_EMPTY)

    def matches_mapping(self, event: Mapping[str, Any]) -> bool:
        get = event.get
        for key, node in self._fields:
            if not node.matches(get(key, ABSENT)):
                return False
        for group in self._groups:
            for alternative in group:
                if alternative.matches_mapping(event):
                    break
            else:
                return False
        return True

    def matches(self, value: Any) -> bool:
        kind = type(value)  # a dict is taken without the slower Mapping ABC check
        if kind is dict or isinstance(value, Mapping):
            return self.matches_mapping(value)
        if isinstance(value, (list, tuple)):
            objects = _objects_of(value)
            if objects:
                return any(self.matches_mapping(item) for item in objects)
        return self._when_empty

    def explain_mapping(
        self, path: tuple[str, ...], event: Mapping[str, Any]
    ) -> Optional[Mismatch]:
        """None if the mapping matches, else the first field that does not."""
        get = event.get
        for key, node in self._fields:
            value = get(key, ABSENT)
            if not node.matches(value):
                return node.explain((*path, key), value)
        for group in self._groups:
            if not any(alternative.matches_mapping(event) for alternative in group):
                first = group[0].explain_mapping(path, event)
                if first is not None:
                    return dataclasses.replace(first, alternatives=len(group))
        return None

    def explain(self, path: tuple[str, ...], value: Any) -> Mismatch:
        """Why `value`, which does not match, does not."""
        if isinstance(value, Mapping):
            found = self.explain_mapping(path, value)
        else:
            objects = _objects_of(value) if isinstance(value, (list, tuple)) else []
            # For an array of objects, the first element's reason stands for all.
            found = self.explain_mapping(path, objects[0] if objects else _EMPTY)
        return found if found is not None else Mismatch(_path_text(path), value, "an object")


# --- parsing: structure --------------------------------------------------------


def _fail(path: tuple[str, ...], problem: str) -> PatternError:
    return PatternError(_path_text(path), problem)


def _parse_object(pattern: Mapping[str, Any], path: tuple[str, ...], in_or: bool) -> _Object:
    if not pattern:
        raise _fail(path, "empty objects are not allowed")
    fields: list[tuple[str, Union[_Leaf, _Object]]] = []
    groups: list[list[_Object]] = []
    for key, value in pattern.items():
        if not isinstance(key, str):
            raise _fail(path, f"field names are strings, got {_got(key)}")
        if key == OR_KEY:
            groups.append(_parse_or(value, path))
            continue
        field_path = (*path, key)
        if in_or and key in OPERATORS:
            raise _fail(field_path, f"{key!r} is an operator name, not allowed as a field in $or")
        if isinstance(value, Mapping):
            fields.append((key, _parse_object(value, field_path, in_or)))
        elif isinstance(value, (list, tuple)):
            fields.append((key, _parse_leaf(value, field_path)))
        else:
            raise _fail(
                field_path,
                f"must be a list of values or an object of fields, got {_got(value)}",
            )
    return _Object(fields, groups)


def _parse_or(value: Any, path: tuple[str, ...]) -> list[_Object]:
    where = (*path, OR_KEY)
    if not isinstance(value, (list, tuple)):
        raise _fail(where, f"needs a list of pattern objects, got {_kind(value)}")
    if len(value) < 2:
        raise _fail(where, f"needs at least 2 pattern objects, got {len(value)}")
    alternatives = []
    for index, item in enumerate(value):
        item_path = (*path, f"{OR_KEY}[{index}]")
        if not isinstance(item, Mapping):
            raise _fail(item_path, f"must be a pattern object, got {_got(item)}")
        alternatives.append(_parse_object(item, item_path, in_or=True))
    return alternatives


def _check_number(value: Any, path: tuple[str, ...], what: str, limited: bool) -> float:
    if not _is_number(value):
        raise _fail(path, f"{what} needs a number, got {_got(value)}")
    if not math.isfinite(value):
        raise _fail(path, f"{what}: {value} is not a JSON number")
    if limited and not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
        raise _fail(path, f"{what}: {_operand(value)} is outside -5e9..5e9")
    return value


def _micros_of(checked: float) -> int:
    """Millionths of a pattern number `_check_number` accepted (finite by then)."""
    found = micros(checked)
    if found is None:
        raise ValueError(f"not a finite number: {checked!r}")
    return found


def _parse_leaf(values: Sequence[Any], path: tuple[str, ...]) -> _Leaf:
    if not values:
        raise _fail(path, "empty lists are not allowed")
    strings: set[str] = set()
    numbers: set[int] = set()
    bools: set[bool] = set()
    null = False
    conditions: list[_Condition] = []
    shown: list[str] = []
    for item in values:
        if item is None:
            null = True
            shown.append("null")
        elif isinstance(item, bool):
            bools.add(item)
            shown.append(_show(item))
        elif isinstance(item, str):
            strings.add(item)
            shown.append(_show(item))
            ip_test = _ip_literal_test(item)
            if ip_test is not None:
                conditions.append(_Condition(ip_test, item))
        elif isinstance(item, (int, float)):
            # Exact numbers are not limited to -5e9..5e9: account ids are numbers too.
            numbers.add(_micros_of(_check_number(item, path, "a value", limited=False)))
            shown.append(_show(item))
        elif isinstance(item, Mapping):
            condition = _parse_operator(item, path)
            conditions.append(condition)
            shown.append(condition.text)
        else:
            raise _fail(
                path,
                "values are strings, numbers, booleans, null or operator objects, "
                f"got {_got(item)}",
            )
    return _Leaf(
        frozenset(strings),
        frozenset(numbers),
        frozenset(bools),
        null,
        conditions,
        _leaf_text(shown, conditions, len(values)),
    )


def _leaf_text(shown: list[str], conditions: list[_Condition], count: int) -> str:
    if count == 1 and len(conditions) == 1 and conditions[0].exists is not None:
        return "exists" if conditions[0].exists else "absent"
    return "[" + ", ".join(shown) + "]"


def _ip_literal_test(text: str) -> Optional[Test]:
    """EventBridge compares a listed IP address as an address, not as text."""
    address = _ip_of(text)
    if address is None:
        return None

    def test(value: Any) -> bool:
        return isinstance(value, str) and value != text and _ip_of(value) == address

    return test


# --- parsing: operators --------------------------------------------------------


def _parse_operator(item: Mapping[str, Any], path: tuple[str, ...]) -> _Condition:
    if len(item) != 1:
        if not item:
            raise _fail(path, "an operator object needs one operator, got {}")
        names = ", ".join(sorted(str(name) for name in item))
        raise _fail(path, f"an operator object holds one operator, got {names}")
    ((name, operand),) = item.items()
    parser = _OPERATOR_PARSERS.get(name)
    if parser is None:
        raise _fail(path, f"unknown operator {name!r} (known: {', '.join(sorted(OPERATORS))})")
    return parser(operand, path)


def _need_string(operand: Any, path: tuple[str, ...], what: str) -> str:
    if not isinstance(operand, str):
        raise _fail(path, f"{what} needs a string, got {_got(operand)}")
    return operand


def _ignore_case_operand(operand: Any, path: tuple[str, ...], what: str) -> Optional[str]:
    """The string of `{"equals-ignore-case": s}` nested in prefix/suffix, else None."""
    if not isinstance(operand, Mapping):
        return None
    if list(operand) != ["equals-ignore-case"]:
        raise _fail(
            path,
            f'{what} takes a string or {{"equals-ignore-case": string}}, got {_operand(operand)}',
        )
    return _need_string(operand["equals-ignore-case"], path, f"{what} equals-ignore-case")


def _parse_affix(
    operand: Any, path: tuple[str, ...], name: str, test: Callable[[str, str], bool]
) -> _Condition:
    """`prefix` and `suffix`: a string, or `{"equals-ignore-case": string}`."""
    folded = _ignore_case_operand(operand, path, name)
    if folded is not None:
        lowered = folded.lower()
        return _Condition(
            lambda v: isinstance(v, str) and test(v.lower(), lowered),
            f"{name} {_show(folded)} (ignoring case)",
        )
    text = _need_string(operand, path, name)
    return _Condition(lambda v: isinstance(v, str) and test(v, text), f"{name} {_show(text)}")


def _parse_prefix(operand: Any, path: tuple[str, ...]) -> _Condition:
    return _parse_affix(operand, path, "prefix", str.startswith)


def _parse_suffix(operand: Any, path: tuple[str, ...]) -> _Condition:
    return _parse_affix(operand, path, "suffix", str.endswith)


def _parse_equals_ignore_case(operand: Any, path: tuple[str, ...]) -> _Condition:
    lowered = _need_string(operand, path, "equals-ignore-case").lower()
    return _Condition(
        lambda v: isinstance(v, str) and v.lower() == lowered,
        f"equals-ignore-case {_show(operand)}",
    )


def _wildcard_segments(text: str, path: tuple[str, ...], what: str) -> list[str]:
    """The literal pieces between the `*` of a wildcard, escapes resolved."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    after_star = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1] if index + 1 < len(text) else ""
            if following not in ("*", "\\"):
                raise _fail(
                    path,
                    f"{what} {_operand(text)}: a backslash escapes only * or \\ (position {index})",
                )
            current.append(following)
            index += 2
            after_star = False
            continue
        if char == "*":
            if after_star:
                raise _fail(
                    path,
                    f"{what} {_operand(text)}: consecutive * are not allowed (position {index})",
                )
            segments.append("".join(current))
            current = []
            after_star = True
        else:
            current.append(char)
            after_star = False
        index += 1
    segments.append("".join(current))
    return segments


def _wildcard_test(segments: list[str]) -> Test:
    if len(segments) == 1:
        (whole,) = segments
        return lambda v: isinstance(v, str) and v == whole
    head, middle, tail = segments[0], segments[1:-1], segments[-1]
    fixed = len(head) + len(tail)

    def test(value: Any) -> bool:
        if not isinstance(value, str) or len(value) < fixed:
            return False
        if not (value.startswith(head) and value.endswith(tail)):
            return False
        # With `*` as the only wildcard, taking each piece at its leftmost place
        # never loses a match.
        position, end = len(head), len(value) - len(tail)
        for piece in middle:
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    return test


def _parse_wildcard(operand: Any, path: tuple[str, ...]) -> _Condition:
    text = _need_string(operand, path, "wildcard")
    return _Condition(
        _wildcard_test(_wildcard_segments(text, path, "wildcard")), f"wildcard {_show(text)}"
    )


def _string_list(operand: Any, path: tuple[str, ...], what: str) -> list[str]:
    """A string or a non-empty list of strings."""
    if isinstance(operand, str):
        return [operand]
    if isinstance(operand, (list, tuple)):
        if not operand:
            raise _fail(path, f"{what} needs at least one string, got []")
        return [_need_string(item, path, what) for item in operand]
    raise _fail(path, f"{what} needs a string or a list of strings, got {_kind(operand)}")


def _any_of(tests: list[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _anything_but_nested(operand: Mapping[str, Any], path: tuple[str, ...]) -> _Condition:
    if len(operand) != 1:
        raise _fail(path, f"anything-but takes one nested operator, got {_operand(operand)}")
    ((name, inner),) = operand.items()
    if name not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        raise _fail(
            path,
            f"anything-but cannot take {name!r} (it takes prefix, suffix, "
            "equals-ignore-case or wildcard)",
        )
    what = f"anything-but {name}"
    texts = _string_list(inner, path, what)
    if name in ("prefix", "suffix") and any(text == "" for text in texts):
        raise _fail(path, f"{what} needs a non-empty string")
    excluded = _excluded_test(name, texts, path, what)
    shown = _show(texts[0]) if isinstance(inner, str) else _show(texts)
    return _Condition(lambda v: not (isinstance(v, str) and excluded(v)), f"{what} {shown}")


def _excluded_test(name: str, texts: list[str], path: tuple[str, ...], what: str) -> Test:
    """What a nested anything-but excludes, as a test on strings."""
    if name == "prefix":
        prefixes = tuple(texts)
        return lambda v: v.startswith(prefixes)
    if name == "suffix":
        suffixes = tuple(texts)
        return lambda v: v.endswith(suffixes)
    if name == "equals-ignore-case":
        lowered = frozenset(text.lower() for text in texts)
        return lambda v: v.lower() in lowered
    return _any_of([_wildcard_test(_wildcard_segments(text, path, what)) for text in texts])


def _parse_anything_but(operand: Any, path: tuple[str, ...]) -> _Condition:
    if isinstance(operand, Mapping):
        return _anything_but_nested(operand, path)
    values = list(operand) if isinstance(operand, (list, tuple)) else [operand]
    if not values:
        raise _fail(path, "anything-but needs at least one value, got []")
    if all(isinstance(value, str) for value in values):
        strings = frozenset(values)
        return _Condition(
            lambda v: not (isinstance(v, str) and v in strings), f"anything-but {_show(operand)}"
        )
    if all(_is_number(value) for value in values):
        numbers = frozenset(
            _micros_of(_check_number(v, path, "anything-but", limited=True)) for v in values
        )
        return _Condition(
            lambda v: not (_is_number(v) and micros(v) in numbers), f"anything-but {_show(operand)}"
        )
    raise _fail(
        path,
        "anything-but takes strings only or numbers only (no null, booleans or mixed lists), "
        f"got {_operand(operand)}",
    )


def _parse_numeric(operand: Any, path: tuple[str, ...]) -> _Condition:
    wrong = _fail(path, f"numeric needs operator/number pairs, got {operand!r}")
    if not isinstance(operand, (list, tuple)) or len(operand) not in (2, 4):
        raise wrong
    pairs = [(operand[i], operand[i + 1]) for i in range(0, len(operand), 2)]
    for operator, number in pairs:
        if not isinstance(operator, str) or not _is_number(number):
            raise wrong
        if operator not in _COMPARATORS:
            raise _fail(path, f"numeric: unknown operator {operator!r} (use =, <, <=, >, >=)")
        _check_number(number, path, "numeric", limited=True)
    text = "numeric " + " ".join(f"{operator} {_show(number)}" for operator, number in pairs)
    if len(pairs) == 1:
        ((operator, number),) = pairs
        bound = _micros_of(number)
        if operator == "=":
            return _Condition(_range_test(bound, False, bound, False), text)
        if operator in (">", ">="):
            return _Condition(_range_test(bound, operator == ">", MICRO_LIMIT, False), text)
        return _Condition(_range_test(-MICRO_LIMIT, False, bound, operator == "<"), text)
    (low_op, low), (high_op, high) = pairs
    if low_op not in (">", ">=") or high_op not in ("<", "<="):
        raise _fail(
            path,
            f"numeric: a range is a lower bound (> or >=) then an upper bound (< or <=), "
            f"got {operand!r}",
        )
    if _micros_of(low) >= _micros_of(high):
        raise _fail(path, f"numeric: empty range, {_operand(low)} is not below {_operand(high)}")
    return _Condition(
        _range_test(_micros_of(low), low_op == ">", _micros_of(high), high_op == "<"), text
    )


def _range_test(low: int, low_open: bool, high: int, high_open: bool) -> Test:
    """Numbers (not booleans) from low to high, in millionths; the bounds stay within
    -5e9..5e9, so a number beyond them never matches."""

    def test(value: Any) -> bool:
        kind = type(value)
        if kind is not float and kind is not int and not _is_number(value):
            return False
        scaled = micros(value)
        if scaled is None or scaled < low or scaled > high:
            return False
        return not ((low_open and scaled == low) or (high_open and scaled == high))

    return test


def _parse_exists(operand: Any, path: tuple[str, ...]) -> _Condition:
    if not isinstance(operand, bool):
        raise _fail(path, f"exists needs true or false, got {_got(operand)}")
    return _Condition(None, f"exists {_show(operand)}", exists=operand)


def _parse_cidr(operand: Any, path: tuple[str, ...]) -> _Condition:
    text = _need_string(operand, path, "cidr")
    address, slash, bits = text.partition("/")
    if not slash or not bits.isdigit() or "%" in address:
        raise _fail(path, f"cidr needs address/prefix-length, got {_operand(text)}")
    try:
        # Host bits below the prefix are ignored, as in any CIDR block.
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as error:
        raise _fail(path, f"cidr: {error}") from None
    version = network.version
    first, last = int(network.network_address), int(network.broadcast_address)

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        found = _ip_of(value)
        return found is not None and found[0] == version and first <= found[1] <= last

    return _Condition(test, f"cidr {text}")


_OPERATOR_PARSERS: dict[str, Callable[[Any, tuple[str, ...]], _Condition]] = {
    "prefix": _parse_prefix,
    "suffix": _parse_suffix,
    "equals-ignore-case": _parse_equals_ignore_case,
    "wildcard": _parse_wildcard,
    "anything-but": _parse_anything_but,
    "numeric": _parse_numeric,
    "exists": _parse_exists,
    "cidr": _parse_cidr,
}


# --- the public pattern ------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PatternError("pattern", f"field {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> float:
    raise PatternError("pattern", f"{name} is not a JSON number")


def _text_of(pattern: Union[str, bytes]) -> str:
    if isinstance(pattern, str):
        return pattern
    try:
        return pattern.decode("utf-8")
    except UnicodeDecodeError:
        raise PatternError("pattern", "not valid UTF-8 text") from None


def _load(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except PatternError:
        raise
    except ValueError as error:
        raise PatternError("pattern", f"not valid JSON ({error})") from None


class EventPattern:
    """A validated, compiled EventBridge event pattern."""

    __slots__ = ("_root", "pattern")

    def __init__(self, root: _Object, pattern: Mapping[str, Any]) -> None:
        self._root = root
        self.pattern = pattern

    @classmethod
    def parse(cls, pattern: Union[str, bytes, Mapping[str, Any]]) -> EventPattern:
        """Validate and compile; raise PatternError naming the wrong part."""
        text = _text_of(pattern) if isinstance(pattern, (str, bytes)) else None
        loaded = pattern if text is None else _load(text)
        if not isinstance(loaded, Mapping):
            raise PatternError("pattern", f"must be a JSON object, got {_kind(loaded)}")
        root = _parse_object(loaded, (), in_or=False)
        if text is None:  # valid by now, so it serialises: count it as EventBridge would get it
            text = json.dumps(loaded, ensure_ascii=False, separators=(",", ":"), default=str)
        if len(text) > MAX_PATTERN_CHARS:
            raise PatternError(
                "pattern", f"{len(text)} characters, EventBridge takes at most {MAX_PATTERN_CHARS}"
            )
        return cls(root, loaded)

    def matches(self, event: Mapping[str, Any]) -> bool:
        if not isinstance(event, Mapping):
            raise TypeError(f"an event is a mapping, got {type(event).__name__}")
        return self._root.matches_mapping(event)

    def mismatch(self, event: Mapping[str, Any]) -> Optional[Mismatch]:
        """None if the event matches; else the first field that stopped matching."""
        if not isinstance(event, Mapping):
            raise TypeError(f"an event is a mapping, got {type(event).__name__}")
        return self._root.explain_mapping((), event)

    def __repr__(self) -> str:
        return f"EventPattern({_show(self.pattern)})"
