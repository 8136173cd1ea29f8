# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One definition of every redrive option, for the module, the lookup and the CLI.

The module's argument_spec and the CLI's argument table are generated from
OPTIONS, so a name, type or default cannot drift between them; the settings
objects the engine takes are built here from the resulting plain mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from .batching import DEFAULT_MAX_REQUEST_BYTES
from .engine import RedriveSettings
from .entries import DEFAULT_AWS_SOURCE_PREFIX, EntryOptions, OptionError
from .filters import RecordFilter
from .patterns import PatternError
from .planning import KEEP_UNMATCHED, PUT_UNMATCHED, PlanSettings
from .routing import DeliverTo


@dataclass(frozen=True)
class Option:
    name: str
    type: str
    help: str
    default: Any = None
    elements: Optional[str] = None
    required: bool = False
    in_lookup: bool = False
    choices: Optional[tuple[str, ...]] = None


FILTER_OPTIONS = (
    Option(
        "rule_arns",
        "list",
        "Only messages whose RULE_ARN is one of these.",
        elements="str",
        in_lookup=True,
    ),
    Option(
        "target_arns",
        "list",
        "Only messages whose TARGET_ARN is one of these.",
        elements="str",
        in_lookup=True,
    ),
    Option(
        "error_codes",
        "list",
        "Only messages whose ERROR_CODE is one of these.",
        elements="str",
        in_lookup=True,
    ),
    Option(
        "exhausted_retry_conditions",
        "list",
        "Only messages whose EXHAUSTED_RETRY_CONDITION is one of these.",
        elements="str",
        in_lookup=True,
    ),
    Option(
        "message_ids",
        "list",
        "Only these SQS message ids (as the lookup returns them).",
        elements="str",
        in_lookup=True,
    ),
    Option(
        "min_age_seconds", "float", "Only messages at least this old in the DLQ.", in_lookup=True
    ),
    Option(
        "max_age_seconds", "float", "Only messages at most this old in the DLQ.", in_lookup=True
    ),
    Option(
        "event_pattern",
        "raw",
        "Only messages whose original event matches this EventBridge event pattern (JSON).",
        in_lookup=True,
    ),
)

ENTRY_OPTIONS = (
    Option(
        "event_bus",
        "str",
        "Bus (name or ARN) for every entry; default: from RULE_ARN.",
        in_lookup=True,
    ),
    Option(
        "aws_source_prefix",
        "str",
        "Prefix put before aws.* sources, which PutEvents refuses.",
        default=DEFAULT_AWS_SOURCE_PREFIX,
        in_lookup=True,
    ),
    Option(
        "rewrite_aws_sources",
        "bool",
        "Prefix aws.* sources; when false they are sent as is and PutEvents refuses them.",
        default=True,
        in_lookup=True,
    ),
    Option("source_override", "str", "Replace every source with this string.", in_lookup=True),
    Option(
        "marker_field",
        "str",
        "Add this key to each Detail with the original event id and DLQ message id.",
        in_lookup=True,
    ),
    Option(
        "max_request_bytes",
        "int",
        "PutEvents request size limit in bytes.",
        default=DEFAULT_MAX_REQUEST_BYTES,
        in_lookup=True,
    ),
    Option(
        "when_rule_unmatched",
        "str",
        "What to do with an event put on a bus that its rule would no longer match: keep it "
        "in the DLQ or put it anyway.",
        default=KEEP_UNMATCHED,
        in_lookup=True,
        choices=(KEEP_UNMATCHED, PUT_UNMATCHED),
    ),
)

ROUTE_OPTIONS = (
    Option(
        "deliver_to",
        "str",
        "Where messages go: target (the rule target that failed, as EventBridge would have "
        "delivered it), bus (put back on the event bus) or auto (the target where it can be "
        "resolved and its type is supported, else the bus).",
        default=DeliverTo.AUTO.value,
        in_lookup=True,
        choices=tuple(choice.value for choice in DeliverTo),
    ),
    Option(
        "decrypt",
        "bool",
        "Decrypt encrypted-event wrappers (KMS) and redrive the original event; needs the "
        "'decrypt' extra (aws-encryption-sdk).",
        default=False,
        in_lookup=True,
    ),
    Option(
        "target_arn",
        "str",
        "The target of messages that name none (a Lambda asynchronous-invocation DLQ).",
        in_lookup=True,
    ),
)

