"""The lookup's static DOCUMENTATION must say what options.OPTIONS says, so they cannot drift."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.redrive.eventbridge.plugins.doc_fragments import redrive
from ansible_collections.redrive.eventbridge.plugins.doc_fragments.connection import (
    ModuleDocFragment,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils import options
from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import ConnectionOptions
from ansible_collections.redrive.eventbridge.plugins.module_utils.connection import (
    lookup_option_names as connection_option_names,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.planning import (
    Planner,
    PlanSettings,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import parse_message
from ansible_collections.redrive.eventbridge.plugins.module_utils.views import message_item
from tests.support.events import custom_event, eventbridge_dlq_message, malformed_message

REPO = Path(__file__).resolve().parents[2]
LOOKUP = REPO / "plugins" / "lookup" / "dlq_messages.py"
LOOKUP_ONLY = {"_terms", "max_messages", "include_body"}


def _constants() -> dict[str, Any]:
    """The plugin's module-level string and tuple constants, read without importing it."""
    found: dict[str, Any] = {}
    for node in ast.parse(LOOKUP.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return found


CONSTANTS = _constants()
DOC = yaml.safe_load(CONSTANTS["DOCUMENTATION"])
SHARED_FRAGMENTS = ("filters", "entries")
FRAGMENT_OPTIONS: dict[str, dict[str, Any]] = {
    name: spec
    for part in SHARED_FRAGMENTS
    for name, spec in yaml.safe_load(getattr(redrive.ModuleDocFragment, part.upper()))[
        "options"
    ].items()
}
# What ansible-doc shows: the plugin's own options and the shared fragments'.
DOC_OPTIONS: dict[str, dict[str, Any]] = {**DOC["options"], **FRAGMENT_OPTIONS}
SHARED = {option.name: option for option in options.OPTIONS if option.in_lookup}


def test_documentation_is_a_lookup_of_this_collection() -> None:
    assert DOC["name"] == "dlq_messages"
    assert DOC["extends_documentation_fragment"] == [
        "redrive.eventbridge.connection.plugins",
        *(f"redrive.eventbridge.redrive.{part}" for part in SHARED_FRAGMENTS),
    ]
    assert set(SHARED) == set(options.lookup_option_names())


def test_documents_exactly_the_shared_options_and_its_own() -> None:
    assert set(DOC["options"]) == LOOKUP_ONLY
    assert set(FRAGMENT_OPTIONS) == set(SHARED)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_option_matches_options_py(name: str) -> None:
    option = SHARED[name]
    documented = DOC_OPTIONS[name]
    assert documented["type"] == option.type
    assert documented.get("default") == option.default
    assert documented.get("elements") == option.elements
    assert bool(documented.get("required", False)) == option.required
    assert documented.get("description"), name


def test_own_options() -> None:
    assert DOC_OPTIONS["_terms"]["type"] == "list"
    assert DOC_OPTIONS["_terms"]["elements"] == "str"
    assert DOC_OPTIONS["_terms"]["required"] is True
    assert DOC_OPTIONS["max_messages"]["type"] == "int"
    assert DOC_OPTIONS["max_messages"]["default"] == 100
    assert DOC_OPTIONS["include_body"]["type"] == "bool"
    assert DOC_OPTIONS["include_body"]["default"] is True


def test_connection_options_are_those_of_the_fragment_and_of_aws_py() -> None:
    fragment = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]
    names = set(connection_option_names())
    assert names == set(fragment)
    assert names == set(ConnectionOptions.__dataclass_fields__) - {"max_attempts"}
    assert not names & set(DOC_OPTIONS), "connection options come from the fragment only"


def _item(send_kwargs: dict[str, Any]) -> dict[str, Any]:
    """An item as the lookup builds it (views.message_item over the module's planner)."""
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "h-1",
        "Body": send_kwargs["MessageBody"],
        "MessageAttributes": send_kwargs["MessageAttributes"],
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
    }
    record = parse_message(message)
    planner = Planner(PlanSettings(options.entry_options({}), options.record_filter({})))
    return message_item(record, planner.decide(record, 1700000001000), "url", 1700000001000)


def test_return_documents_every_item_key() -> None:
    raw = yaml.safe_load(CONSTANTS["RETURN"])["_raw"]
    assert raw["type"] == "list" and raw["elements"] == "dict"
    keys = set(_item(eventbridge_dlq_message(custom_event(1)))) | set(_item(malformed_message()))
    assert "body" in keys
    assert set(raw["contains"]) == keys
    for key, spec in raw["contains"].items():
        assert spec.get("description") and spec.get("type"), key


def test_examples_are_yaml_tasks_using_lookup_then_module() -> None:
    tasks = yaml.safe_load(CONSTANTS["EXAMPLES"])
    assert len(tasks) >= 2 and all(task.get("name") for task in tasks)
    text = CONSTANTS["EXAMPLES"]
    assert "query('redrive.eventbridge.dlq_messages'" in text
    assert "selectattr('attributes.error_code'" in text
    assert any("redrive.eventbridge.eventbridge_dlq_redrive" in task for task in tasks)
