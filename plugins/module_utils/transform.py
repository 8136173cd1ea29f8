# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What EventBridge delivers to a rule target: the event, or what the target's input
settings (Input, InputPath, InputTransformer) make of it.

Sources, all AWS documentation unless said otherwise:
- UG: EventBridge User Guide, "Amazon EventBridge input transformation"
  (eb-transform-target-input): supported JSONPath, predefined variables, examples,
  "Common issues with transforming input";
- API: EventBridge API Reference, Target (Input, InputPath) and InputTransformer
  (InputPathsMap, InputTemplate) and their length and pattern constraints;
- Tutorial: "Use input transformers to transform events" (eb-input-transformer-tutorial);
- Pipes: "Amazon EventBridge Pipes input transformation", whose list of common issues
  spells out rules the UG states more briefly (the same transformer);
- Recorded: deliveries to an SQS target recorded against AWS by LocalStack's validated
  test snapshots (tests/aws/services/events/test_events_inputs.snapshot.json), for the
  cases the documentation leaves open. Each use says so where it is made.

Values are taken from the event's own text (the DLQ body is EventBridge's own
serialisation of the event), never re-serialised from parsed Python values: a number
keeps its spelling (1200.50 stays 1200.50), a string its escapes, an object its key
order and non-ASCII text.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any, Callable, Optional, Union

# --- JSONPath -------------------------------------------------------------
#
# EventBridge "does not support all JSON Path syntax". UG lists what it does support:
# dot notation ($.detail), dashes, underscores, alphanumeric characters, array indices,
# wildcards (*) and forward slashes. API allows dot or bracket notation for InputPath
# (goessner JSONPath, so bracket names are quoted: $['detail']['state']). Everything else
# of JSONPath (recursive descent, filters, slices, unions, negative indexes, functions)
# is refused with PathError rather than guessed at.

# A dot-notation member name: the characters UG lists.
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
    return _evaluate(document, parse_path(path), _parsed_children)


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


# A path is evaluated over nodes of either kind: parsed values (resolve_path) or spans
# of the event's text (target_payload). One evaluator keeps both to the same meaning.
_Children = Callable[[Any, _Step], list[Any]]


def _evaluate(root: Any, steps: list[_Step], children: _Children) -> tuple[bool, Any]:
    indefinite = any(step is _WILDCARD for step in steps)
    current = [root]
    for step in steps:
        current = [child for node in current for child in children(node, step)]
        if not current and not indefinite:
            return False, None
    if indefinite:
        return True, current
    return True, current[0]


def _parsed_children(value: Any, step: _Step) -> list[Any]:
    if step is _WILDCARD:
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if isinstance(step, str):
        return [value[step]] if isinstance(value, dict) and step in value else []
    if isinstance(step, int) and isinstance(value, list) and step < len(value):
        return [value[step]]
    return []


# --- The event's text -----------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SPACE = frozenset(" \t\n\r")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class _Span:
    """One JSON value of the event's text: text[start:end]."""

    text: str
    start: int
    end: int

    @property
    def literal(self) -> str:
        return self.text[self.start : self.end]

    @property
    def opener(self) -> str:
        return self.text[self.start]


def _skip_space(text: str, position: int) -> int:
    if text[position : position + 1] not in _SPACE:  # compact JSON: the usual case
        return position
    return _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]


def _span_at(text: str, start: int) -> _Span:
    # raw_decode runs the C scanner; it only serves to find where the value ends.
    return _Span(text, start, _DECODER.raw_decode(text, start)[1])


def _root_span(text: str) -> _Span:
    return _span_at(text, _skip_space(text, 0))


def _object_members(span: _Span) -> Iterator[tuple[str, _Span]]:
    text = span.text
    position = _skip_space(text, span.start + 1)
    while text[position] != "}":
        name, position = scanstring(text, position + 1)
        position = _skip_space(text, _skip_space(text, position) + 1)  # past ':'
        value = _span_at(text, position)
        yield name, value
        position = _skip_space(text, value.end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)


def _array_elements(span: _Span) -> Iterator[_Span]:
    text = span.text
    position = _skip_space(text, span.start + 1)
    while text[position] != "]":
        value = _span_at(text, position)
        yield value
        position = _skip_space(text, value.end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)


