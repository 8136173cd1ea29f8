"""The module run the way AWX runs jobs: through ansible-runner, credentials in the env.

AWX's "Amazon Web Services" credential type injects AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SECURITY_TOKEN into the job's environment; job
templates with "check" as job type add --check. AWX reads task results from
the runner's job events, so these tests do too.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any, Optional

import ansible_runner
import pytest

from tests.support.ansible_run import BIN, collections_root
from tests.support.events import REGION, custom_event, eventbridge_dlq_message
from tests.support.world import World

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
FAST = {"wait_seconds": 0, "empty_receives": 1, "deliver_to": "bus", "when_rule_unmatched": "put"}
SECRET = f"awx-secret-{uuid.uuid4().hex}"
TOKEN = f"awx-token-{uuid.uuid4().hex}"
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
LOCALHOST = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
INVENTORY = {"all": {"hosts": {"localhost": LOCALHOST}}}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ansible-runner passes the test process's environment on: keep AWS_* out of it."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ANSIBLE_", "EC2_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def credential_env(tmp: Path) -> dict[str, str]:
    """What AWX's AWS credential injects, plus the job's collections path."""
    return {
        "AWS_ACCESS_KEY_ID": "AKIAAWXTESTKEY",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SECURITY_TOKEN": TOKEN,
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root(tmp)),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_NOCOLOR": "1",
    }


class Job:
    """A finished ansible-runner job with its events read once."""

    def __init__(self, runner: Any) -> None:
        self.rc: int = runner.rc
        self.status: str = runner.status
        self.events: list[dict[str, Any]] = list(runner.events)
        with runner.stdout as stdout:  # a new open file on each access
            self.stdout: str = stdout.read()

    def result(self, task: str) -> dict[str, Any]:
        for event in reversed(self.events):
            data = event.get("event_data", {})
            if event["event"] in ("runner_on_ok", "runner_on_failed") and data.get("task") == task:
                return {"_event": event["event"], **data["res"]}
        raise KeyError(f"no result for {task!r}:\n{self.stdout}")


def run_job(
    tmp: Path,
    tasks: list[dict[str, Any]],
    envvars: dict[str, str],
    cmdline: Optional[str] = None,
    verbosity: Optional[int] = None,
    play: Optional[dict[str, Any]] = None,
) -> Job:
    document: dict[str, Any] = {"hosts": "localhost", "gather_facts": False, "tasks": tasks}
    document.update(play or {})
    (tmp / "job").mkdir(parents=True)
    runner = ansible_runner.run(
        private_data_dir=str(tmp / "job"),
        playbook=[document],
        inventory=INVENTORY,
        envvars=envvars,
        cmdline=cmdline,
        verbosity=verbosity,
        quiet=True,
        settings={"suppress_ansible_output": True},
    )
    return Job(runner)


def redrive_task(queue: str) -> dict[str, Any]:
    return {"name": "redrive", MODULE: {"queue": queue, **FAST}}


def assert_no_secrets(job: Job) -> None:
    everything = json.dumps(job.events) + job.stdout
    assert SECRET not in everything
    assert TOKEN not in everything


def test_check_then_real_run_with_awx_credentials(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(3)])
    before = world.visible_ids(dlq)
    env = {**credential_env(tmp_path), "AWS_URL": world.endpoint_url, "AWS_REGION": REGION}

    check = run_job(tmp_path / "check", [redrive_task(dlq)], env, cmdline="--check")

    preview = check.result("redrive")
    assert (check.status, preview["_event"]) == ("successful", "runner_on_ok"), check.stdout
    assert preview["check_mode"] is True and preview["changed"] is True
    assert (preview["redriven"], preview["kept"]) == (3, 0)
    assert world.visible_ids(dlq) == before
    assert_no_secrets(check)

    real = run_job(tmp_path / "real", [redrive_task(dlq)], env, verbosity=3)

    result = real.result("redrive")
    assert (real.status, result["_event"]) == ("successful", "runner_on_ok"), real.stdout
    assert (result["received"], result["redriven"]) == (3, 3)
    assert result["changed"] is True
    assert len(world.captured_events(capture)) == 3
    assert world.depth(dlq) == {"visible": 0, "in_flight": 0}
    # The module took all three from AWX's variables (the token from AWS_SECURITY_TOKEN) and
    # masks the secret ones in its invocation, also in -vvv output.
    arguments = result["invocation"]["module_args"]
    assert arguments["access_key"] == "AKIAAWXTESTKEY"
    assert arguments["secret_key"] == arguments["session_token"] == MASKED
    assert '"session_token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in real.stdout
    assert_no_secrets(real)


def test_module_defaults_group_sets_region_and_endpoint(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    capture = world.capture()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n)) for n in range(2)])
    env = credential_env(tmp_path)  # no AWS_URL and no AWS_REGION
    connection = {"region": REGION, "endpoint_url": world.endpoint_url}
    tasks = [
        # module_defaults reaches modules and action plugins only, never lookups:
        {
            "name": "lookup without options",
            "ansible.builtin.set_fact": {"found": f"{{{{ query('{LOOKUP}', '{dlq}') }}}}"},
            "ignore_errors": True,
        },
        # ... so the lookup gets the connection explicitly (here from a play variable).
        {
            "name": "lookup with options",
            "ansible.builtin.set_fact": {
                "found": f"{{{{ query('{LOOKUP}', '{dlq}', region=aws.region, "
                "endpoint_url=aws.endpoint_url) }}"
            },
        },
        redrive_task(dlq),
    ]
    play = {
        "vars": {"aws": connection},
        "module_defaults": {"group/redrive.eventbridge.aws": connection},
    }

    job = run_job(tmp_path, tasks, env, play=play)

    bare = job.result("lookup without options")
    assert bare["_event"] == "runner_on_failed"
    assert "NoRegion" in bare["msg"], bare["msg"]
    assert len(job.result("lookup with options")["ansible_facts"]["found"]) == 2
    result = job.result("redrive")
    assert result["_event"] == "runner_on_ok", job.stdout
    assert result["redriven"] == 2
    assert result["queue_url"] == dlq
    assert len(world.captured_events(capture)) == 2
    assert_no_secrets(job)
