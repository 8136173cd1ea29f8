"""Connection options through real ansible-playbook runs: module and lookup follow one rule.

AWX puts an Amazon Web Services credential into the job's environment as AWS_ACCESS_KEY_ID
and AWS_SECRET_ACCESS_KEY (base_env does the same). A task that also names a profile is,
as in amazon.aws, an error for the module and for the lookup alike; the same task with the
keys given as empty strings uses the profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.events import custom_event, eventbridge_dlq_message
from tests.support.world import World

MODULE = "redrive.eventbridge.eventbridge_dlq_redrive"
LOOKUP = "redrive.eventbridge.dlq_messages"
FAST = {"wait_seconds": 0, "empty_receives": 1}


@pytest.fixture
def profile_env(tmp_path: Path) -> dict[str, str]:
    """A profile `ops` whose credentials come from a process that leaves a mark when used."""
    marker = tmp_path / "profile-used"
    helper = tmp_path / "credentials.sh"
    helper.write_text(
        "#!/bin/sh\n"
        f"touch '{marker}'\n"
        'echo \'{"Version": 1, "AccessKeyId": "AKIAPROFILE", "SecretAccessKey": "profile"}\'\n'
    )
    helper.chmod(0o755)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile ops]\ncredential_process = {helper}\n")
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "PROFILE_MARKER": str(marker),
    }


def failing(name: str, **module_args: Any) -> dict[str, Any]:
    return {"name": name, MODULE: module_args, "ignore_errors": True}


def looking(name: str, expression: str) -> dict[str, Any]:
    return {
        "name": name,
        "ansible.builtin.set_fact": {"found": f"{{{{ {expression} }}}}"},
        "ignore_errors": True,
    }


def used_profile(env: dict[str, str]) -> bool:
    return os.path.exists(env["PROFILE_MARKER"])


def test_a_profile_with_keys_from_the_environment_fails_in_module_and_lookup(
    world: World, tmp_path: Path, profile_env: dict[str, str]
) -> None:
    dlq = world.queue("dlq")
    world.send(dlq, [eventbridge_dlq_message(custom_event(1))])

    run = run_playbook(
        tmp_path,
        [
            failing("module", queue=dlq, profile="ops", **FAST),
            looking("lookup", f"query('{LOOKUP}', '{dlq}', profile='ops')"),
        ],
        world.endpoint_url,
        env=profile_env,
    )

    for task in ("module", "lookup"):
        assert run.status(task) == "failed", task
        message = run.result(task)["msg"]
        assert "profile and access_key, secret_key are mutually exclusive" in message, message
        assert "access_key from env: AWS_ACCESS_KEY_ID" in message, message
        assert "set them to ''" in message, message
        assert "testing" not in message  # no key value, not even the access key
    assert run.result("module")["error"]["code"] == "InvalidParameterCombination"
    assert not used_profile(profile_env)
    assert world.depth(dlq) == {"visible": 1, "in_flight": 0}


def test_keys_set_to_empty_strings_let_the_profile_be_used(
    world: World, tmp_path: Path, profile_env: dict[str, str]
) -> None:
    dlq = world.queue("dlq")
    capture, failed = world.capture_rule()
    world.send(dlq, [eventbridge_dlq_message(custom_event(n), **failed) for n in range(2)])
    no_keys = {"access_key": "", "secret_key": ""}

    looked = run_playbook(
        tmp_path / "lookup",
        [
            looking(
                "lookup",
                f"query('{LOOKUP}', '{dlq}', profile='ops', access_key='', secret_key='')",
            )
        ],
        world.endpoint_url,
        env=profile_env,
    )
    assert looked.status("lookup") == "ok", looked.stdout
    assert len(looked.result("lookup")["ansible_facts"]["found"]) == 2
    assert used_profile(profile_env)
    os.remove(profile_env["PROFILE_MARKER"])

    redriven = run_playbook(
        tmp_path / "module",
        [{"name": "module", MODULE: {"queue": dlq, "profile": "ops", **no_keys, **FAST}}],
        world.endpoint_url,
        env=profile_env,
    )
    assert redriven.status("module") == "ok", redriven.stdout
    assert redriven.result("module")["changed"] is True
    assert redriven.result("module")["redriven"] == 2
    assert used_profile(profile_env)
    assert len(world.captured_events(capture)) == 2


def test_profile_from_the_environment_with_keys_is_the_same_error(
    world: World, tmp_path: Path, profile_env: dict[str, str]
) -> None:
    dlq = world.queue("dlq")

    run = run_playbook(
        tmp_path,
        [
            failing("module", queue=dlq, **FAST),
            looking("lookup", f"query('{LOOKUP}', '{dlq}')"),
        ],
        world.endpoint_url,
        env={**profile_env, "AWS_PROFILE": "ops"},
    )

    for task in ("module", "lookup"):
        assert run.status(task) == "failed", task
        assert "mutually exclusive" in run.result(task)["msg"]


def test_aliases_amazon_aws_10_removed_are_refused(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    removed = {"ec2_region": "us-east-1", "ec2_url": world.endpoint_url, "security_token": "t"}

    run = run_playbook(
        tmp_path,
        [failing(name, queue=dlq, **{name: value}) for name, value in removed.items()],
        world.endpoint_url,
    )

    for name in removed:
        assert run.status(name) == "failed", name
        assert "Unsupported parameters" in run.result(name)["msg"], name


def test_debug_botocore_endpoint_logs_lists_the_calls(world: World, tmp_path: Path) -> None:
    dlq = world.queue("dlq")
    _capture, failed = world.capture_rule()
    world.send(dlq, [eventbridge_dlq_message(custom_event(1), **failed)])

    run: PlaybookRun = run_playbook(
        tmp_path,
        [
            {"name": "quiet", MODULE: {"queue": dlq, **FAST}, "check_mode": True},
            {
                "name": "logged",
                MODULE: {"queue": dlq, "debug_botocore_endpoint_logs": True, **FAST},
            },
        ],
        world.endpoint_url,
    )

    assert "resource_actions" not in run.result("quiet")
    actions = run.result("logged")["resource_actions"]
    assert actions == sorted(set(actions))
    for action in ("sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessageBatch"):
        assert action in actions
    # Delivered to the rule's target: its targets were read, the target queue was sent to.
    assert "events:ListTargetsByRule" in actions and "sqs:SendMessageBatch" in actions
