#!/usr/bin/env bash
# Print the stack matrix of the workflows (scripts/stack_matrix.py) as GitHub step outputs, on a bare runner:
# stack_matrix.py needs PyYAML, installed at the version pinned in requirements-dev.txt into a throwaway venv.
#   ci_plan.sh [stack_matrix.py arguments] >> "$GITHUB_OUTPUT"
set -euo pipefail
cd "$(dirname "$0")/.."

pin=$(grep -ix 'pyyaml==[0-9][0-9.]*' requirements-dev.txt || true)
[[ -n "$pin" ]] || { echo "ci_plan.sh: no 'pyyaml==<version>' pin in requirements-dev.txt" >&2; exit 1; }
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" >&2
"$venv/bin/python" scripts/stack_matrix.py "$@"
