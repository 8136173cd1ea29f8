# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What EventBridge delivers to a rule target: the event, cut or reshaped by the
target's input settings (Input, InputPath, InputTransformer).

Sources (AWS documentation): "Amazon EventBridge input transformation"
(eb-transform-target-input), the PutTargets / Target / InputTransformer API
reference, and "Tutorial: Use input transformers" (eb-input-transformer-tutorial).
"""

from __future__ import annotations

import re
from typing import Any, Union

# --- JSONPath -------------------------------------------------------------
#
# EventBridge "does not support all JSON Path syntax". The user guide lists what
# it does support: dot notation ($.detail), dashes, underscores, alphanumeric
# characters, array indices, wildcards (*) and forward slashes. The Target API
# reference allows dot or bracket notation for InputPath (goessner JSONPath, so
# bracket names are quoted: $['detail']['state']). Everything else of JSONPath
# (recursive descent, filters, slices, unions, negative indexes, functions) is
# refused with PathError rather than guessed at.

# A dot-notation member name: the characters the user guide lists.
_DOT_NAME = re.compile(r"[A-Za-z0-9_\-/]+")
_INDEX = re.compile(r"[0-9]+")


class PathError(ValueError):
    """A JSONPath EventBridge would not evaluate; the message names the path."""


class _Wildcard:
    """Every member of an object or every element of an array."""

    def __repr__(self) -> str:
        return "*"


_WILDCARD = _Wildcard()

# One step of a path: a member name, an array index, or the wildcard.
_Step = Union[str, int, _Wildcard]


def resolve_path(document: Any, path: str) -> tuple[bool, Any]:
    """(found, value) for an EventBridge JSONPath such as `$.detail.state`, `$`,
    `$.detail.items[0].sku` or `$['detail']['state']`.

    A definite path (no wildcard) gives (False, None) when any step is missing:
    a member absent from an object, an index past the end of an array, or a step
    into a value of the wrong kind. A path with a wildcard gives (True, list of
    every match in document order), as a JSONPath evaluator does for an
    indefinite path; the list is empty when nothing matches.

    Raises PathError for a malformed path or for JSONPath syntax EventBridge does
    not support.
    """
    steps = parse_path(path)
    if any(step is _WILDCARD for step in steps):
        return True, _matches(document, steps)
    return _follow(document, steps)


def parse_path(path: str) -> list[_Step]:
    """The steps of a path, or PathError naming the path and what is wrong."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"JSONPath {path!r} must start with '$'")
    steps: list[_Step] = []
    position = 1
    while position < len(path):
        char = path[position]
        if char == ".":
            step, position = _dot_step(path, position + 1)
        elif char == "[":
            step, position = _bracket_step(path, position + 1)
        else:
            raise _unsupported(path, position)
        steps.append(step)
    return steps


def _dot_step(path: str, start: int) -> tuple[_Step, int]:
    if path.startswith("*", start):
        return _WILDCARD, start + 1
    if path.startswith(".", start):
        raise PathError(
            f"JSONPath {path!r}: recursive descent '..' is not supported by EventBridge"
        )
    match = _DOT_NAME.match(path, start)
    if match is None:
        raise _unsupported(path, start)
    return match.group(0), match.end()


def _bracket_step(path: str, start: int) -> tuple[_Step, int]:
    if path.startswith("*]", start):
        return _WILDCARD, start + 2
    if path[start : start + 1] in ("'", '"'):
        return _quoted_name(path, start)
    match = _INDEX.match(path, start)
    if match is None or not path.startswith("]", match.end()):
        raise PathError(
            f"JSONPath {path!r} at offset {start}: only [index], [*] and ['name'] are "
            "supported inside brackets (no filters, slices, unions or negative indexes)"
        )
    return int(match.group(0)), match.end() + 1


def _quoted_name(path: str, start: int) -> tuple[str, int]:
    quote = path[start]
    name: list[str] = []
    position = start + 1
    while position < len(path):
        char = path[position]
        if char == "\\" and position + 1 < len(path):
            name.append(path[position + 1])
            position += 2
            continue
        if char == quote:
            if not path.startswith("]", position + 1):
                raise PathError(f"JSONPath {path!r} at offset {position + 1}: expected ']'")
            return "".join(name), position + 2
        name.append(char)
        position += 1
    raise PathError(f"JSONPath {path!r}: unterminated quoted name at offset {start}")


def _unsupported(path: str, position: int) -> PathError:
    return PathError(
        f"JSONPath {path!r} at offset {position}: {path[position:]!r} is not supported by "
        "EventBridge (dot names of letters, digits, '-', '_' and '/'; [index]; "
        "['name']; * wildcards)"
    )


def _follow(document: Any, steps: list[_Step]) -> tuple[bool, Any]:
    value = document
    for step in steps:
        found, value = _step_into(value, step)
        if not found:
            return False, None
    return True, value


def _step_into(value: Any, step: _Step) -> tuple[bool, Any]:
    if isinstance(step, str):
        if isinstance(value, dict) and step in value:
            return True, value[step]
        return False, None
    if isinstance(step, int) and isinstance(value, list) and step < len(value):
        return True, value[step]
    return False, None


def _matches(document: Any, steps: list[_Step]) -> list[Any]:
    current = [document]
    for step in steps:
        following: list[Any] = []
        for value in current:
            if step is _WILDCARD:
                following.extend(_members(value))
                continue
            found, child = _step_into(value, step)
            if found:
                following.append(child)
        current = following
    return current


def _members(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []
