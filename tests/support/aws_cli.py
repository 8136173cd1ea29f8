"""The real `aws` entry points with the eventbridge-dlq plugin enabled by a private config.

Two CLIs, as operators have them: AWS CLI v1 from PyPI in the project venv (the plugin is
importable from PYTHONPATH, as after `pip install awscli ./`), and AWS CLI v2 as Debian
packages it (`/usr/bin/aws`, system Python, its own botocore), which loads the plugin only
from `cli_legacy_plugin_path`: a directory laid out as `pip install --target DIR .` leaves
it (DIR/ansible_collections/redrive/eventbridge), outside the venv.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Optional

from .ansible_run import collections_root
from .events import REGION

PLUGIN = "ansible_collections.redrive.eventbridge.cli.eventbridge_dlq"


@dataclass(frozen=True)
class AwsCli:
    name: str
    executable: Path
    # v2 loads third-party plugins only from this config key; v1 refuses the key.
    legacy_plugin_path: bool
    major: int

    def config(self, plugin_root: Path) -> str:
        lines = [f"[default]\nregion = {REGION}\n\n[plugins]"]
        if self.legacy_plugin_path:
            lines.append(f"cli_legacy_plugin_path = {plugin_root}")
        lines.append(f"eventbridge_dlq = {PLUGIN}\n")
        return "\n".join(lines)

    def env(self, base: Path, plugin_root: Optional[Path] = None) -> dict[str, str]:
        """An environment where `aws` sees only this config, test credentials and the
        collection at `plugin_root` (by default this tree)."""
        root = plugin_root or collections_root(base)
        base.mkdir(parents=True, exist_ok=True)
        config = base / f"aws-config-{self.name}"
        config.write_text(self.config(root))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "PAGER", "MANPAGER", "PYTHON"))
        }
        env.update(
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(base / "no-credentials"),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            PAGER="cat",
        )
        if not self.legacy_plugin_path:
            env["PYTHONPATH"] = str(root)
        return env

    def command(self, endpoint: Optional[str], *args: str) -> list[str]:
        return [str(self.executable), *(["--endpoint-url", endpoint] if endpoint else []), *args]

    def run(self, env: dict[str, str], endpoint: Optional[str], *args: str, **kwargs: Any) -> Any:
        """Run `aws` to the end; stdout and stderr captured as text unless kwargs say otherwise."""
        options: dict[str, Any] = {"capture_output": True, "stdin": subprocess.DEVNULL}
        options.update(kwargs)
        return subprocess.run(
            self.command(endpoint, *args), env=env, text=True, timeout=60, check=False, **options
        )

    def interpreter(self) -> str:
        """The Python that runs this `aws` (its script's #! line)."""
        first = Path(os.path.realpath(self.executable)).read_text().splitlines()[0]
        return first[2:].strip()

    def missing(self) -> Optional[str]:
        """Why this CLI cannot be tested here, or None."""
        return _missing(self.executable, self.major)


@cache
def _missing(executable: Path, major: int) -> Optional[str]:
    if not executable.exists():
        return f"{executable} is not installed"
    shown = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    version = (shown.stdout + shown.stderr).strip()
    if not re.match(rf"aws-cli/{major}\.", version):
        return f"{executable} is not AWS CLI v{major}: {version or shown.returncode}"
    return None


V1 = AwsCli("v1", Path(sys.executable).parent / "aws", legacy_plugin_path=False, major=1)
V2 = AwsCli("v2", Path("/usr/bin/aws"), legacy_plugin_path=True, major=2)
# `make test` installs Debian's awscli (the Makefile's aws-cli-v2 target); where it cannot
# (not root, no sudo, no apt), the v2 runs of the CLI tests are skipped with this reason.
V2_INSTALL_HINT = "make test installs it with apt-get install awscli (needs root or sudo)"


# What `pip install --target DIR '.[decrypt]'` puts beside the collection and the plugin
# may import: boto3 (a dependency) and the decrypt extra (the AWS Encryption SDK, which
# imports boto3, and what it needs).
BESIDE_THE_PLUGIN = (
    "boto3",
    "aws_encryption_sdk",
    "attr",
    "attrs",
    "wrapt",
    "cryptography",
    "cffi",
)


def plugin_tree(base: Path, with_boto3: bool = True) -> Path:
    """A directory as `pip install --target DIR '.[decrypt]'` leaves it: the collection
    under ansible_collections/redrive/eventbridge (here a link to this tree) and, beside
    it, the PyPI boto3 that pip installs as a dependency and the decrypt extra (links to
    the venv's). Under AWS CLI v2 that boto3 fails to import against the CLI's own
    botocore, so the plugin works only if its CLI path never imports boto3."""
    root = collections_root(base)
    if with_boto3:
        for name in BESIDE_THE_PLUGIN:
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.submodule_search_locations, name
            link = root / name
            if not link.exists():
                link.symlink_to(Path(spec.submodule_search_locations[0]), target_is_directory=True)
    return root


def cli_env(base: Path, cli: AwsCli = V1, plugin_root: Optional[Path] = None) -> dict[str, str]:
    return cli.env(base, plugin_root)


def aws_command(endpoint: Optional[str], *args: str) -> list[str]:
    return V1.command(endpoint, *args)


def aws(env: dict[str, str], endpoint: Optional[str], *args: str, **kwargs: Any) -> Any:
    """AWS CLI v1 (the venv's), for callers that do not choose."""
    return V1.run(env, endpoint, *args, **kwargs)


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
