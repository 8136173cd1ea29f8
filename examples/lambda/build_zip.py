# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make lambda`: the deployment zip of the redrive Lambda function.

It holds the handler and the core (plugins/module_utils) at the paths the handler string
names, and nothing else: no Ansible (the one module_utils file that imports it is left
out) and no boto3 or botocore, which the Lambda Python runtime provides. Entries are
sorted and dated 1980-01-01, so the same tree always gives the same bytes.

    python examples/lambda/build_zip.py [OUTPUT]   # default: dist/redrive-eventbridge-lambda.zip
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "ansible_collections/redrive/eventbridge"
DEFAULT_OUTPUT = REPO / "dist" / "redrive-eventbridge-lambda.zip"
HANDLER = "ansible_collections.redrive.eventbridge.handlers.lambda_redrive.handler"
# Imports Ansible; the function never needs it.
LEFT_OUT = frozenset(("plugins/module_utils/ansible_module.py",))
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def sources(repo: Path = REPO) -> list[str]:
    """The files of the zip, as paths relative to the repository."""
    found = [
        path.relative_to(repo).as_posix()
        for folder in ("handlers", "plugins/module_utils")
        for path in (repo / folder).glob("*.py")
    ]
    return [*sorted(name for name in found if name not in LEFT_OUT), "LICENSE"]


def build(output: Path = DEFAULT_OUTPUT, repo: Path = REPO) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sources(repo):
            entry = zipfile.ZipInfo(f"{PACKAGE}/{name}", FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16  # readable by the runtime's user
            archive.writestr(entry, (repo / name).read_bytes())
    return output


def main(argv: list[str]) -> int:
    output = build(Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT)
    print(f"{output}: {output.stat().st_size} bytes; handler {HANDLER}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