RUN_OPTIONS = (
    Option("max_messages", "int", "Stop after receiving this many messages."),
    Option("max_seconds", "float", "Stop receiving after this many seconds."),
    Option("concurrency", "int", "Workers receiving, putting and deleting in parallel.", default=8),
    Option("rate_limit", "float", "At most this many entries per second, over all workers."),
    Option(
        "quarantine_queue",
        "str",
        "Queue (name, URL or ARN) that receives messages that cannot be redriven.",
    ),
    Option(
        "dedupe",
        "bool",
        "Deliver each event once per destination (target and rule, or bus) per run; "
        "delete the other copies after.",
        default=True,
    ),
    Option("include_bodies", "bool", "Include message bodies in kept_messages.", default=False),
    Option("wait_seconds", "int", "Long-poll wait of each receive.", default=1),
    Option(
        "empty_receives",
        "int",
        "Consecutive empty receives that mean the queue is drained.",
        default=2,
    ),
    Option(
        "visibility_timeout",
        "int",
        "Seconds a received message stays hidden while the run works on it (extended while "
        "the work lasts longer).",
        default=120,
    ),
)

OPTIONS = FILTER_OPTIONS + ENTRY_OPTIONS + ROUTE_OPTIONS + RUN_OPTIONS


def argument_spec(options: tuple[Option, ...] = OPTIONS) -> dict[str, dict[str, Any]]:
    """Ansible argument_spec entries for the given options."""
    spec: dict[str, dict[str, Any]] = {}
    for option in options:
        entry: dict[str, Any] = {"type": option.type}
        if option.default is not None:
            entry["default"] = option.default
        if option.elements:
            entry["elements"] = option.elements
        if option.choices:
            entry["choices"] = list(option.choices)
        spec[option.name] = entry
    return spec


def entry_options(params: Mapping[str, Any]) -> EntryOptions:
    return EntryOptions(
        event_bus=params.get("event_bus") or None,
        aws_source_prefix=params.get("aws_source_prefix") or DEFAULT_AWS_SOURCE_PREFIX,
        source_override=params.get("source_override"),
        rewrite_aws_sources=params.get("rewrite_aws_sources", True) is not False,
        marker_field=params.get("marker_field") or None,
    )


def record_filter(params: Mapping[str, Any]) -> RecordFilter:
    try:
        return RecordFilter.build(
            rule_arns=params.get("rule_arns"),
            target_arns=params.get("target_arns"),
            error_codes=params.get("error_codes"),
            exhausted_retry_conditions=params.get("exhausted_retry_conditions"),
            message_ids=params.get("message_ids"),
            min_age_seconds=params.get("min_age_seconds"),
            max_age_seconds=params.get("max_age_seconds"),
            event_pattern=params.get("event_pattern"),
        )
    except PatternError as error:
        raise OptionError(f"event_pattern is not a valid event pattern: {error}") from None


def plan_settings(params: Mapping[str, Any]) -> PlanSettings:
    """How the lookup and peek plan: the module's entry options and filters."""
    return PlanSettings(
        entry_options(params),
        record_filter(params),
        int(params.get("max_request_bytes") or DEFAULT_MAX_REQUEST_BYTES),
        _choice(params, "when_rule_unmatched"),
        DeliverTo(_choice(params, "deliver_to")),
        params.get("target_arn") or None,
        params.get("decrypt") is True,
    )


def _choice(params: Mapping[str, Any], name: str) -> str:
    option = next(option for option in OPTIONS if option.name == name)
    value = params.get(name) or option.default
    if option.choices and value not in option.choices:
        raise OptionError(f"{name} must be one of {', '.join(option.choices)}, got {value!r}")
    return str(value)


def redrive_settings(
    params: Mapping[str, Any], queue_url: str, quarantine_url: Optional[str] = None
) -> RedriveSettings:
    """Settings from a mapping of option values (defaults filled in for missing ones)."""
    values = {option.name: option.default for option in OPTIONS}
    values.update({key: value for key, value in params.items() if value is not None})
    return RedriveSettings(
        queue_url=queue_url,
        entry_options=entry_options(values),
        record_filter=record_filter(values),
        max_messages=values["max_messages"],
        max_seconds=values["max_seconds"],
        concurrency=values["concurrency"],
        rate_limit=values["rate_limit"],
        max_request_bytes=values["max_request_bytes"],
        quarantine_queue_url=quarantine_url,
        dedupe=values["dedupe"],
        include_bodies=values["include_bodies"],
        wait_seconds=values["wait_seconds"],
        empty_receives=values["empty_receives"],
        visibility_timeout=values["visibility_timeout"],
        when_rule_unmatched=_choice(values, "when_rule_unmatched"),
        deliver_to=DeliverTo(_choice(values, "deliver_to")),
        target_arn=values.get("target_arn") or None,
        decrypt=values.get("decrypt") is True,
    )


def lookup_option_names() -> list[str]:
    return [option.name for option in OPTIONS if option.in_lookup]
