"""`aws eventbridge-dlq` through the real `aws` entry points against a moto server over HTTP.

Every test runs under AWS CLI v1 (PyPI, the venv's) and AWS CLI v2 (Debian's awscli,
/usr/bin/aws, with its own botocore, loading the plugin through cli_legacy_plugin_path from
a `pip install --target` style directory). Under v2 the SQS calls speak the query/XML
protocol of its older botocore, v1's speak JSON; EventBridge is JSON in both.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_decrypt import encrypt_like_eventbridge
from tests.support.ansible_run import REPO
from tests.support.aws_cli import V1, V2, V2_INSTALL_HINT, AwsCli, plugin_tree
from tests.support.events import (
    body_of,
    custom_event,
    encrypted_event_wrapper,
    eventbridge_dlq_message,
    malformed_message,
    s3_cloudtrail_event,
)
from tests.support.fault_proxy import fault_proxy
from tests.support.world import World, client

FAST = ["--wait-seconds", "0", "--empty-receives", "1"]


@pytest.fixture(scope="module", params=[V1, V2], ids=["v1", "v2"])
def cli(request: pytest.FixtureRequest) -> AwsCli:
    return usable(request.param)


def usable(chosen: AwsCli) -> AwsCli:
    reason = chosen.missing()
    if reason is not None:
        hint = f" ({V2_INSTALL_HINT})" if chosen is V2 else ""
        pytest.skip(f"AWS CLI {chosen.name}: {reason}{hint}")
    return chosen


@pytest.fixture(scope="module")
def env(cli: AwsCli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp(f"aws-cli-{cli.name}")
    return cli.env(base, plugin_tree(base))


@pytest.fixture(scope="module")
def v1_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("aws-cli-v1-only")
    return usable(V1).env(base, plugin_tree(base))


@pytest.fixture(scope="module")
def v2_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("aws-cli-v2-only")
    return usable(V2).env(base, plugin_tree(base))


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def dlq_with(world: World, *messages: dict[str, Any]) -> str:
    url = world.queue("dlq")
    world.send(url, messages)
    return url


def test_peek_json_takes_an_http_queue_url_as_is(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    # The moto URL is http://127.0.0.1:PORT/...: fetched as a parameter file it would be the
    # body of a GET, not a queue URL.
    capture, failed = world.capture_rule()
    event = s3_cloudtrail_event()
    dlq = dlq_with(world, eventbridge_dlq_message(event, **failed), malformed_message())
    before = world.visible_ids(dlq)

    run = cli.run(env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq)
    on_bus = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq, "--deliver-to", "bus"
    )

    assert run.returncode == 0, run.stderr
    items = {item["origin"] + str(item["redrivable"]): item for item in json.loads(run.stdout)}
    good, bad = items["eventbridge_dlqTrue"], items["eventbridge_dlqFalse"]
    assert good["queue"] == dlq
    assert good["event"]["source"] == "aws.s3"
    # To the target that failed, as EventBridge sent it; on the bus, with a new source.
    assert (good["route"], good["target"]["arn"]) == ("target", failed["target_arn"])
    assert good["payload"] == body_of(event)
    (bus_item,) = [item for item in json.loads(on_bus.stdout) if item["redrivable"]]
    assert bus_item["entry"]["Source"] == "redrive.aws.s3" and bus_item["matches_rule"] is True
    assert (bad["reason"], bad["attributes"]["error_code"]) == ("invalid_json", "INVALID_JSON")
    # System attributes arrive under both CLIs (v2's botocore knows them as AttributeNames);
    # the test's own look at the queue was the first receive, the peek the second.
    assert good["receive_count"] == 2 and good["sent_at"].endswith("Z")
    assert world.visible_ids(dlq) == before
    assert world.captured_events(capture) == []


def test_peek_table(world: World, cli: AwsCli, env: dict[str, str]) -> None:
    capture, failed = world.capture_rule()
    dlq = dlq_with(
        world, eventbridge_dlq_message(s3_cloudtrail_event(), **failed), malformed_message()
    )

    run = cli.run(
        env, world.endpoint_url, "--output", "table", "eventbridge-dlq", "peek", "--queue", dlq
    )
    on_bus = cli.run(
        env, world.endpoint_url, "--output", "table", "eventbridge-dlq", "peek", "--queue", dlq,
        "--deliver-to", "bus",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == [
        "MESSAGE",
        "ID",
        "ORIGIN",
        "ERROR",
        "SOURCE",
        "TO",
        "SIZE",
        "RULE",
        "MATCH",
        "REDRIVE",
    ]
    assert len(lines) == 3
    queue_name = capture.rsplit("/", 1)[1]
    assert any(f"sqs:{queue_name}" in line and line.endswith("yes") for line in lines)
    assert any("INVALID_JSON" in line and line.endswith("no: invalid_json") for line in lines)
    bus_lines = on_bus.stdout.splitlines()
    assert any("aws.s3 -> redrive.aws.s3  bus:default" in line for line in bus_lines), bus_lines


def test_dry_run_changes_nothing(world: World, cli: AwsCli, env: dict[str, str]) -> None:
    capture, failed = world.capture_rule()
    dlq = dlq_with(world, *(eventbridge_dlq_message(custom_event(n), **failed) for n in range(3)))
    before = world.visible_ids(dlq)

    run = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq, "--dry-run", *FAST
    )

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["check_mode"] is True and summary["changed"] is True
    assert (summary["redriven"], summary["kept"]) == (3, 0)
    assert world.visible_ids(dlq) == before
    assert world.captured_events(capture) == []


def test_redrive_delivers_and_empties_the_dlq(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    capture, failed = world.capture_rule()
    events = [s3_cloudtrail_event(), custom_event(1), custom_event(2)]
    dlq = dlq_with(world, *(eventbridge_dlq_message(event, **failed) for event in events))

    # By name: the CLI's region (from the config file) and endpoint find the queue.
    run = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", world.name("dlq"), *FAST
    )

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["kept"], summary["stopped_by"]) == (3, 0, "drained")
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    # The failed target gets each event exactly as EventBridge sent it: same id and source.
    delivered = world.captured_events(capture)
    assert sorted(map(canonical, delivered)) == sorted(map(canonical, events))


def test_redrive_through_faults_delivers_every_event(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    # PutEvents is JSON under both CLIs, so the proxy can throttle its entries and whole
    # calls and lose one answer; v2's SQS calls (query protocol) pass through unchanged.
    capture, failed = world.capture_rule()
    events = [custom_event(n) for n in range(12)]
    dlq = dlq_with(world, *(eventbridge_dlq_message(event, **failed) for event in events))
    with fault_proxy(world.endpoint_url, seed=3) as proxy:
        proxy.fail_entries("ThrottlingException", count=4)
        proxy.fail_entries("InternalFailure", count=2)
        proxy.fail_calls("PutEvents", "ThrottlingException", count=2)
        proxy.drop_responses("PutEvents", count=1)

        run = cli.run(
            env, proxy.url, "eventbridge-dlq", "redrive", "--queue", dlq, "--concurrency", "2",
            "--deliver-to", "bus", *FAST,
        )  # fmt: skip
        put_calls = proxy.calls["PutEvents"]

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["kept"], summary["delete_failures"]) == (12, 0, 0)
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    delivered = [event["detail"]["orderId"] for event in world.captured_events(capture)]
    wanted = sorted(event["detail"]["orderId"] for event in events)
    assert sorted(set(delivered)) == wanted
    # Only the batch whose answer was lost may have been put twice.
    assert len(delivered) - len(wanted) <= 10
    assert put_calls >= 2 + 2 + 1  # the throttled calls, the lost answer and the retries


def test_sigterm_ends_the_run_with_its_counts_and_loses_nothing(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    """A job cancelled with SIGTERM (AWX, systemd, timeout) finishes its batch, deletes what
    was delivered, makes the rest visible again and prints the summary."""
    capture, failed = world.capture_rule()
    events = [custom_event(n) for n in range(60)]
    dlq = dlq_with(world, *(eventbridge_dlq_message(event, **failed) for event in events))
    with fault_proxy(world.endpoint_url) as proxy:
        proxy.set_latency(0.3, "PutEvents")  # six puts of ten: the run lasts about 2 s
        process = subprocess.Popen(
            cli.command(
                proxy.url, "eventbridge-dlq", "redrive", "--queue", dlq, "--concurrency", "1",
                "--deliver-to", "bus", *FAST,
            ),
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while proxy.calls["PutEvents"] < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        assert proxy.wait_idle()

    assert process.returncode == 130, stderr
    summary = json.loads(stdout)
    assert summary["stopped_by"] == "interrupted"
    assert 10 <= summary["redriven"] < 60 and summary["kept"] == 0
    delivered = [event["detail"]["orderId"] for event in world.captured_events(capture)]
    assert len(delivered) == len(set(delivered)) == summary["redriven"]
    # Nothing lost: what was not delivered is in the DLQ, visible at once.
    assert world.depth(dlq) == {"visible": 60 - summary["redriven"], "in_flight": 0}
    left = [json.loads(message["Body"])["detail"]["orderId"] for message in world.drain(dlq)]
    assert sorted(delivered + left) == sorted(event["detail"]["orderId"] for event in events)


def test_quarantine_copies_then_deletes_with_the_reason(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    # SendMessageBatch with message attributes, under v2 as query-protocol map members. A
    # Binary attribute comes back from the CLI's session as base64 text unless the plugin's
    # clients parse blobs as botocore does; sent on as text, it would be encoded twice.
    bad = malformed_message()
    raw = b"\x00\x01\xffraw"
    bad["MessageAttributes"]["TRACE"] = {"DataType": "Binary", "BinaryValue": raw}
    _capture, failed = world.capture_rule()
    dlq = dlq_with(world, bad, eventbridge_dlq_message(custom_event(1), **failed))
    quarantine = world.queue("quarantine")

    run = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq,
        "--quarantine-queue", world.name("quarantine"), *FAST,
    )  # fmt: skip

    assert run.returncode == 2, run.stderr  # something was quarantined
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["quarantined"], summary["kept"]) == (1, 1, 0)
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    (moved,) = world.drain(quarantine)
    assert moved["Body"] == bad["MessageBody"]
    assert moved["MessageAttributes"]["REDRIVE_REASON"]["StringValue"] == "invalid_json"
    assert moved["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "INVALID_JSON"
    assert moved["MessageAttributes"]["TRACE"] == {"DataType": "Binary", "BinaryValue": raw}


def encrypted_dlq(world: World) -> tuple[str, str, dict[str, Any]]:
    """A DLQ holding one encrypted-event wrapper (encrypted with moto's KMS as EventBridge
    does), the capture queue of a rule on its bus, and the event inside the wrapper."""
    bus = world.bus("orders")
    capture, failed = world.capture_rule(bus)
    kms = client("kms", world.endpoint_url)
    key = kms.create_key(Description="orders bus")["KeyMetadata"]["Arn"]
    secret = custom_event(7)
    payload = encrypt_like_eventbridge(kms, key, body_of(secret).encode("utf-8"), bus=bus)
    wrapper = encrypted_event_wrapper(
        payload, bus=bus, key_arn=key, rule=failed["rule"].rsplit("/", 1)[1]
    )
    dlq = dlq_with(world, {"MessageBody": body_of(wrapper), "MessageAttributes": {}})
    return dlq, capture, secret


def test_decrypt_under_v1_redrives_the_original_event(world: World, v1_env: dict[str, str]) -> None:
    """Decrypt's Plaintext is bytes for the plugin's clients, though the CLI's session
    parses blobs as base64 text: no `wrong_key`, no quarantine."""
    cli, env = V1, v1_env
    dlq, capture, secret = encrypted_dlq(world)
    quarantine = world.queue("quarantine")

    peek = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq, "--decrypt",
        "--deliver-to", "bus",
    )  # fmt: skip
    run = cli.run(
        env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq, "--decrypt",
        "--deliver-to", "bus", "--quarantine-queue", quarantine, *FAST,
    )  # fmt: skip

    assert peek.returncode == 0, peek.stderr
    (item,) = json.loads(peek.stdout)
    # The listing shows the wrapper as received, and the entry a redrive would put: the
    # decrypted event's.
    assert (item["origin"], item["redrivable"]) == ("encrypted_event", True), item
    assert (item["entry"]["Source"], item["entry"]["DetailType"]) == (
        secret["source"],
        secret["detail-type"],
    )
    assert json.loads(item["entry"]["Detail"]) == secret["detail"]
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["kept"], summary["quarantined"]) == (1, 0, 0)
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    (delivered,) = world.captured_events(capture)
    assert (delivered["source"], delivered["detail"]) == (secret["source"], secret["detail"])
    assert world.drain(quarantine) == []


def test_decrypt_under_v2_stops_before_any_message_naming_boto3(
    world: World, v2_env: dict[str, str]
) -> None:
    """The Encryption SDK imports boto3, which cannot load against AWS CLI v2's own
    botocore: with the decrypt extra installed beside the plugin, the run says so and
    touches nothing, rather than "install the 'decrypt' extra"."""
    dlq, capture, _secret = encrypted_dlq(world)
    quarantine = world.queue("quarantine")
    before = world.visible_ids(dlq)

    runs = [
        V2.run(v2_env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq, "--decrypt"),
        V2.run(
            v2_env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq,
            "--decrypt", "--quarantine-queue", quarantine, *FAST,
        ),
    ]  # fmt: skip

    for run in runs:
        assert run.returncode == 1, run.stderr
        assert run.stdout == ""
        assert run.stderr.startswith("aws eventbridge-dlq: error: decrypt: decrypt needs boto3")
        assert "cannot load inside AWS CLI v2's own botocore" in run.stderr
        assert "use AWS CLI v1, the module or the lookup" in run.stderr
        assert "'decrypt' extra" not in run.stderr
    assert world.visible_ids(dlq) == before
    assert world.captured_events(capture) == []
    assert world.drain(quarantine) == []


def test_a_run_without_decrypt_imports_neither_boto3_nor_the_encryption_sdk(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    """Both are importable beside the plugin (v2) or in the venv (v1); `-X importtime`
    lists every module the real `aws` process finished importing."""
    _capture, failed = world.capture_rule()
    dlq = dlq_with(world, eventbridge_dlq_message(custom_event(1), **failed))

    run = subprocess.run(
        [cli.interpreter(), "-X", "importtime", str(cli.executable),
         "--endpoint-url", world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-2000:]
    imported = re.findall(r"^import time:.*\|\s*([\w.]+)$", run.stderr, re.MULTILINE)
    assert "awscli.clidriver" in imported  # the listing is there
    assert any(name.endswith("module_utils.planning") for name in imported)
    assert [n for n in imported if n.split(".")[0] in ("boto3", "aws_encryption_sdk")] == []


def trimmed_sqs_model(cli: AwsCli, env: dict[str, str], data_path: Path) -> None:
    """A data path whose SQS model is this CLI's own without ChangeMessageVisibilityBatch,
    as an older botocore's model would be (AWS_DATA_PATH is searched first)."""
    script = (
        "import json, pathlib, sys, awscli, botocore.session\n"
        "loader = botocore.session.get_session().get_component('data_loader')\n"
        "version = loader.determine_latest_version('sqs', 'service-2')\n"
        "model = loader.load_service_model('sqs', 'service-2', version)\n"
        "del model['operations']['ChangeMessageVisibilityBatch']\n"
        "folder = pathlib.Path(sys.argv[1], 'sqs', version)\n"
        "folder.mkdir(parents=True)\n"
        "(folder / 'service-2.json').write_text(json.dumps(model))\n"
    )
    subprocess.run(
        [cli.interpreter(), "-c", script, str(data_path)], env=env, check=True, timeout=60
    )


