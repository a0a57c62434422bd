#!/usr/bin/env bash
# Preview, deploy or destroy one stack of container-lambda with the Pulumi CLI (`make deploy` runs `up dev`).
#
# State backend: $PULUMI_BACKEND_URL when set (s3://…, Pulumi Cloud, …); otherwise a local file backend in
# ./.pulumi-state. Secrets: $PULUMI_CONFIG_PASSPHRASE / $PULUMI_CONFIG_PASSPHRASE_FILE when set, or the
# provider named by $PULUMI_SECRETS_PROVIDER (e.g. awskms://…) for a new stack; with neither, a random
# passphrase is generated once into .pulumi-state/passphrase (mode 600, git-ignored) for the local backend.
set -euo pipefail

usage() { echo "usage: $0 up|preview|destroy [stack]" >&2; exit 2; }
die() { echo "deploy.sh: $*" >&2; exit 1; }

action=${1:-}
stack=${2:-dev}
case "$action" in up|preview|destroy) ;; *) usage ;; esac
[[ "$stack" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "stack name '$stack' must match ^[a-z0-9][a-z0-9-]{0,30}\$"

cd "$(dirname "$0")/.."
command -v pulumi >/dev/null || die "the Pulumi CLI is required: https://www.pulumi.com/docs/install/"
if [[ "$action" != destroy ]]; then
  command -v docker >/dev/null || die "Docker is required to build the function image"
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (is it running?)"
fi

if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
if [[ "$PULUMI_BACKEND_URL" == file://* && -z "${PULUMI_CONFIG_PASSPHRASE+set}" \
      && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" && -z "${PULUMI_SECRETS_PROVIDER:-}" ]]; then
  passphrase_file=.pulumi-state/passphrase
  if [[ ! -s "$passphrase_file" ]]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$passphrase_file")
    echo "deploy.sh: generated a passphrase for the local state in $passphrase_file (keep it; it decrypts the stack's secrets)"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/$passphrase_file"
fi

echo "deploy.sh: backend ${PULUMI_BACKEND_URL%%\?*}, stack $stack, action $action"
pulumi login --non-interactive >/dev/null
pulumi install
# the guardrails (policy/) run on every local preview and update too, as in the workflows
python3 -m venv policy/venv
policy/venv/bin/python -m pip install --quiet --requirement policy/requirements.txt
if ! pulumi stack select "$stack" --non-interactive 2>/dev/null; then
  pulumi stack init "$stack" --non-interactive ${PULUMI_SECRETS_PROVIDER:+--secrets-provider "$PULUMI_SECRETS_PROVIDER"}
fi

# Reuse the layers of the image deployed now as build cache (read by digest: tags stay immutable).
if [[ -z "${CONTAINER_LAMBDA_CACHE_FROM:-}" ]]; then
  CONTAINER_LAMBDA_CACHE_FROM=$(pulumi stack output imageUri --stack "$stack" 2>/dev/null || true)
  export CONTAINER_LAMBDA_CACHE_FROM
fi

case "$action" in
  up) pulumi up --yes --stack "$stack" --non-interactive --policy-pack policy ;;
  preview) pulumi preview --diff --stack "$stack" --non-interactive --policy-pack policy ;;
  destroy) pulumi destroy --yes --stack "$stack" --non-interactive ;;
esac
