"""The real `aws` entry point with the eventbridge-dlq plugin enabled by a private config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