def test_an_old_cli_model_is_refused_naming_that_cli(
    world: World, cli: AwsCli, env: dict[str, str], tmp_path: Path
) -> None:
    """Both CLIs carry their own botocore at awscli/botocore; the hint names the one in use."""
    trimmed_sqs_model(cli, env, tmp_path / "models")
    dlq = world.queue("dlq")

    run = cli.run(
        {**env, "AWS_DATA_PATH": str(tmp_path / "models")}, world.endpoint_url,
        "eventbridge-dlq", "peek", "--queue", dlq,
    )  # fmt: skip

    assert run.returncode == 1
    assert f"the botocore inside AWS CLI v{cli.major} (" in run.stderr
    assert "has no sqs ChangeMessageVisibilityBatch" in run.stderr
    hint = {1: "install a newer AWS CLI v1 (pip install --upgrade awscli)"}
    assert f"({hint.get(cli.major, 'install a newer AWS CLI v2')})" in run.stderr
    assert "boto3 >=" not in run.stderr


def test_kept_message_exits_2_with_progress_on_a_terminal(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    capture, failed = world.capture_rule()
    dlq = dlq_with(world, eventbridge_dlq_message(custom_event(1), **failed), malformed_message())
    terminal, stderr = pty.openpty()
    try:
        run = cli.run(
            env,
            world.endpoint_url,
            "eventbridge-dlq",
            "redrive",
            "--queue",
            dlq,
            *FAST,
            stdout=subprocess.PIPE,
            stderr=stderr,
            capture_output=False,
        )
        os.close(stderr)
        progress = read_all(terminal)
    finally:
        os.close(terminal)

    assert run.returncode == 2, progress
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["kept"]) == (1, 1)
    assert summary["kept_messages"][0]["reason"] == "invalid_json"
    assert len(world.captured_events(capture)) == 1
    assert world.depth(dlq)["visible"] == 1
    assert re.search(r"\r\d+ done: 1 redriven, \d kept, .* msg/s", progress), progress
    assert "ORD-" not in progress  # no bodies on the terminal


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--queue", "no-such-queue"], "NonExistentQueue: queue 'no-such-queue' does not exist"),
        (["--concurrency", "0"], "concurrency must be between 1 and 64"),
        (None, "the following arguments are required: --queue"),
    ],
)
def test_errors_exit_1_with_one_clear_line(
    world: World, cli: AwsCli, env: dict[str, str], args: list[str] | None, message: str
) -> None:
    if args is None:
        args = []
    elif args[0] != "--queue":
        args = ["--queue", world.queue("dlq"), *args]
    run = cli.run(env, world.endpoint_url, "eventbridge-dlq", "redrive", *args)
    assert run.returncode == 1
    assert message in run.stderr
    assert run.stdout == ""


