#!/usr/bin/env bash
# The multi-command steps of the stack workflows (deploy, patch rebuild). Run from anywhere; works in the
# repository root. Needs the Pulumi CLI logged in through PULUMI_BACKEND_URL / PULUMI_ACCESS_TOKEN, and
# AWS credentials (OIDC) in the environment.
#
#   ci_stack.sh prepare STACK
#       install the program's dependencies (and the policy pack's), then print `image-uri=<value>` for
#       $GITHUB_OUTPUT: the deployed imageUri, CONTAINER_LAMBDA_CACHE_FROM of the next `up`. The program
#       only builds when no image of the new content tag is in ECR yet, and then reuses these layers.
#   ci_stack.sh drift STACK
#       `pulumi preview --refresh --expect-no-changes` of the stack running the deployed image
#       (CONTAINER_LAMBDA_IMAGE_URI), the image builds of the state excluded: every update builds on the base
#       tag's current digest (scripts/refresh_base_image.py), so a build tonight could differ from the
#       deployed image without any resource having drifted. Fails when anything else would change; the
#       verdict also goes to $GITHUB_STEP_SUMMARY.
#   ci_stack.sh verify STACK [--fail-on SEVERITY]
#       after `pulumi up`: wait until the function is Active with its last update Successful, check the
#       pushed image manifest (single platform, the function's architecture, within 10 GB), smoke-test the
#       API, and report the image's ECR scan findings; with --fail-on, findings at SEVERITY or above fail.
set -euo pipefail

die() { echo "ci_stack.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 prepare STACK | drift STACK | verify STACK [--fail-on SEVERITY]" >&2; exit 2; }
step() { printf '==> %s\n' "$*" >&2; }

# json_get KEY < JSON: the value of a top-level key (strings printed raw; missing -> empty)
json_get() {
  python3 -c 'import json, sys
value = json.load(sys.stdin).get(sys.argv[1], "")
print(value if isinstance(value, str) else json.dumps(value))' "$1"
}

