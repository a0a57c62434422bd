#!/usr/bin/env bash
# The local lifecycle of one stack with the Pulumi CLI: `make deploy`, `make preview`, `make destroy`,
# `make outputs`, `make url` and `make pulumi ARGS=…` all run this script, so every command works against the
# same state.
#
#   deploy.sh up|preview|destroy|outputs|url [stack]
#   deploy.sh pulumi [stack] -- <pulumi arguments>     (e.g. `-- config set memorySize 2048`)
#
# State backend: $PULUMI_BACKEND_URL when set (s3://…, Pulumi Cloud, …); otherwise a local file backend in
# ./.pulumi-state. Secrets: $PULUMI_CONFIG_PASSPHRASE / $PULUMI_CONFIG_PASSPHRASE_FILE when set, or the
# provider named by $PULUMI_SECRETS_PROVIDER (e.g. awskms://…) for a new stack; with neither, a random
# passphrase is generated once, by the first `up`, into .pulumi-state/passphrase (mode 600, git-ignored).
#
# Only `up` creates anything (the local state, the passphrase, the stack), and only after the AWS credentials
# and the Docker engine answered. Every other action refuses a stack that does not exist in the backend.
set -euo pipefail

usage() {
  echo "usage: $0 up|preview|destroy|outputs|url [stack]   |   $0 pulumi [stack] -- <pulumi arguments>" >&2
  exit 2
}
die() { echo "deploy.sh: $*" >&2; exit 1; }
note() { echo "deploy.sh: $*" >&2; }

