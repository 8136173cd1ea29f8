"""Run real ansible-playbook subprocesses against the collection in this tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"


def collections_root(base: Path) -> Path:
    """A collections path holding this tree as redrive.eventbridge."""
    root = base / "collections"
    link = root / "ansible_collections" / "redrive" / "eventbridge"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(REPO, target_is_directory=True)
        except FileExistsError:  # another test process made it first
            pass
    return root


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]]

    def result(self, task: str) -> dict[str, Any]:
        """The result of the (last) task with this name."""
        for line in reversed(self.results):
            if line["task"] == task:
                return line["result"]
        raise KeyError(
            f"no result for task {task!r}; ran: {[r['task'] for r in self.results]}\n"
            f"{self.stdout}\n{self.stderr}"
        )

    def status(self, task: str) -> str:
        for line in reversed(self.results):
            if line["task"] == task:
                return line["status"]
        raise KeyError(task)


def base_env(tmp: Path, endpoint_url: Optional[str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "ANSIBLE_", "EC2_"))
    }
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_root(tmp)),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="result_dump",
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if endpoint_url:
        env["AWS_URL"] = endpoint_url
    return env


def write_playbook(
    tmp: Path, tasks: list[dict[str, Any]], play: Optional[dict[str, Any]] = None
) -> Path:
    """A one-play playbook on localhost, under a name not used before in `tmp`."""
    tmp.mkdir(parents=True, exist_ok=True)
    playbook = tmp / f"playbook-{len(list(tmp.glob('playbook-*.yml')))}.yml"
    document = {"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}
    document.update(play or {})
    playbook.write_text(yaml.safe_dump([document], sort_keys=False, allow_unicode=True))
    return playbook


def run_playbook(
    tmp: Path,
    tasks: list[dict[str, Any]],
    endpoint_url: Optional[str],
    extra_args: Optional[list[str]] = None,
    env: Optional[dict[str, str]] = None,
    play: Optional[dict[str, Any]] = None,
    timeout: float = 300,
) -> PlaybookRun:
    """Write a one-play playbook on localhost and run it with ansible-playbook."""
    playbook = write_playbook(tmp, tasks, play)
    dump = playbook.with_suffix(".jsonl")
    run_env = base_env(tmp, endpoint_url)
    run_env["RESULT_DUMP_FILE"] = str(dump)
    run_env.update(env or {})
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), *(extra_args or [])],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    results = []
    if dump.exists():
        results = [json.loads(line) for line in dump.read_text().splitlines() if line]
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, results)
