#!/usr/bin/env bash
# ansible-test sanity on a copy of the tree at .../ansible_collections/redrive/eventbridge.
# ansible-test needs a real directory there (a symlink fails), so the tracked and
# untracked-but-not-ignored files are copied into a scratch directory.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv_bin="${VENV_BIN:-$repo/.venv/bin}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Offline stand-in for the pip bootstrap script ansible-test would download.
pip_version="$("$venv_bin/python" - <<'PY'
import ansible_test._internal.python_requirements as r
import inspect, re
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(r.get_venv_packages)).group(1))
PY
)"
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cp "$repo/tests/sanity/get_pip_standin.py" "$cache/get_pip_${pip_version//./_}.py"

target="$work/ansible_collections/redrive/eventbridge"
mkdir -p "$target"
(cd "$repo" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$target")
cd "$target"
git init -q && git add -A  # ansible-test lists the collection's files through git

PATH="$venv_bin:$PATH" "$venv_bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