class _EventText:
    """The event's text, each container read once however many paths go through it."""

    def __init__(self, text: str) -> None:
        self.root = _root_span(text)
        self._members: dict[int, list[tuple[str, _Span]]] = {}
        self._elements: dict[int, list[_Span]] = {}

    def members(self, span: _Span) -> list[tuple[str, _Span]]:
        if span.start not in self._members:
            self._members[span.start] = list(_object_members(span))
        return self._members[span.start]

    def elements(self, span: _Span) -> list[_Span]:
        if span.start not in self._elements:
            self._elements[span.start] = list(_array_elements(span))
        return self._elements[span.start]

    def children(self, span: _Span, step: _Step) -> list[_Span]:
        if span.opener == "{":
            members = self.members(span)
            if step is _WILDCARD:
                return [value for _name, value in members]
            # A repeated name: the last one wins, as it does for json.loads.
            named = [value for name, value in members if name == step]
            return named[-1:]
        if span.opener == "[":
            elements = self.elements(span)
            if step is _WILDCARD:
                return elements
            if isinstance(step, int) and step < len(elements):
                return [elements[step]]
        return []

    def value(self, steps: list[_Step]) -> _Value:
        found, result = _evaluate(self.root, steps, self.children)
        if not found:
            return _Value(None)
        if isinstance(result, list):
            # A wildcard path: its matches as a JSON array, each in its own text.
            return _Value("[" + ",".join(span.literal for span in result) + "]")
        return _Value(result.literal)


# --- Values put into a template -------------------------------------------


@dataclass(frozen=True)
class _Value:
    """A variable's value as JSON text; None when its path is not in the event."""

    literal: Optional[str]

    def as_json(self) -> str:
        """For a placeholder outside a string in a JSON template."""
        # UG, Common issues: "Quotes are not required for variables that represent
        # strings ... EventBridge automatically adds quotes to string variable values";
        # objects, arrays, numbers, booleans and null go in as the JSON they are.
        # A missing variable "isn't created": recorded against AWS, `"command": <command>`
        # with $.detail.notinmessage delivered `"command": ""`.
        return '""' if self.literal is None else self.literal

    def as_text(self) -> str:
        """For a placeholder inside a string, or anywhere in a template that is not JSON."""
        if self.literal is None:
            # Recorded against AWS: "... from detail <command>" with a missing path
            # delivered "... from detail ".
            return ""
        opener = self.literal[0]
        if opener == '"':
            # UG: "EventBridge doesn't escape values extracted by Input Path, when
            # populating the Input Template": the string itself goes in, unescaped.
            return _utf8_text(str(json.loads(self.literal)))
        if opener in "{[":
            # UG: "If a JSON path references a JSON object or array, but the variable is
            # referenced in a string, EventBridge removes any internal quotes".
            return self.literal.replace('"', "")
        return self.literal


def _utf8_text(text: str) -> str:
    """A JSON string may escape a lone surrogate ("\\ud800"); unescaped it is no UTF-8
    text, so no target API could carry the payload: the event cannot be delivered."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise TransformError(
                "invalid_event",
                "a string the template puts unescaped holds a lone surrogate "
                "(an escaped \\ud800-\\udfff), which UTF-8 text cannot carry",
            ) from None
    return text


def _string_value(text: str) -> _Value:
    # Values EventBridge supplies (rule ARN and name, ingestion time) as JSON strings:
    # non-ASCII kept, as EventBridge keeps it in what it delivers.
    return _Value(json.dumps(text, ensure_ascii=False))


# --- Target settings ------------------------------------------------------

# API constraints (Target, InputTransformer).
MAX_INPUT_CHARS = 8192
MAX_PATH_CHARS = 256
MAX_TEMPLATE_CHARS = 8192
MAX_VARIABLES = 100
MAX_VARIABLE_NAME_CHARS = 256
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_\-]+")

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
PREDEFINED = (RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON)

# Recorded against AWS: <aws.events.event> ("the original event payload as JSON
# (without the detail field)", UG) arrived as an object with these members in this
# order, detail-type renamed detailType.
_EVENT_MEMBERS = (
    ("id", "id"),
    ("account", "account"),
    ("detailType", "detail-type"),
    ("time", "time"),
    ("source", "source"),
    ("region", "region"),
    ("resources", "resources"),
    ("version", "version"),
)

_INPUT_SETTINGS = ("Input", "InputPath", "InputTransformer")


class TransformError(ValueError):
    """The target's input settings cannot be applied to the event.

    `code` is a snake_case reason: conflicting_input, invalid_input, invalid_input_path,
    input_path_not_found, invalid_input_paths_map, invalid_template, invalid_event.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RuleContext:
    """What the predefined variables render, for the rule the target belongs to.

    `ingestion_time` is what <aws.events.event.ingestion-time> renders: the time
    EventBridge received the event, an ISO 8601 timestamp. A DLQ message does not
    carry it, so callers pass the event's own `time`, which for events put without
    an explicit Time is the time EventBridge received them.
    """

    rule_arn: str
    rule_name: str
    ingestion_time: str


