# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`aws eventbridge-dlq peek | redrive`: the AWS CLI plugin.

Enable it in ~/.aws/config (AWS CLI v1; v2 also needs cli_legacy_plugin_path, the
directory the collection was installed into with `pip install --target`):

    [plugins]
    eventbridge_dlq = ansible_collections.redrive.eventbridge.cli.eventbridge_dlq

`aws` imports every configured plugin before running any command, so this
module imports only awscli at the top: the collection's code (and the option
table generated from it) is imported when an `eventbridge-dlq` command runs,
and a problem there fails that command alone. The work is done in
plugins/module_utils; this file is argument wiring and output.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, ClassVar, TextIO

from awscli.customizations.commands import BasicCommand

try:  # AWS CLI v2: its argument parser raises this where argparse exits with status 2
    from awscli.argparser import ArgParseException as UsageError
except ImportError:  # AWS CLI v1

    class UsageError(Exception):  # type: ignore[no-redef]
        """Never raised under AWS CLI v1, whose parser exits with status 2."""


PROG = "aws eventbridge-dlq"
CORE = "ansible_collections.redrive.eventbridge.plugins.module_utils"
INSTALL_HINT = "install the redrive.eventbridge Python package in the Python that runs aws"

OK, FAILED, SOME_KEPT = 0, 1, 2
# What `aws` itself returns on Ctrl-C (128 + SIGINT).
INTERRUPTED = 130

# Ansible option types -> AWS CLI argument types.
CLI_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "double",
    "list": "list",
    "raw": "string",  # an event pattern, given as JSON text
}
PEEK_MAX_MESSAGES = 100
PROGRESS_INTERVAL_SECONDS = 0.25

# reStructuredText, like every DESCRIPTION (argument help_text is HTML).
EXIT_CODES = """

**Exit codes**

* ``0`` - every selected message was redriven, or there was nothing to do.
* ``1`` - a usage error (a bad or missing option) or an AWS error (for example a queue
  that does not exist); one line on stderr says which.
* ``2`` - the run finished but some messages were kept in the DLQ or moved to the
  quarantine queue (with ``--dry-run``: would be); see ``kept_messages`` in the summary.
  Messages whose delete failed after their event was delivered count as kept, and so
  does a run that stopped at SQS's in-flight limit (``stopped_by: in_flight_limit``) with
  messages it has not seen.
* ``130`` - interrupted (Ctrl-C); the summary still shows what was done.

"""


class Unavailable(Exception):
    """The collection's code cannot be imported."""


def awscli_initialize(cli: Any) -> None:
    cli.register("building-command-table.main", _add_command)


def _add_command(command_table: dict[str, Any], session: Any, **kwargs: Any) -> None:
    command_table["eventbridge-dlq"] = EventBridgeDlqCommand(session)


def _core() -> SimpleNamespace:
    """The collection's module_utils, imported on first use (see the module docstring)."""
    try:
        from ansible_collections.redrive.eventbridge.plugins.module_utils import (
            aws,
            engine,
            entries,
            options,
            runner,
        )
    except ImportError as error:
        raise Unavailable(f"cannot import {CORE}: {error} ({INSTALL_HINT})") from None
    # botocore is the CLI's own (AWS CLI v2 carries one inside itself); boto3 is never
    # needed here: clients come from the session the CLI hands the command.
    if not aws.HAS_BOTOCORE:
        raise Unavailable(f"botocore is required: {aws.BOTOCORE_IMPORT_ERROR}")
    return SimpleNamespace(
        aws=aws,
        options=options,
        runner=runner,
        bad_option=(engine.SettingsError, entries.OptionError),
    )


# ---- the argument tables ---------------------------------------------------


def _argument(name: str, help_text: str, **more: Any) -> dict[str, Any]:
    # No value here is a parameter file: a queue URL starting with http(s):// must be
    # taken as it is, not fetched by the CLI.
    return {"name": name, "help_text": f"<p>{help_text}</p>", "no_paramfile": True, **more}


def _flag_pair(name: str, dest: str, help_text: str, default: bool) -> list[dict[str, Any]]:
    """--NAME and --no-NAME on one destination; the default is explicit because
    argparse would otherwise take the default of whichever was added first."""
    state = "on" if default else "off"
    return [
        _argument(
            name,
            f"{help_text} Default: {state}.",
            action="store_true",
            dest=dest,
            default=default,
            group_name=name,
        ),
        _argument(
            f"no-{name}",
            f"Turn off <code>--{name}</code>.",
            action="store_false",
            dest=dest,
            default=default,
            group_name=name,
        ),
    ]