def test_other_commands_work_with_the_plugin_configured(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    dlq = world.queue("dlq")
    run = cli.run(
        env, world.endpoint_url, "sqs", "list-queues", "--queue-name-prefix", world.prefix
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["QueueUrls"] == [dlq]


def test_a_broken_collection_breaks_only_eventbridge_dlq(
    world: World, cli: AwsCli, tmp_path: Path
) -> None:
    # Only the plugin file is there: module_utils cannot be imported.
    broken = tmp_path / "broken"
    shutil.copytree(REPO / "cli", broken / "ansible_collections/redrive/eventbridge/cli")
    broken_env = cli.env(tmp_path, broken)
    dlq = world.queue("dlq")

    listing = cli.run(
        broken_env, world.endpoint_url, "sqs", "list-queues", "--queue-name-prefix", world.prefix
    )
    peek = cli.run(broken_env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq)

    assert listing.returncode == 0 and json.loads(listing.stdout)["QueueUrls"] == [dlq]
    assert peek.returncode == 1
    assert peek.stderr.startswith("aws eventbridge-dlq: error: cannot import ")


def test_v2_loads_the_plugin_from_cli_legacy_plugin_path_only(
    world: World, v2_env: dict[str, str], tmp_path: Path
) -> None:
    env = v2_env
    assert "PYTHONPATH" not in env  # nothing from the venv
    config = Path(env["AWS_CONFIG_FILE"]).read_text()
    without_path = tmp_path / "config"
    without_path.write_text(
        "\n".join(line for line in config.splitlines() if "cli_legacy_plugin_path" not in line)
    )

    run = V2.run(
        {**env, "AWS_CONFIG_FILE": str(without_path)}, world.endpoint_url, "eventbridge-dlq", "help"
    )

    assert run.returncode != 0
    assert "Invalid choice" in run.stderr or "invalid choice" in run.stderr


def test_v2_fails_to_import_the_boto3_beside_the_plugin(v2_env: dict[str, str]) -> None:
    """The failure AWS CLI v2 users met: the plugin tree holds PyPI's boto3 (a dependency
    pip installs with it), and boto3 cannot import against the CLI's own botocore. Every
    test above passes under v2 only because the CLI path never imports boto3 (nor the
    Encryption SDK, which imports it: see the `-X importtime` test)."""
    env = v2_env
    config = Path(env["AWS_CONFIG_FILE"]).read_text()
    tree = next(
        line.split("=", 1)[1].strip()
        for line in config.splitlines()
        if line.startswith("cli_legacy_plugin_path")
    )
    script = f"import sys, awscli; sys.path.append({tree!r}); import boto3"

    run = subprocess.run(
        [V2.interpreter(), "-c", script], env=env, capture_output=True, text=True, check=False
    )

    assert run.returncode != 0
    assert "awscli/botocore" in run.stderr


@pytest.mark.parametrize("command", [["eventbridge-dlq"], ["eventbridge-dlq", "redrive"]])
def test_help_renders_with_exit_codes(cli: AwsCli, env: dict[str, str], command: list[str]) -> None:
    run = cli.run(env, None, *command, "help")
    assert run.returncode == 0, run.stderr
    text = re.sub(".\b", "", run.stdout)  # groff's overstrike bold
    assert "Exit codes" in text and "130 - interrupted" in text
    if command[-1] == "redrive":
        assert "--dedupe | --no-dedupe" in text and "--quarantine-queue" in text


# ---- event patterns: --event-pattern selects, peek shows whether the rule still matches -----


def _tiered(number: int, tier: str) -> dict[str, Any]:
    event = custom_event(number)
    event["detail"]["customer"]["tier"] = tier
    return event


def test_event_pattern_selects_what_peek_lists_and_redrive_delivers(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    capture, failed = world.capture_rule()
    events = [_tiered(0, "gold"), _tiered(1, "silver"), _tiered(2, "silver"), _tiered(3, "bronze")]
    dlq = dlq_with(world, *(eventbridge_dlq_message(event, **failed) for event in events))
    pattern = json.dumps({"detail": {"customer": {"tier": ["silver"]}}})

    peek = cli.run(env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq,
                   "--event-pattern", pattern)  # fmt: skip
    run = cli.run(env, world.endpoint_url, "eventbridge-dlq", "redrive", "--queue", dlq,
                  "--event-pattern", pattern, *FAST)  # fmt: skip

    assert peek.returncode == 0, peek.stderr
    listed = {item["event"]["detail"]["orderId"] for item in json.loads(peek.stdout)}
    assert listed == {"ORD-00001", "ORD-00002"}
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["redriven"], summary["filtered_out"]) == (2, 2)
    delivered = world.captured_events(capture)
    assert sorted(map(canonical, delivered)) == sorted(map(canonical, events[1:3]))
    assert world.depth(dlq)["visible"] == 2


@pytest.mark.parametrize("command", ["peek", "redrive"])
def test_a_malformed_event_pattern_exits_1_naming_the_part(
    world: World, cli: AwsCli, env: dict[str, str], command: str
) -> None:
    capture, failed = world.capture_rule()
    dlq = dlq_with(world, eventbridge_dlq_message(custom_event(1), **failed))
    before = world.visible_ids(dlq)
    pattern = json.dumps({"detail": {"total": [{"numeric": [">", "x"]}]}})

    run = cli.run(env, world.endpoint_url, "eventbridge-dlq", command, "--queue", dlq,
                  "--event-pattern", pattern, *(FAST if command == "redrive" else []))  # fmt: skip

    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "event_pattern" in run.stderr and "detail.total" in run.stderr
    assert run.stdout == ""
    assert world.visible_ids(dlq) == before and world.captured_events(capture) == []


def test_peek_on_the_bus_shows_the_seed_case_no_longer_matching_its_rule(
    world: World, cli: AwsCli, env: dict[str, str]
) -> None:
    capture, failed = world.capture_rule(pattern={"source": ["aws.s3"]})
    dlq = dlq_with(world, eventbridge_dlq_message(s3_cloudtrail_event(), **failed))

    as_json = cli.run(env, world.endpoint_url, "eventbridge-dlq", "peek", "--queue", dlq,
                      "--deliver-to", "bus")  # fmt: skip
    as_table = cli.run(env, world.endpoint_url, "--output", "table", "eventbridge-dlq", "peek",
                       "--queue", dlq, "--deliver-to", "bus")  # fmt: skip

    assert as_json.returncode == 0, as_json.stderr
    (item,) = json.loads(as_json.stdout)
    assert (item["matches_rule"], item["unmatched_field"], item["rule_check"]) == (
        False,
        "source: redrive.aws.s3 not in [aws.s3]",
        "no_longer_matches_rule",
    )
    assert item["redrivable"] is False
    assert as_table.returncode == 0, as_table.stderr
    header, row = as_table.stdout.splitlines()
    # Columns are padded to one width: the MATCH column starts where its header does.
    assert row[header.index("RULE MATCH") :].split()[0] == "no", (header, row)
    assert "no: no_longer_matches_rule: source: redrive.aws.s3 not in [aws.s3]" in row
    assert world.captured_events(capture) == []
