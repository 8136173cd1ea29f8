"""How users install it: a Galaxy tarball, `pip install .`, and the linters they run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from tests.support.ansible_run import REPO, base_env, run_playbook
from tests.support.events import custom_event, eventbridge_dlq_message
from tests.support.world import World

BIN = Path(sys.executable).parent
PLUGIN_LINE = "eventbridge_dlq = ansible_collections.redrive.eventbridge.cli.eventbridge_dlq"


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, **kwargs
    )


def test_galaxy_tarball_installs_and_runs(world: World, tmp_path: Path) -> None:
    built = run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "build",
            str(REPO),
            "--output-path",
            str(tmp_path / "dist"),
        ]
    )
    assert built.returncode == 0, built.stderr
    tarball = next((tmp_path / "dist").glob("redrive-eventbridge-*.tar.gz"))
    listing = run(["tar", "tzf", str(tarball)]).stdout.split()
    assert "plugins/modules/eventbridge_dlq_redrive.py" in listing
    assert not [name for name in listing if name.startswith((".venv", "tests/output"))]

    installed = tmp_path / "collections"
    result = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(installed)]
    )
    assert result.returncode == 0, result.stderr

    dlq = world.queue("dlq")
    _target, failed = world.capture_rule()
    world.send(dlq, [eventbridge_dlq_message(custom_event(1), **failed)])
    playbook = run_playbook(
        tmp_path / "play",
        [
            {
                "name": "preview",
                "redrive.eventbridge.eventbridge_dlq_redrive": {"queue": dlq},
                "check_mode": True,
                "register": "out",
            }
        ],
        world.endpoint_url,
        env={"ANSIBLE_COLLECTIONS_PATH": str(installed)},
    )
    assert playbook.result("preview")["redriven"] == 1


def test_pip_install_gives_the_collection_and_the_cli_plugin(world: World, tmp_path: Path) -> None:
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    install = run([str(python), "-m", "pip", "install", "--quiet", f"{REPO}[cli]"])
    assert install.returncode == 0, install.stdout + install.stderr

    imported = run(
        [
            str(python),
            "-c",
            "import ansible_collections.redrive.eventbridge.plugins.module_utils.engine",
        ]
    )
    assert imported.returncode == 0, imported.stderr

    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    listed = run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "list",
            "redrive.eventbridge",
            "--format",
            "json",
        ],
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": site},
    )
    assert "redrive.eventbridge" in json.dumps(json.loads(listed.stdout)), listed.stderr

    dlq = world.queue("dlq")
    _target, failed = world.capture_rule()
    world.send(dlq, [eventbridge_dlq_message(custom_event(1), **failed)])
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nregion = us-east-1\n[plugins]\n{PLUGIN_LINE}\n")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))
    }
    env.update(
        AWS_CONFIG_FILE=str(config), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    peek = run(
        [
            str(target / "bin" / "aws"),
            "eventbridge-dlq",
            "peek",
            "--queue",
            dlq,
            "--endpoint-url",
            world.endpoint_url,
        ],
        env=env,
    )
    assert peek.returncode == 0, peek.stderr
    assert [item["redrivable"] for item in json.loads(peek.stdout)] == [True]


def test_ansible_doc_renders_every_plugin_without_warnings(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    for kind, name in (("module", "eventbridge_dlq_redrive"), ("lookup", "dlq_messages")):
        shown = run([str(BIN / "ansible-doc"), "-t", kind, f"redrive.eventbridge.{name}"], env=env)
        assert shown.returncode == 0, shown.stderr
        # Ansible's own warnings ("[WARNING]: ", "[DEPRECATION WARNING]: "), not a Python
        # warning a dependency prints on import.
        assert "WARNING]" not in shown.stderr, shown.stderr
        assert "EXAMPLES" in shown.stdout and "RETURN VALUES" in shown.stdout


def test_example_playbooks_pass_ansible_lint_production(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    playbooks = sorted(str(path.relative_to(REPO)) for path in (REPO / "examples").glob("*.yml"))
    playbooks.append("demo/site.yml")
    linted = run(
        [
            str(BIN / "ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "--nocolor",
            *playbooks,
        ],
        env=env,
        cwd=REPO,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