def _string_list_model() -> Any:
    from awscli.arguments import create_argument_model_from_schema

    return create_argument_model_from_schema({"type": "array", "items": {"type": "string"}})


def option_arguments(options: Iterable[Any]) -> list[dict[str, Any]]:
    """CLI arguments for the module's options: kebab-case names, the same types and defaults."""
    table: list[dict[str, Any]] = []
    for option in options:
        name = option.name.replace("_", "-")
        if option.type == "bool":
            table.extend(_flag_pair(name, option.name, option.help, option.default))
            continue
        help_text = option.help
        extra: dict[str, Any] = {"cli_type_name": CLI_TYPES[option.type]}
        if option.type == "list":
            # A list model (not bare nargs) gives space-separated values and lets help render.
            extra["argument_model"] = _string_list_model()
        if option.choices:
            help_text += f" One of: {', '.join(option.choices)}."
            extra["choices"] = list(option.choices)
        if option.default is not None:
            help_text += f" Default: {option.default}."
            extra["default"] = option.default
        table.append(_argument(name, help_text, required=option.required, **extra))
    return table


def _queue_argument() -> dict[str, Any]:
    return _argument(
        "queue",
        "The dead-letter queue, as a name, a queue URL or a queue ARN.",
        required=True,
        cli_type_name="string",
    )


def peek_arguments(options: Any) -> list[dict[str, Any]]:
    return [
        _queue_argument(),
        *option_arguments(o for o in options.OPTIONS if o.in_lookup),
        _argument(
            "max-messages",
            f"List at most this many selected messages. Default: {PEEK_MAX_MESSAGES}.",
            cli_type_name="integer",
            default=PEEK_MAX_MESSAGES,
        ),
        *_flag_pair(
            "include-body",
            "include_body",
            "Include each event (and unparsable bodies) in the JSON output.",
            True,
        ),
    ]


def redrive_arguments(options: Any) -> list[dict[str, Any]]:
    return [
        _queue_argument(),
        *option_arguments(options.OPTIONS),
        _argument(
            "dry-run",
            "Report what a real run would do, changing nothing (check mode: receives with a "
            "visibility timeout of 0, puts, deletes and moves nothing).",
            action="store_true",
        ),
    ]


# ---- the commands ----------------------------------------------------------


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return FAILED


class _Command(BasicCommand):  # type: ignore[misc]
    def __call__(self, args: list[str], parsed_globals: Any) -> int:
        try:
            return int(super().__call__(args, parsed_globals) or 0)
        except SystemExit as stop:
            # argparse has printed the usage error; its status 2 would read as "messages kept".
            return FAILED if stop.code == 2 else int(stop.code or 0)
        except UsageError as error:  # AWS CLI v2's parser raises instead (the CLI exits 252)
            sys.stderr.write(str(error))
            return FAILED
        except Unavailable as error:
            return _fail(str(error))
        except ValueError as error:  # awscli's own checks: unknown options, "abc" for an integer
            return _fail(str(error))


class _Subcommand(_Command):
    """A subcommand whose argument table comes from the collection's options."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._table: list[dict[str, Any]] | None = None
        self._core: SimpleNamespace | None = None

    @property
    def ARG_TABLE(self) -> list[dict[str, Any]]:  # type: ignore[override]
        if self._table is None:
            self._table = self.arguments(self.core.options)
        return self._table

    @property
    def core(self) -> SimpleNamespace:
        if self._core is None:
            self._core = _core()
        return self._core

    def arguments(self, options: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def run(self, parsed_args: Any, parsed_globals: Any) -> int:
        raise NotImplementedError

    def _run_main(self, parsed_args: Any, parsed_globals: Any) -> int:
        try:
            return self.run(parsed_args, parsed_globals)
        except self.core.aws.AwsError as error:
            return _fail(error.describe())
        except self.core.bad_option as error:
            return _fail(str(error))

    def params(self, parsed_args: Any, names: Iterable[str]) -> dict[str, Any]:
        """Option values by the module's names, as the runner takes them."""
        values = {name: getattr(parsed_args, name) for name in names}
        values["queue"] = parsed_args.queue
        return values

    def clients(self, parsed_globals: Any, concurrency: int) -> Any:
        """Clients from the CLI's own session: its profile, credentials, region,
        endpoint URL, SSL and timeout settings, and its botocore."""
        aws = self.core.aws
        # The CLI has resolved --cli-read-timeout/--cli-connect-timeout (0 means none).
        timeouts = {
            name: getattr(parsed_globals, name)
            for name in ("read_timeout", "connect_timeout")
            if hasattr(parsed_globals, name)
        }
        aws.parse_blobs_as_bytes(self._session)
        # No version-number check here (the module and the lookup warn like amazon.aws):
        # AWS CLI v2's own botocore numbers itself 2.0.0devN. Each client's model is
        # checked for the calls the core makes instead, whatever the botocore.
        return aws.session_clients(
            self._session.create_client,
            region=getattr(parsed_globals, "region", None),
            endpoint_url=getattr(parsed_globals, "endpoint_url", None),
            verify=getattr(parsed_globals, "verify_ssl", None),
            config=aws.client_config(2 * concurrency + 2, extra=timeouts),
        )


