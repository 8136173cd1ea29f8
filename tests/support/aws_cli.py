"""The real `aws` entry point with the eventbridge-dlq plugin enabled by a private config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from .ansible_run import collections_root
from .events import REGION

AWS = Path(sys.executable).parent / "aws"
PLUGIN = "ansible_collections.redrive.eventbridge.cli.eventbridge_dlq"


def cli_env(base: Path) -> dict[str, str]:
    """An environment where `aws` sees only this config, test credentials and this tree."""
    config = base / "aws-config"
    config.write_text(f"[default]\nregion = {REGION}\n\n[plugins]\neventbridge_dlq = {PLUGIN}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PAGER", "MANPAGER"))}
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(base / "no-credentials"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=str(collections_root(base)),
        PAGER="cat",
    )
    return env


def aws_command(endpoint: Optional[str], *args: str) -> list[str]:
    return [str(AWS), *(["--endpoint-url", endpoint] if endpoint else []), *args]


def aws(env: dict[str, str], endpoint: Optional[str], *args: str, **kwargs: Any) -> Any:
    """Run `aws` to the end; stdout and stderr captured as text unless kwargs say otherwise."""
    options: dict[str, Any] = {"capture_output": True, "stdin": subprocess.DEVNULL}
    options.update(kwargs)
    return subprocess.run(
        aws_command(endpoint, *args), env=env, text=True, timeout=60, check=False, **options
    )


def cli_flags(params: dict[str, Any]) -> list[str]:
    """Module-style parameters as the plugin's flags (`max_messages` → `--max-messages`)."""
    flags: list[str] = []
    for name, value in params.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            flags.extend([flag, str(value)])
    return flags