cd "$(dirname "$0")/.."
command=${1:-}
stack=${2:-}
[[ -n "$command" && -n "$stack" ]] || usage
[[ "$stack" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "stack name '$stack' must match ^[a-z0-9][a-z0-9-]{0,30}\$"
shift 2
fail_on=""
while (($#)); do
  case "$1" in
    --fail-on) [[ $# -ge 2 ]] || usage; fail_on=$2; shift 2 ;;
    *) usage ;;
  esac
done

prepare() {
  step "installing the program's dependencies (pulumi install)"
  pulumi install >&2
  if [[ -f policy/PulumiPolicy.yaml && -f policy/requirements.txt ]]; then
    step "installing the policy pack's dependencies into policy/venv"
    python3 -m venv policy/venv
    policy/venv/bin/python -m pip install --quiet --requirement policy/requirements.txt >&2
  fi
  if ! pulumi stack select "$stack" --non-interactive >/dev/null 2>&1; then
    step "build cache: none (first deployment)"
    echo "image-uri="
    return
  fi
  local image_uri
  image_uri=$(deployed_image)
  step "build cache: ${image_uri:-none}"
  echo "image-uri=$image_uri"
}

# The stack's imageUri output when it is an image by digest, else nothing (with a word on stderr).
deployed_image() {
  local image_uri
  image_uri=$(pulumi stack output imageUri --stack "$stack" 2>/dev/null || true)
  if [[ -n "$image_uri" && ! "$image_uri" =~ ^[^[:space:]@]+@sha256:[0-9a-f]{64}$ ]]; then
    echo "ci_stack.sh: ignoring imageUri '$image_uri' (not <repository>@sha256:<digest>)" >&2
    image_uri=""
  fi
  echo "$image_uri"
}

# Resource types whose update is an image build (pulumi-docker, docker-build).
IMAGE_TYPES='docker:index/image:Image docker-build:index:Image'

drift() {
  local urns excludes=() status=0
  urns=$(pulumi stack export --stack "$stack" | IMAGE_TYPES="$IMAGE_TYPES" python3 -c 'import json, os, sys
types = os.environ["IMAGE_TYPES"].split()
for resource in (json.load(sys.stdin).get("deployment") or {}).get("resources") or []:
    if resource.get("type") in types:
        print(resource["urn"])')
  while IFS= read -r urn; do
    if [[ -n "$urn" ]]; then excludes+=(--exclude "$urn"); fi
  done <<<"$urns"
  step "drift check of $stack (image builds left out: $((${#excludes[@]} / 2)))"
  CONTAINER_LAMBDA_IMAGE_URI=$(deployed_image) \
    pulumi preview --stack "$stack" --refresh --expect-no-changes --diff --non-interactive "${excludes[@]}" \
    || status=$?
  if ((status == 0)); then
    echo "### Drift of $stack: none" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
  else
    echo "### Drift of $stack: the resources, the state and main disagree (see the job log)" \
      >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
    die "stack $stack has drifted (pulumi preview exited $status)"
  fi
}

work=""
trap '[[ -z "$work" ]] || rm -rf "$work"' EXIT

verify() {
  local outputs function_name api_url image_uri repository digest state function_state update_status architecture
  outputs=$(pulumi stack output --json --stack "$stack")
  function_name=$(json_get functionName <<<"$outputs")
  api_url=$(json_get apiUrl <<<"$outputs")
  image_uri=$(json_get imageUri <<<"$outputs")
  repository=$(json_get repositoryName <<<"$outputs")
  [[ -n "$function_name" && -n "$api_url" && -n "$image_uri" && -n "$repository" ]] \
    || die "stack $stack lacks one of the outputs functionName, apiUrl, imageUri, repositoryName"
  digest=${image_uri##*@}
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "imageUri '$image_uri' is not pinned by digest"

  step "waiting for $function_name to be Active with its last update Successful"
  aws lambda wait function-active-v2 --function-name "$function_name"
  aws lambda wait function-updated-v2 --function-name "$function_name"
  state=$(aws lambda get-function-configuration --function-name "$function_name" \
    --query '[State, LastUpdateStatus, Architectures[0]]' --output text)
  read -r function_state update_status architecture <<<"$state"
  [[ "$function_state" == Active && "$update_status" == Successful ]] \
    || die "$function_name is $function_state with last update $update_status"
  echo "$function_name: $function_state, last update $update_status, $architecture" >&2

  work=$(mktemp -d)
  step "checking the pushed image manifest of $image_uri"
  aws ecr batch-get-image --repository-name "$repository" --image-ids "imageDigest=$digest" \
    --accepted-media-types application/vnd.docker.distribution.manifest.v2+json \
      application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.index.v1+json \
      application/vnd.docker.distribution.manifest.list.v2+json \
    --query 'images[0].imageManifest' --output text >"$work/manifest.json"
  local config_digest config_args=()
  config_digest=$(python3 -c 'import json, sys
print((json.load(sys.stdin).get("config") or {}).get("digest", ""))' <"$work/manifest.json")
  # The image config (its platform) is a blob, fetched like a layer. Without it the manifest checks still run
  # and the smoke test still exercises the function; the missing platform check is flagged, not fatal.
  if [[ -n "$config_digest" ]]; then
    if aws ecr get-download-url-for-layer --repository-name "$repository" --layer-digest "$config_digest" \
        --query downloadUrl --output text >"$work/config-url" \
      && curl --fail --silent --show-error --proto '=https' --output "$work/config.json" "$(<"$work/config-url")"
    then
      config_args=(--config "$work/config.json")
    else
      echo "::warning title=Image platform not checked::could not fetch the config blob $config_digest of $image_uri"
    fi
  fi
  python3 scripts/check_image_manifest.py --manifest "$work/manifest.json" "${config_args[@]}" \
    --architecture "$architecture"

  step "smoke test of $api_url"
  python3 scripts/smoke_test.py --base-url "$api_url"

  step "ECR scan findings of $image_uri"
  if ! aws ecr wait image-scan-complete --repository-name "$repository" --image-id "imageDigest=$digest"; then
    echo "ci_stack.sh: the scan of $image_uri did not complete" >&2
  fi
  aws ecr describe-image-scan-findings --repository-name "$repository" --image-id "imageDigest=$digest" \
    --output json >"$work/findings.json"
  python3 scripts/ecr_scan_report.py "$work/findings.json" --image "$image_uri" ${fail_on:+--fail-on "$fail_on"} \
    | tee -a "${GITHUB_STEP_SUMMARY:-/dev/null}"
}

case "$command" in
  prepare) prepare ;;
  drift) drift ;;
  verify) verify ;;
  *) usage ;;
esac