def _output_format(session: Any, parsed_globals: Any) -> str:
    return str(
        getattr(parsed_globals, "output", None) or session.get_config_variable("output") or "json"
    )


def _write_json(value: Any, parsed_globals: Any) -> None:
    query = getattr(parsed_globals, "query", None)
    if query is not None:
        value = query.search(value)
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


PEEK_COLUMNS = ("MESSAGE ID", "ORIGIN", "ERROR", "SOURCE", "TO", "SIZE", "RULE MATCH", "REDRIVE")


def _destination(item: dict[str, Any]) -> str:
    """Where a redrive would send it: `bus:NAME` or `TYPE:NAME` of the target."""
    if item.get("target"):
        target = item["target"]
        return f"{target['type']}:{str(target['arn']).rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"
    if item.get("event_bus"):
        return f"bus:{item['event_bus']}"
    return "-"


def _size(item: dict[str, Any]) -> str:
    if item.get("payload") is not None:
        return str(len(str(item["payload"]).encode("utf-8")))
    return str((item.get("entry") or {}).get("Size", "-"))


def peek_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    """One compact row per message (no bodies): what it is and what a redrive would do."""
    rows = []
    matches = {True: "yes", False: "no", None: "-"}
    for item in items:
        entry = item.get("entry") or {}
        source = str((item.get("event") or {}).get("source") or "-")
        if entry.get("Source") and entry["Source"] != source:
            source = f"{source} -> {entry['Source']}"
        rows.append(
            [
                str(item["message_id"]),
                str(item["origin"]),
                str(item["attributes"].get("error_code") or "-"),
                source,
                _destination(item),
                _size(item),
                matches[item.get("matches_rule")],
                "yes" if item["redrivable"] else f"no: {item['reason']}",
            ]
        )
    return rows