action=${1:-}
case "$action" in up|preview|destroy|outputs|url|pulumi) ;; *) usage ;; esac
shift
stack=dev
if [[ $# -gt 0 && "$1" != "--" ]]; then stack=$1; shift; fi
if [[ "$action" == pulumi ]]; then
  [[ "${1:-}" == "--" ]] || usage
  shift
  [[ $# -gt 0 ]] || usage
fi

cd "$(dirname "$0")/.."
python3 -m infra.project stack "$stack" || exit 1  # the one stack-name rule (infra/project.py)
command -v pulumi >/dev/null || die "the Pulumi CLI is required: https://www.pulumi.com/docs/install/"

# Credentials and the Docker engine answer before anything is created (state, passphrase, stack, image).
if [[ "$action" == up || "$action" == preview || "$action" == destroy ]]; then
  command -v aws >/dev/null || die "the AWS CLI is required (it checks the credentials and logs Docker in to ECR)"
  account=$(aws sts get-caller-identity --query Account --output text 2>/dev/null) \
    || die "no usable AWS credentials: \`aws sts get-caller-identity\` failed (set AWS_PROFILE, or run \`aws sso login\` / \`aws configure\`)"
fi
if [[ "$action" == up ]]; then
  command -v docker >/dev/null || die "Docker is required to build the function image"
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (is it running?)"
fi

if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  if [[ ! -d .pulumi-state ]]; then
    [[ "$action" == up ]] || die "no local state in .pulumi-state: stack '$stack' was never deployed from this \
checkout (\`make deploy\` creates it; set PULUMI_BACKEND_URL for the pipeline's state)"
    mkdir -p .pulumi-state
  fi
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
if [[ "$PULUMI_BACKEND_URL" == file://* && -z "${PULUMI_CONFIG_PASSPHRASE+set}" \
      && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" && -z "${PULUMI_SECRETS_PROVIDER:-}" ]]; then
  passphrase_file=.pulumi-state/passphrase
  if [[ ! -s "$passphrase_file" && "$action" == up ]]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$passphrase_file")
    note "generated a passphrase for the local state in $passphrase_file (keep it; it decrypts the stack's secrets)"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/$passphrase_file"
fi

note "backend ${PULUMI_BACKEND_URL%%\?*}, stack $stack, action $action"
pulumi login --non-interactive >/dev/null
if ! pulumi stack select "$stack" --non-interactive 2>/dev/null; then
  [[ "$action" == up ]] || die "stack '$stack' does not exist in ${PULUMI_BACKEND_URL%%\?*} (\`make deploy\` \
creates it); nothing was created"
  pulumi stack init "$stack" --non-interactive ${PULUMI_SECRETS_PROVIDER:+--secrets-provider "$PULUMI_SECRETS_PROVIDER"}
fi

case "$action" in
  outputs) exec pulumi stack output --stack "$stack" --json ;;
  url) exec pulumi stack output url --stack "$stack" ;;  # the custom domain's URL when set, else the API's
  pulumi) exec pulumi "$@" ;;  # on the stack selected above
esac

# A dev stack deployed from a laptop and the pipeline's dev stack would create the same resources in two
# states: say so when this repository's pipeline is configured (its variables are set in GitHub).
if [[ "$action" == up && "$PULUMI_BACKEND_URL" == file://* ]] && command -v gh >/dev/null \
    && gh variable get PULUMI_BACKEND_URL >/dev/null 2>&1; then
  note "warning: this repository's pipeline is configured (GitHub variable PULUMI_BACKEND_URL is set) and \
deploys '$stack' from its own state; before the pipeline's first deploy, \`make destroy\` this local stack or \
move its state into the pipeline's backend (\`make pulumi ARGS='stack export --file dev.json'\`, then \
\`pulumi stack import --file dev.json\` with PULUMI_BACKEND_URL set), or the pipeline fails on resources that \
already exist"
fi

if [[ "$action" != destroy ]]; then pulumi install; fi
if [[ "$action" == up ]] || { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
  # Docker authenticates to ECR here, outside the program: no registry credential is ever a resource input.
  # The program's docker provider reads it from Docker's config file in a preview and a destroy too; those
  # two log in when a Docker engine answers and run without one.
  region=$(pulumi config get aws:region --stack "$stack" 2>/dev/null || true)
  region=${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
  [[ -n "$region" ]] || die "no region: set \`make pulumi ARGS='config set aws:region eu-west-1'\` or AWS_REGION"
  suffix=amazonaws.com
  [[ "$region" == cn-* ]] && suffix=amazonaws.com.cn
  aws ecr get-login-password --region "$region" \
    | docker login --username AWS --password-stdin "$account.dkr.ecr.$region.$suffix" >/dev/null
fi
if [[ "$action" != destroy ]]; then
  # the guardrails (policy/) run on every local preview and update too, as in the workflows
  python3 -m venv policy/venv
  policy/venv/bin/python -m pip install --quiet --requirement policy/requirements.txt
  # the platform's library (infra/iam_rules.py) on the pack's path, as in the workflows (infra/project.py)
  policy/venv/bin/python -m infra.project link-library >/dev/null
fi

# Reuse the layers of the image deployed now as build cache (read by digest: tags stay immutable).
if [[ -z "${BUILD_CACHE_FROM:-}" ]]; then
  BUILD_CACHE_FROM=$(pulumi stack output imageUri --stack "$stack" 2>/dev/null || true)
  export BUILD_CACHE_FROM
fi

# A state a deploy role may write could hold entries the program never writes, which the engine would act on
# with these (administrator's) credentials (scripts/state_guard.py): checked right before every engine run.
if [[ "$action" == up || "$action" == preview || "$action" == destroy ]]; then
  pulumi stack export --stack "$stack" | python3 -m scripts.state_guard "$stack"
fi
# ... and, as in the workflows, the engine downloads no plugin a state names: `pulumi install` (above)
# installed the program's, and a missing one fails the run instead (pulumi/pulumi sdk/go/common/env)
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

case "$action" in
  up) pulumi up --yes --stack "$stack" --non-interactive --policy-pack policy ;;
  preview) pulumi preview --diff --stack "$stack" --non-interactive --policy-pack policy ;;
  destroy) pulumi destroy --yes --stack "$stack" --non-interactive ;;
esac