def target_payload(
    event_text: str, event: Mapping[str, Any], target: Mapping[str, Any], context: RuleContext
) -> str:
    """The text the target receives.

    `event_text` is the event exactly as in the DLQ body (returned byte-for-byte when
    the target has no input settings); `event` is its parsed form; `target` is the
    target as ListTargetsByRule returns it (keys Input, InputPath,
    InputTransformer{InputPathsMap, InputTemplate}, ...).

    - Input: the constant JSON text, as given (API: "nothing from the event itself is
      passed to the target").
    - InputPath: the value at the path, as the JSON text it has in the event (a string
      arrives quoted: recorded against AWS, $.detail.payload.sf_id delivered "baz").
    - InputTransformer: the template with each placeholder filled in (the rules are at
      _parse_template and _Value).

    Raises TransformError with a code when the settings are invalid or cannot be
    applied to this event.
    """
    if not isinstance(event, Mapping):
        raise TransformError("invalid_event", "the event is not a JSON object")
    chosen = [name for name in _INPUT_SETTINGS if target.get(name) is not None]
    if len(chosen) > 1:
        # API (PutTargets ValidationException): "Only one of Input, InputPath, or
        # InputTransformer must be provided".
        raise TransformError(
            "conflicting_input", f"only one of Input, InputPath, InputTransformer: got {chosen}"
        )
    if not chosen:
        return event_text
    if chosen[0] == "Input":
        return _constant_input(target["Input"])
    document = _event_root(event_text)
    if chosen[0] == "InputPath":
        return _input_path(document, target["InputPath"])
    return _transformed(document, target["InputTransformer"], context)


def _constant_input(text: Any) -> str:
    if not isinstance(text, str) or len(text) > MAX_INPUT_CHARS:
        raise TransformError("invalid_input", f"Input must be text of at most {MAX_INPUT_CHARS}")
    try:
        json.loads(text)
    except ValueError as error:
        # API: Input is "Valid JSON text passed to the target".
        raise TransformError("invalid_input", f"Input is not valid JSON: {error}") from None
    return text


def _event_root(event_text: str) -> _EventText:
    try:
        document = _EventText(event_text)
    except (ValueError, IndexError) as error:
        raise TransformError("invalid_event", f"the event is not JSON: {error}") from None
    if document.root.opener != "{":
        raise TransformError("invalid_event", "the event is not a JSON object")
    if _skip_space(event_text, document.root.end) != len(event_text):
        raise TransformError("invalid_event", "the event has text after its JSON object")
    return document


def _steps(path: Any, setting: str) -> list[_Step]:
    if not isinstance(path, str) or len(path) > MAX_PATH_CHARS:
        raise TransformError(
            "invalid_input_path", f"{setting} must be a JSONPath of at most {MAX_PATH_CHARS}"
        )
    try:
        return parse_path(path)
    except PathError as error:
        raise TransformError("invalid_input_path", f"{setting}: {error}") from None


def _input_path(document: _EventText, path: Any) -> str:
    value = document.value(_steps(path, "InputPath")).literal
    if value is None:
        # The documentation does not say what a target receives then; delivering a
        # guess would not be redriving what EventBridge delivered.
        raise TransformError("input_path_not_found", f"InputPath {path!r} is not in the event")
    return value


def _transformed(document: _EventText, transformer: Any, context: RuleContext) -> str:
    if not isinstance(transformer, Mapping):
        raise TransformError("invalid_template", "InputTransformer must be an object")
    paths = _paths_map(transformer.get("InputPathsMap") or {})
    template = _template_text(transformer.get("InputTemplate"))
    segments = _parse_template(template, frozenset(paths) | frozenset(PREDEFINED))
    values: dict[str, _Value] = {}
    for segment in segments:
        if isinstance(segment, _Placeholder) and segment.name not in values:
            values[segment.name] = _variable(segment.name, document, paths, context)
    return "".join(
        segment if isinstance(segment, str) else segment.render(values[segment.name])
        for segment in segments
    )


def _paths_map(paths: Any) -> dict[str, list[_Step]]:
    if not isinstance(paths, Mapping):
        raise TransformError("invalid_input_paths_map", "InputPathsMap must be an object")
    if len(paths) > MAX_VARIABLES:
        raise TransformError(
            "invalid_input_paths_map",
            f"InputPathsMap has {len(paths)} variables; at most {MAX_VARIABLES}",
        )
    return {
        _variable_name(name): _steps(path, f"InputPathsMap[{name!r}]")
        for name, path in paths.items()
    }


def _variable_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TransformError("invalid_input_paths_map", f"variable name {name!r} is not text")
    if name in PREDEFINED or name.lower().startswith("aws."):
        # UG: predefined variables "are reserved, and you can't create variables with
        # these names"; API: "The keys cannot start with 'AWS.'".
        raise TransformError("invalid_input_paths_map", f"variable name {name!r} is reserved")
    if len(name) > MAX_VARIABLE_NAME_CHARS or not _VARIABLE_NAME.fullmatch(name):
        # API: key pattern [A-Za-z0-9\_\-]+, 1 to 256 characters.
        raise TransformError(
            "invalid_input_paths_map",
            f"variable name {name!r} must be 1-{MAX_VARIABLE_NAME_CHARS} "
            "letters, digits, '_' or '-'",
        )
    return name