def _write_table(rows: list[list[str]], header: Iterable[str] | None) -> None:
    if header is None:  # `--output text`: tab-separated, like the CLI's text output
        sys.stdout.writelines("\t".join(row) + "\n" for row in rows)
        return
    lines = [list(header), *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    for line in lines:
        sys.stdout.write(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() + "\n"
        )


class PeekCommand(_Subcommand):
    NAME = "peek"
    DESCRIPTION = (
        "Lists the messages of an EventBridge dead-letter queue as the "
        "``redrive.eventbridge.dlq_messages`` lookup returns them: the failure attributes, the "
        "event, the PutEvents entry a redrive would put and whether it can be redriven. The "
        "queue is left as it was found (but every receive raises ``ApproximateReceiveCount``)."
        "\n\nJSON by default; ``--output table`` or ``--output text`` prints one compact line "
        "per message.\n\n"
    )

    def arguments(self, options: Any) -> list[dict[str, Any]]:
        return peek_arguments(options)

    def run(self, parsed_args: Any, parsed_globals: Any) -> int:
        options = self.core.options
        params = self.params(parsed_args, options.lookup_option_names())
        output = _output_format(self._session, parsed_globals)
        as_json = output not in ("table", "text")
        items = self.core.runner.list_messages(
            self.clients(parsed_globals, 1),
            [parsed_args.queue],
            params,
            parsed_args.max_messages,
            include_body=parsed_args.include_body or not as_json,
        )
        if as_json:
            _write_json(items, parsed_globals)
        else:
            _write_table(peek_rows(items), PEEK_COLUMNS if output == "table" else None)
        return OK


class ProgressLine:
    """Counts on one rewritten stderr line, at most a few times a second (workers call it)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._last = 0.0
        self._shown = False

    def __call__(self, snapshot: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < PROGRESS_INTERVAL_SECONDS:
                return
            self._last = now
            self._stream.write("\r" + self.describe(snapshot) + "\x1b[K")
            self._stream.flush()
            self._shown = True

    @staticmethod
    def describe(snapshot: dict[str, Any]) -> str:
        done = sum(
            snapshot.get(key, 0)
            for key in ("redriven", "kept", "quarantined", "filtered_out", "duplicates_skipped")
        )
        elapsed = max(float(snapshot.get("elapsed_seconds") or 0.0), 0.001)
        return (
            f"{done} done: {snapshot.get('redriven', 0)} redriven, "
            f"{snapshot.get('kept', 0)} kept, {snapshot.get('quarantined', 0)} quarantined, "
            f"{snapshot.get('duplicates_skipped', 0)} duplicates, "
            f"{snapshot.get('filtered_out', 0)} filtered out | {done / elapsed:.1f} msg/s"
        )

    def close(self) -> None:
        with self._lock:
            if self._shown:
                self._stream.write("\n")
                self._stream.flush()
            self._last = float("inf")  # late calls from workers print nothing


class RedriveCommand(_Subcommand):
    NAME = "redrive"
    DESCRIPTION = (
        "Puts the events of an EventBridge dead-letter queue back on their event bus (by "
        "default the bus of the rule in each message's ``RULE_ARN``) and deletes each message "
        "only after PutEvents accepted its entry. ``aws.*`` sources, which PutEvents refuses, "
        "get ``--aws-source-prefix``. Messages that cannot be redriven stay in the DLQ or go to "
        "``--quarantine-queue``.\n\n"
        "Re-putting an event triggers every rule on the bus that matches it, not only the rule "
        "whose target failed: use the filters to choose what goes back.\n\n"
        "Prints a JSON summary (the result of the ``redrive.eventbridge.eventbridge_dlq_redrive`` "
        "module) on stdout at the end, and progress on stderr while it runs if stderr is a "
        "terminal.\n" + EXIT_CODES
    )

    def arguments(self, options: Any) -> list[dict[str, Any]]:
        return redrive_arguments(options)

    def run(self, parsed_args: Any, parsed_globals: Any) -> int:
        options = self.core.options
        params = self.params(parsed_args, (option.name for option in options.OPTIONS))
        clients = self.clients(parsed_globals, params["concurrency"] or 1)
        progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
        try:
            result = self.core.runner.execute(
                clients, params, dry_run=parsed_args.dry_run, progress=progress
            )
        finally:
            if progress is not None:
                progress.close()
        _write_json(result, parsed_globals)
        return summary_exit_code(result)


def summary_exit_code(result: dict[str, Any]) -> int:
    if "error" in result:
        return _fail(str(result["error"].get("message") or result["error"]))
    if result.get("stopped_by") == "interrupted":
        return INTERRUPTED
    if result.get("kept") or result.get("quarantined") or result.get("delete_failures"):
        return SOME_KEPT
    if result.get("stopped_by") == "in_flight_limit":  # messages left that it never saw
        return SOME_KEPT
    return OK


class EventBridgeDlqCommand(_Command):
    NAME = "eventbridge-dlq"
    DESCRIPTION = (
        "Looks at and redrives the messages of an EventBridge dead-letter queue (an SQS queue "
        "that a rule target, a Lambda asynchronous invocation or a Lambda on-failure "
        "destination or an EventBridge Scheduler schedule filled): ``peek`` lists them, "
        "``redrive`` delivers each to the target that failed, as EventBridge would have, or puts "
        "its event back on the event bus (``--deliver-to``).\n\n"
        "Uses the CLI's ``--region``, ``--profile``, ``--endpoint-url`` and credentials. Part "
        "of the ``redrive.eventbridge`` Ansible collection; the options are those of its "
        "``eventbridge_dlq_redrive`` module, in kebab-case.\n" + EXIT_CODES
    )
    SUBCOMMANDS: ClassVar[list[dict[str, Any]]] = [
        {"name": "peek", "command_class": PeekCommand},
        {"name": "redrive", "command_class": RedriveCommand},
    ]

    def _run_main(self, parsed_args: Any, parsed_globals: Any) -> int:
        return _fail(f"choose a subcommand: peek or redrive (see '{PROG} help')")
