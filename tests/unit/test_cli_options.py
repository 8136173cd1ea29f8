"""The `aws eventbridge-dlq` argument tables come from options.OPTIONS, through awscli's parser."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from awscli.arguments import CustomArgument

from ansible_collections.redrive.eventbridge.cli import eventbridge_dlq as plugin
from ansible_collections.redrive.eventbridge.plugins.module_utils import options
from tests.support.ansible_run import collections_root

CLI_TYPE = {
    "str": "string",
    "int": "integer",
    "float": "double",
    "list": "list",
    "bool": "boolean",
    "raw": "string",  # an event pattern is given as JSON text
}


def arguments(table: list[dict[str, Any]]) -> dict[str, CustomArgument]:
    return {spec["name"]: CustomArgument(**spec) for spec in table}


class FakeSession:
    """What BasicCommand asks of the CLI's session while it parses."""

    def emit(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def emit_first_non_none_response(self, *args: Any, **kwargs: Any) -> None:
        return None


def parse(command_class: type, argv: list[str]) -> dict[str, Any]:
    """Run a subcommand through awscli's parser and return the params it would pass on."""
    seen: dict[str, Any] = {}

    class Capture(command_class):  # type: ignore[misc, valid-type]
        def run(self, parsed_args: Any, parsed_globals: Any) -> int:
            seen.update(vars(parsed_args))
            return 0

    assert Capture(FakeSession())(argv, argparse.Namespace()) == 0
    return seen


def test_every_option_is_a_kebab_case_argument_of_the_mapped_type() -> None:
    table = arguments(plugin.redrive_arguments(options))
    for option in options.OPTIONS:
        name = option.name.replace("_", "-")
        assert name in table, f"--{name} missing"
        assert table[name].cli_type_name == CLI_TYPE[option.type], name
        assert table[name].required == option.required
        if option.type == "bool":
            assert table[f"no-{name}"].cli_type_name == "boolean"
    extra = set(table) - {o.name.replace("_", "-") for o in options.OPTIONS}
    extra -= {f"no-{o.name.replace('_', '-')}" for o in options.OPTIONS if o.type == "bool"}
    assert extra == {"queue", "dry-run"}
    assert table["queue"].required


def test_peek_takes_the_lookup_options() -> None:
    table = arguments(plugin.peek_arguments(options))
    wanted = {o.name.replace("_", "-") for o in options.OPTIONS if o.in_lookup}
    flags = {
        f"no-{o.name.replace('_', '-')}"
        for o in options.OPTIONS
        if o.in_lookup and o.type == "bool"
    }
    assert set(table) == wanted | flags | {
        "queue",
        "max-messages",
        "include-body",
        "no-include-body",
    }


@pytest.mark.parametrize("table", [plugin.peek_arguments, plugin.redrive_arguments])
def test_no_argument_is_fetched_as_a_parameter_file(table: Any) -> None:
    # AWS CLI v1 fetches http(s):// values unless no_paramfile is set; queue URLs are such values.
    assert all(argument.no_paramfile for argument in arguments(table(options)).values())


def test_parsed_values_have_the_module_types_and_defaults() -> None:
    params = parse(
        plugin.RedriveCommand,
        [
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
            "--error-codes",
            "CONNECTION_FAILURE",
            "TIMEOUT",
            "--max-seconds",
            "1.5",
            "--concurrency",
            "3",
            "--no-dedupe",
        ],
    )
    assert params["queue"] == "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"
    assert params["error_codes"] == ["CONNECTION_FAILURE", "TIMEOUT"]
    assert params["max_seconds"] == 1.5 and params["concurrency"] == 3
    assert params["dedupe"] is False and params["dry_run"] is False
    for option in options.OPTIONS:
        if option.name not in ("error_codes", "max_seconds", "concurrency", "dedupe"):
            assert params[option.name] == option.default, option.name


def test_peek_defaults() -> None:
    params = parse(plugin.PeekCommand, ["--queue", "dlq", "--no-rewrite-aws-sources"])
    assert params["max_messages"] == 100 and params["include_body"] is True
    assert params["rewrite_aws_sources"] is False


def test_usage_errors_exit_1_not_2_which_means_kept() -> None:
    assert plugin.RedriveCommand(FakeSession())(["--queue"], argparse.Namespace()) == 1
    assert (
        plugin.RedriveCommand(FakeSession())(
            ["--queue", "q", "--concurrency", "many"], argparse.Namespace()
        )
        == 1
    )


@pytest.mark.parametrize(
    ("result", "code"),
    [
        ({"kept": 0, "quarantined": 0, "stopped_by": "drained"}, 0),
        ({"kept": 1, "quarantined": 0}, 2),
        ({"kept": 0, "quarantined": 3}, 2),
        ({"kept": 0, "delete_failures": 1}, 2),
        ({"kept": 0, "stopped_by": "interrupted"}, 130),
        ({"kept": 0, "quarantined": 0, "stopped_by": "in_flight_limit"}, 2),
        ({"kept": 4, "error": {"code": "AccessDenied", "message": "PutEvents: AccessDenied"}}, 1),
    ],
)
def test_exit_codes(result: dict[str, Any], code: int) -> None:
    assert plugin.summary_exit_code(result) == code


def test_progress_is_throttled_and_ends_the_line() -> None:
    stream = io.StringIO()
    progress = plugin.ProgressLine(stream)
    snapshot = {"received": 20, "redriven": 18, "kept": 2, "elapsed_seconds": 2.0}
    progress(snapshot)
    progress(snapshot)
    progress.close()
    assert stream.getvalue().count("\r") == 1
    assert "20 done: 18 redriven, 2 kept" in stream.getvalue()
    assert "10.0 msg/s" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_plugin_import_is_light(tmp_path: Path) -> None:
    """`aws` imports the plugin for every command: no boto3, no collection code."""
    code = (
        "import sys; import ansible_collections.redrive.eventbridge.cli.eventbridge_dlq as p; "
        "p.awscli_initialize(type('E', (), {'register': lambda *a: None})()); "
        "print(sorted(m for m in sys.modules if m.startswith(('boto3', 's3transfer', "
        "'ansible_collections.redrive.eventbridge.plugins'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(collections_root(tmp_path))}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"