def _template_text(template: Any) -> str:
    if not isinstance(template, str) or not 1 <= len(template) <= MAX_TEMPLATE_CHARS:
        raise TransformError(
            "invalid_template", f"InputTemplate must be text of 1 to {MAX_TEMPLATE_CHARS}"
        )
    return template


def _variable(
    name: str, document: _EventText, paths: Mapping[str, list[_Step]], context: RuleContext
) -> _Value:
    if name == RULE_ARN:
        return _string_value(context.rule_arn)
    if name == RULE_NAME:
        return _string_value(context.rule_name)
    if name == INGESTION_TIME:
        return _string_value(context.ingestion_time)
    if name == EVENT_JSON:
        # UG: "The full original event payload as JSON (with the detail field)".
        return _Value(document.root.literal)
    if name == EVENT:
        return _Value(_event_without_detail(document, context))
    return document.value(paths[name])


def _event_without_detail(document: _EventText, context: RuleContext) -> str:
    members = dict(document.members(document.root))
    parts = []
    for shown, name in _EVENT_MEMBERS:
        if name == "time":
            # Recorded against AWS, this member holds the ingestion time.
            text = json.dumps(context.ingestion_time, ensure_ascii=False)
        elif name in members:
            text = members[name].literal
        else:
            continue
        parts.append(f"{json.dumps(shown)}:{text}")
    return "{" + ",".join(parts) + "}"


# --- Templates ------------------------------------------------------------
#
# A placeholder is any <...>: Tutorial, "The characters < and > can't be escaped";
# recorded against AWS, PutTargets refuses a template naming a variable that is neither
# predefined nor in InputPathsMap ("InputTemplate ... contains invalid placeholder").
_PLACEHOLDER = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class _Placeholder:
    name: str
    as_json: bool  # outside any string of a JSON template

    def render(self, value: _Value) -> str:
        return value.as_json() if self.as_json else value.as_text()


_Segment = Union[str, _Placeholder]


@functools.lru_cache(maxsize=256)
def _parse_template(template: str, defined: frozenset[str]) -> tuple[_Segment, ...]:
    """The template as literal text and placeholders.

    A template whose first character (after white space) is `{` or `[` is JSON; its
    placeholders outside string literals take JSON values, those inside strings take
    text (API: "The InputTemplate can also be valid JSON with variables in quotes or
    out"). Any other template - a quoted string such as "instance <instance> is in
    <state>", several quoted lines, or plain text - is text, and every placeholder in
    it takes text: UG, "if you want to output a JSON object based on a single JSON path
    variable, you must place it as a key", as in {"detail": <detail>}.
    """
    json_template = template.lstrip(" \t\r\n")[:1] in ("{", "[")
    segments: list[_Segment] = []
    literal_start = 0
    in_string = False
    # The last placeholder of the string being read, to refuse the string as a key.
    in_this_string: Optional[str] = None
    position = 0
    while position < len(template):
        char = template[position]
        placeholder = _PLACEHOLDER.match(template, position) if char == "<" else None
        if placeholder is not None:
            name = _placeholder_name(placeholder.group(1), defined)
            outside = json_template and not in_string
            if outside and _followed_by_colon(template, placeholder.end()):
                raise _key_placeholder(name)
            segments.extend((template[literal_start:position], _Placeholder(name, outside)))
            in_this_string = name if in_string else None
            position = literal_start = placeholder.end()
        elif json_template and in_string and char == "\\":
            # An escape inside a string; "<" cannot be escaped (Tutorial), so it stays.
            position += 1 if template[position + 1 : position + 2] == "<" else 2
        elif json_template and char == '"':
            if in_this_string is not None and _followed_by_colon(template, position + 1):
                raise _key_placeholder(in_this_string)
            in_string = not in_string
            in_this_string = None
            position += 1
        else:
            position += 1
    segments.append(template[literal_start:])
    # Cached: a run applies one target's template to many events.
    return tuple(segment for segment in segments if segment != "")


def _placeholder_name(name: str, defined: frozenset[str]) -> str:
    if name not in defined:
        raise TransformError(
            "invalid_template",
            f"InputTemplate contains invalid placeholder {name!r} "
            "(neither predefined nor in InputPathsMap)",
        )
    return name


def _followed_by_colon(template: str, position: int) -> bool:
    return template[_skip_space(template, position) : _skip_space(template, position) + 1] == ":"


def _key_placeholder(name: str) -> TransformError:
    # API: "If InputTemplate is a JSON object ... The placeholder cannot be used as an
    # object key."
    return TransformError("invalid_template", f"placeholder <{name}> is used as an object key")
