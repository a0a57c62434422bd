#!/usr/bin/env bash
# The steps of the GitHub workflows that are more than one command (.github/workflows/*.yml call them; see
# docs/pipeline.md). Run from anywhere; works in the repository root. What a tool on a GitHub runner does
# (docker buildx imagetools, skopeo, the AWS CLI waiters, jq, yq) is done by that tool; this file only strings the
# calls together and says plainly what went wrong.
#
#   pipeline.sh require [repo:NAME|env:NAME]...   fail, naming every missing variable and where to set it
#   pipeline.sh main-only                         fail unless GITHUB_REF is refs/heads/main
#   pipeline.sh stacks                            GitHub outputs from DEPLOY_STACKS (JSON array): the
#                                                 building stack, its runner, the further stacks in order;
#                                                 what the program builds for the building stack (tag,
#                                                 context, dockerfile, platform), its repository, and the
#                                                 attestation's subject (<repository>:<tag>)
#   pipeline.sh dockerfiles                       GitHub outputs: the function's Dockerfiles (a JSON array of
#                                                 names), images: each with each architecture and its runner
#   pipeline.sh prepare STACK [--init]            the program's and the policy pack's venvs from the
#                                                 hash-pinned requirements, the exact provider plugins their
#                                                 SDKs pin; output image-uri: the image the stack runs (by
#                                                 digest, else empty); --init creates the stack when it does
#                                                 not exist yet
#   pipeline.sh archive-digest ARCHIVE            output digest: the one image manifest of an OCI image
#                                                 layout archive (buildx --output type=oci), checked against
#                                                 its blob
#   pipeline.sh push-archive ARCHIVE TAG STACK    `pulumi up` of STACK's repository only; then the image under
#                                                 TAG when ECR holds one (reused), else ARCHIVE pushed under
#                                                 TAG, digest preserved (built); output image-uri, tag,
#                                                 repository, origin (built or reused)
#   pipeline.sh provenance IMAGE SUBJECT built|reused
#                                                 the digest's attestation names SUBJECT and this repository's
#                                                 deploy workflow on main, from this run's commit (built) or
#                                                 a commit of main (reused); scripts/provenance.py
#   pipeline.sh check-image IMAGE ARCHITECTURE    one image manifest Lambda runs: no index, no attestation,
#                                                 the function's platform, within 10 GB (compressed)
#   pipeline.sh discard REPOSITORY DIGEST         delete an image that failed check-image from ECR, so the
#                                                 content-tag lookup never runs it again
#   pipeline.sh build-local DOCKERFILE ARCH TAG   build function/ the way the stack does, into the local engine
#   pipeline.sh container-test IMAGE ARCHITECTURE run IMAGE under the emulator as a non-root user with every
#                                                 event of the function contract (scripts/invoke_events.py)
#   pipeline.sh scan REPOSITORY DIGEST SEVERITY   wait for ECR's scan of DIGEST (basic or enhanced); findings
#                                                 to the job summary; fail on findings at SEVERITY or above
#                                                 (NONE: report only; scripts/image_scan.py)
#   pipeline.sh check-promoted BUILDING SOURCE_URI TAG
#                                                 SOURCE_URI is in BUILDING's repository and TAG is the
#                                                 content tag this checkout gives BUILDING's image
#   pipeline.sh promote SOURCE_URI TAG STACK      `pulumi up` of STACK's repository only, then carbon-copy
#                                                 SOURCE_URI (repository@digest) into it, digest preserved;
#                                                 output image-uri (for PINNED_IMAGE_URI) and its content tag
#                                                 (another image when a rollback of STACK recorded one)
#   pipeline.sh state-guard STACK                 before a full `pulumi up`: every entry of STACK's state is
#                                                 one the program writes (scripts/state_guard.py)
#   pipeline.sh verify STACK                      after `pulumi up`: the function Active and updated, then
#                                                 the smoke test of the deployed API at its URL (the custom
#                                                 domain's when set; with SMOKE_BEARER_TOKEN when it has a JWT
#                                                 authorizer: scripts/smoke_test.py)
#   pipeline.sh rollback-request                  GitHub outputs from the dispatch inputs ROLLBACK_STACK and
#                                                 ROLLBACK_VERSION: empty, or a stack of DEPLOY_STACKS and a
#                                                 version number
#   pipeline.sh rollback STACK VERSION BUILDING   verify the provenance of the image kept version VERSION runs,
#                                                 then move `live` back to it (scripts/rollback.py); no build
#   pipeline.sh drift STACK                       pulumi preview --refresh --expect-no-changes of the image
#                                                 the stack runs
#   pipeline.sh rescan STACK SEVERITY             rescan the image the stack runs (basic: a new scan;
#                                                 enhanced: Inspector's current findings); fail on SEVERITY
set -euo pipefail

die() { echo "pipeline.sh: $*" >&2; exit 1; }
step() { printf '==> %s\n' "$*" >&2; }
summary() { cat >>"${GITHUB_STEP_SUMMARY:-/dev/null}"; }
output() { printf '%s\n' "$@" >>"${GITHUB_OUTPUT:-/dev/stdout}"; }

cd "$(dirname "$0")/.."
# One place for each fact: the stack-name rule and the names of a stack's resources (infra/project.py).
prefix() { python3 -m infra.project prefix "$1" || exit 2; }
check_stack() { python3 -m infra.project stack "$1" || exit 2; }

# What Docker, OCI and GitHub call the CPU of a Lambda architecture (infra/architecture.py, the one table):
# `arch_field NAME FIELD` prints the field (name, oci, platform, runner); another NAME stops with the rule.
arch_field() {
  local described
  described=$(python3 -m infra.architecture show "$1") || exit 2
  jq -r --arg field "$2" '.[$field]' <<<"$described"
}

require() {
  local missing=() spec scope name
  for spec in "$@"; do
    scope=${spec%%:*} name=${spec#*:}
    [[ -n "${!name:-}" ]] && continue
    case "$scope" in
      repo) missing+=("$name (repository variable)") ;;
      env) missing+=("$name (variable of the GitHub environment ${ENVIRONMENT:-of this job})") ;;
      *) die "require: '$spec' is not repo:NAME or env:NAME" ;;
    esac
  done
  ((${#missing[@]} == 0)) && return 0
  local message
  message="The pipeline is not set up: missing ${missing[*]}. Run the bootstrap (docs/bootstrap.md) and set the \
values its outputs name with \`gh variable set\` (per environment where the bootstrap says so), then start \
this workflow again (Actions > deploy > Run workflow)."
  echo "::error title=Pipeline not set up::$message"
  printf '### Pipeline not set up\n\n%s\n' "$message" | summary
  exit 1
}

# A workflow started by hand runs the workflow file of the branch picked in the form; the jobs that get
# credentials run only from main. (The environments' deployment-branch rules are the real control.)
main_only() {
  [[ "${GITHUB_REF:-}" == refs/heads/main ]] && return 0
  local message="This workflow runs only from main (refs/heads/main), not from '${GITHUB_REF:-an unknown ref}': \
start it again with \"Use workflow from: main\"."
  echo "::error title=Not main::$message"
  printf '### Not started\n\n%s\n' "$message" | summary
  exit 1
}

# The stack's architecture as infra/architecture.py describes it (JSON): the Python module reads the setting
# (the stack's value, else Pulumi.yaml's default); yq only turns the two files' `config` maps into JSON.
# yq: mikefarah/yq v4 on GitHub's Ubuntu runners (actions/runner-images, images/ubuntu/scripts/build/
# install-yq.sh), where `@json` encodes as JSON (mikefarah.gitbook.io/yq, "Encode / Decode"); jq's `@json`
# does the same in the jq-based yq of the Python package (the tests).
config_json() { yq -r '.config // {} | @json' "$1"; }
stack_architecture() {
  local stack=$1
  python3 -m infra.architecture stack "$stack" "$(config_json Pulumi.yaml)" "$(config_json "Pulumi.$stack.yaml")" \
    || exit 1
}

# The stacks in promotion order: DEPLOY_STACKS, the bootstrap's deployEnvironments as a JSON array (a
# repository variable, docs/bootstrap.md). The first is the building stack; a Pulumi.<stack>.yaml that is not
# listed (a personal stack, a retired one) is never deployed.
stacks() {
  local list building name file listed=() unlisted=()
  list=$(jq -ec 'if type == "array" and length > 0 and all(type == "string") then . else error end' \
    <<<"${DEPLOY_STACKS:-}" 2>/dev/null) && [[ -n "$list" ]] \
    || die "DEPLOY_STACKS must be a JSON array of stack names, the first the building stack \
(the bootstrap's deployEnvironments, e.g. [\"dev\",\"production\"]); got '${DEPLOY_STACKS:-}'"
  while IFS= read -r name; do
    check_stack "$name"
    [[ -f "Pulumi.$name.yaml" ]] || die "stack $name is in DEPLOY_STACKS but has no Pulumi.$name.yaml"
    listed+=("$name")
  done < <(jq -r '.[]' <<<"$list")
  [[ $(printf '%s\n' "${listed[@]}" | sort | uniq -d) == "" ]] || die "DEPLOY_STACKS lists a stack twice: $list"
  building=${listed[0]}
  for file in Pulumi.*.yaml; do
    [[ -f "$file" ]] || continue
    name=${file#Pulumi.} name=${name%.yaml}
    [[ " ${listed[*]} " == *" $name "* ]] || unlisted+=("$name")
  done
  if ((${#unlisted[@]})); then
    local message="not deployed: ${unlisted[*]} (Pulumi.<stack>.yaml not listed in DEPLOY_STACKS, the \
bootstrap's deployEnvironments)"
    echo "::notice title=Stacks not deployed::$message"
    printf '### Stacks\n\nPromotion order: %s.\n\n%s\n' "${listed[*]}" "$message" | summary
  fi
  local architecture image tag repository
  architecture=$(stack_architecture "$building")
  image=$(stack_image "$building")
  tag=$(jq -r .tag <<<"$image")
  repository=$(registry_names "$building" | jq -r .repository)
  output "building=$building" "architecture=$(jq -r .name <<<"$architecture")" \
    "runner=$(jq -r .runner <<<"$architecture")" "further=$(jq -c '.[1:]' <<<"$list")" "all=$list" \
    "tag=$tag" "context=$(jq -r .context <<<"$image")" \
    "dockerfile=$(jq -r .dockerfile <<<"$image")" "platform=$(jq -r .platform <<<"$image")" \
    "repository=$repository" "subject=$repository:$tag"
}

# What the program builds for STACK from this checkout (infra/build_context.py, JSON: tag, context, dockerfile,
# platform): deploy.yml builds exactly that outside the engine, and promotion expects that tag.
stack_image() {
  python3 -m infra.build_context image "$1" "$(config_json Pulumi.yaml)" "$(config_json "Pulumi.$1.yaml")" || exit 1
}

# The function's Dockerfiles, for the test workflow's image matrix: the ones the `dockerfile` key may name
# (infra/function_contract.py dockerfiles; it fails without function/Dockerfile).
dockerfiles() {
  local list
  list=$(python3 -m infra.function_contract --dockerfiles function) || die "no image matrix: see above"
  # each Dockerfile for each architecture, on that architecture's runner (infra/architecture.py)
  output "dockerfiles=$list" "images=$(python3 -m infra.architecture list | jq -c --argjson files "$list" \
    '[$files[] as $file | .[] | {dockerfile: $file, architecture: .name, runner}]')"
}

# Every package a job with cloud credentials installs is pinned by hash (`make lock`); the engine downloads
# no plugin on its own (the workflows set PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION), so the plugins the
# SDKs were generated for are installed here, by exact version (scripts/plugins.py).
prepare() {
  local stack=$1 init=${2:-} image_uri="" kind name version
  step "installing the program's and the policy pack's dependencies (hash-pinned)"
  python3 -m venv venv # Pulumi.yaml: runtime.options.virtualenv
  venv/bin/python -m pip install --quiet --require-hashes --requirement requirements.hashes.txt >&2
  python3 -m venv policy/venv
  policy/venv/bin/python -m pip install --quiet --require-hashes --requirement policy/requirements.hashes.txt >&2
  # the platform's library (infra/iam_rules.py) on the pack's path (a hash-pinned install takes no local
  # project): infra/project.py link-library
  policy/venv/bin/python -m infra.project link-library >&2
  step "installing the provider plugins the SDKs pin"
  local plugins
  plugins=$(venv/bin/python -m scripts.plugins) || die "the installed SDKs name no installable plugin set"
  while read -r kind name version; do
    [[ -n "$kind" ]] || continue
    pulumi plugin install "$kind" "$name" "$version" --exact >&2
  done <<<"$plugins"
  if pulumi stack select "$stack" --non-interactive >/dev/null 2>&1; then
    image_uri=$(pulumi stack output imageUri --stack "$stack" 2>/dev/null || true)
  elif [[ "$init" == --init ]]; then
    step "creating the stack $stack (first deployment)"
    pulumi stack init "$stack" --non-interactive \
      ${PULUMI_SECRETS_PROVIDER:+--secrets-provider "$PULUMI_SECRETS_PROVIDER"} >&2
  fi
  [[ "$image_uri" =~ ^[^[:space:]@]+@sha256:[0-9a-f]{64}$ ]] || image_uri=""
  step "the image $stack runs: ${image_uri:-none yet}"
  output "image-uri=$image_uri"
}

# The image registry's names for a stack (infra/registry_names.py, the one place), as JSON: the component's
# type, its repository, and the URNs to target to update it alone (`targets`).
registry_names() { python3 -m infra.registry_names "$1" || exit 2; }

# `pulumi up --target` of STACK's repository alone (the component, the repository and its lifecycle policy),
# right after the state guard; the caller passes PINNED_IMAGE_URI when it has an image to pin.
update_repository() {
  local stack=$1 targets=() urn
  while IFS= read -r urn; do targets+=(--target "$urn"); done < <(registry_names "$stack" | jq -r '.targets[]')
  step "pulumi up of the repository of $stack only"
  state_guard "$stack" >&2
  pulumi up --yes --non-interactive --stack "$stack" --policy-pack policy "${targets[@]}" >&2
}

# The digest of the one image manifest of an OCI image layout archive (docker buildx --output type=oci; OCI
# Image Layout Specification: `index.json` lists the manifests, each blob is stored under its digest): what the
# attestation names and what ECR must hold after the push. An archive with an index of several manifests, a
# nested index, or a manifest blob that does not hash to its digest is refused.
archive_digest() {
  local archive=$1 index digest
  index=$(tar --extract --to-stdout --file "$archive" index.json 2>/dev/null) \
    || die "$archive is not an OCI image layout archive (no index.json)"
  digest=$(jq -er --argjson types "$IMAGE_MANIFEST_TYPES" '
    if (.manifests | length) == 1 and ((.manifests[0].mediaType // "") as $type | $types | index($type) != null)
      and (.manifests[0].digest | test("^sha256:[0-9a-f]{64}$"))
    then .manifests[0].digest else error end' <<<"$index" 2>/dev/null) \
    || die "$archive must hold one image manifest (one platform, no attestations): its index.json lists \
$(jq -c '[.manifests[]? | {mediaType, digest}]' <<<"$index" 2>/dev/null || echo 'no readable manifests')"
  [[ "sha256:$(tar --extract --to-stdout --file "$archive" "blobs/sha256/${digest#sha256:}" 2>/dev/null \
    | sha256sum | cut -d' ' -f1)" == "$digest" ]] \
    || die "$archive: the manifest blob of $digest is missing or does not hash to its digest"
  printf '%s\n' "$digest"
}

# The repository of STACK (`pulumi up` of it alone, as for a promotion), then the image under the content tag
# TAG: the one ECR already holds (function/ unchanged since an earlier run: reused), else ARCHIVE pushed under
# TAG with its manifest unchanged (built). Either way nothing runs it before its provenance is verified.
push_archive() {
  local archive=$1 tag=$2 stack=$3 digest repository target errors existing origin
  digest=$(archive_digest "$archive")
  repository=$(registry_names "$stack" | jq -r .repository)
  update_repository "$stack"
  target=$(aws ecr describe-repositories --repository-names "$repository" \
    --query 'repositories[0].repositoryUri' --output text) || die "no repository $repository after the update"
  errors=$(mktemp)
  if existing=$(aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" \
      --query 'imageDetails[0].imageDigest' --output text 2>"$errors"); then
    origin=reused
    step "$target:$tag is already in ECR ($existing; this run built $digest): the image under the tag runs"
    digest=$existing
  elif grep -q ImageNotFoundException "$errors"; then
    origin=built
    step "pushing $archive ($digest) to $target:$tag, manifest unchanged"
    skopeo copy --preserve-digests "oci-archive:$archive" "docker://$target:$tag" >&2
    aws ecr describe-images --repository-name "$repository" --image-ids "imageDigest=$digest,imageTag=$tag" \
      >/dev/null || die "$target:$tag does not hold $digest after the push: nothing runs it"
  else
    cat "$errors" >&2
    die "the tag $tag of $repository could not be looked up"
  fi
  rm -f "$errors"
  running_image "$target" "$digest" "$stack" "$repository" "$origin"
}

# Output image-uri, tag, repository and origin of the image STACK runs for DIGEST: a rollback recorded
# in the stack's repository replaces a rolled-back digest (infra/rollback.py) by the one it went back to, an
# image of an earlier commit (reused), verified under its own content tag.
running_image() {
  local target=$1 digest=$2 stack=$3 repository=$4 origin=$5 running tag
  read -r running tag < <(venv/bin/python -m scripts.rollback resolve "$stack" "$digest")
  if [[ "$running" != "$digest" ]]; then
    step "$digest was rolled back in $stack: running $running ($tag)"
    origin=reused
  fi
  output "image-uri=$target@$running" "tag=$tag" "repository=$repository" "origin=$origin"
}

# Before anything runs IMAGE: its signed provenance names SUBJECT (<building repository>:<content tag>) and
# this repository's deploy workflow on main, run on a GitHub-hosted runner, from this run's commit (an image this run built) or from a commit of
# main (a content tag reused from an earlier run, a promotion). scripts/provenance.py says what it found.
provenance() {
  local image=$1 subject=$2 origin=$3 rule=()
  case "$origin" in
    built) rule=(--commit "${GITHUB_SHA:?GITHUB_SHA is not set}") ;;
    reused) rule=(--commit-of-main) ;;
    *) die "provenance: origin '$origin' is not built or reused" ;;
  esac
  step "verifying the provenance of $image ($origin)"
  if ! python3 -m scripts.provenance "$image" --subject "$subject" "${rule[@]}"; then
    printf '### Provenance of %s refused\n\nNo function runs it: see the error above. An image pushed before the \
pipeline attested its builds has no attestation: delete it from ECR (administrator) and run the deploy again; \
otherwise someone replaced the image under its content tag.\n' "$image" | summary
    return 1
  fi
}

# The manifest media types Lambda runs (Lambda Developer Guide, "Container image requirements": Docker image
# manifest V2 schema 2 or OCI image manifest; an index or manifest list is refused).
IMAGE_MANIFEST_TYPES='["application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json"]'
MAX_IMAGE_BYTES=10000000000 # Lambda's 10 GB limit (decimal: the stricter reading)

check_image() {
  local image=$1 architecture=$2 manifest config want problems
  want=$(arch_field "$architecture" platform)
  step "checking the manifest of $image"
  manifest=$(docker buildx imagetools inspect --raw "$image")
  # --format '{{json .Image}}': the image config of a single manifest (a map by platform for an index)
  config=$(docker buildx imagetools inspect --format '{{json .Image}}' "$image")
  problems=$(jq -r --argjson types "$IMAGE_MANIFEST_TYPES" --argjson max "$MAX_IMAGE_BYTES" '
    [ (if has("manifests") then "an image index or manifest list (\(.manifests | length) entries): Lambda needs one image manifest; build with provenance and SBOM off and one platform" else empty end),
      (if (has("manifests") | not) and ((.mediaType // "application/vnd.oci.image.manifest.v1+json") as $t | $types | index($t) | not) then "media type \(.mediaType) is not an image manifest" else empty end),
      (if .artifactType or .subject or ([.config, (.layers // [])[]] | any(.mediaType == "application/vnd.in-toto+json")) then "an attestation or artifact manifest, not an image" else empty end),
      (if ([.config.size, (.layers // [])[].size] | add // 0) > $max then "compressed size over the 10 GB limit" else empty end)
    ] | .[]' <<<"$manifest")
  if [[ -z "$problems" ]]; then
    problems=$(jq -r --arg want "$want" '
      if "\(.os)/\(.architecture)" != $want then
        "platform \(.os)/\(.architecture), the function needs \($want)" else empty end' <<<"$config")
  fi
  if [[ -n "$problems" ]]; then
    printf '### Image %s refused\n\n%s\n' "$image" "$problems" | summary
    while IFS= read -r line; do echo "::error title=Image Lambda cannot run::$image: $line"; done <<<"$problems"
    return 1
  fi
  local size
  size=$(jq '[.config.size, (.layers // [])[].size] | add' <<<"$manifest")
  echo "$image: $(jq -r '.mediaType // "OCI image manifest"' <<<"$manifest"), $want, $size bytes compressed"
}

discard() {
  local repository=$1 digest=$2
  step "deleting $repository@$digest from ECR: the content-tag lookup must never run it"
  aws ecr batch-delete-image --repository-name "$repository" --image-ids "imageDigest=$digest" >&2
  echo "::error title=Image discarded::$repository@$digest failed the check and was deleted; the next deploy \
builds it again (fix the engine or the Dockerfile first: docs/pipeline.md)"
}

build_local() {
  local dockerfile=$1 architecture=$2 tag=$3 platform
  platform=$(arch_field "$architecture" platform)
  [[ -f "$dockerfile" ]] || die "no Dockerfile at $dockerfile"
  step "building $dockerfile for $platform (as the stack does: one platform, no attestations)"
  docker buildx build --platform "$platform" --provenance=false --sbom=false \
    --file "$dockerfile" --tag "$tag" --load function
}

# Lambda runs the function as a user without privileges; the emulator run does too, so a file only its
# owner can read fails here as it would there.
CONTAINER_USER=${CONTAINER_USER:-65534:65534}

container_test() {
  local image=$1 architecture=$2 platform port=${CONTAINER_TEST_PORT:-9000} container status=0
  platform=$(arch_field "$architecture" platform)
  step "running $image ($platform) with the Runtime Interface Emulator as user $CONTAINER_USER"
  container=$(docker run --detach --platform "$platform" --user "$CONTAINER_USER" \
    --publish "127.0.0.1:$port:8080" "$image")
  python3 -m scripts.invoke_events --url "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" \
    || status=$?
  if ((status != 0)); then
    echo "--- container log ---"
    docker logs "$container" 2>&1 | tail -n 100
  fi
  docker rm --force "$container" >/dev/null 2>&1 || true
  return "$status"
}

# The scan gate and the rescan: scripts/image_scan.py (both ECR scan types, every scan status, the summary).
scan() { python3 -m scripts.image_scan gate "$@"; }

# The deploy job's outputs are not trusted (code in that job could write any): the promoted image must be in
# the building stack's repository under the content tag this commit gives the building stack's image
# (infra/build_context.py), so that another image main once attested (an older one, or one that failed its
# gates in another run) is refused before anything copies it; its provenance is verified next.
check_promoted() {
  local building=$1 source=$2 tag=$3 expected repository
  expected=$(stack_image "$building" | jq -r .tag)
  repository=$(registry_names "$building" | jq -r .repository)
  [[ "${source%@*}" == */"$repository" ]] \
    || die "the promoted image '$source' is not in $building's repository ($repository): nothing promoted"
  [[ "$tag" == "$expected" ]] || die "the promoted tag '$tag' is not the content tag of $building's image at \
this commit ($expected): nothing promoted"
}

promote() {
  local source=$1 tag=$2 stack=$3 digest repository target
  digest=${source##*@}
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "'$source' is not an image by digest"
  repository=$(registry_names "$stack" | jq -r .repository)
  target="${source%%/*}/$repository"
  PINNED_IMAGE_URI="$target@$digest" update_repository "$stack"
  if aws ecr describe-images --repository-name "$repository" --image-ids "imageDigest=$digest" \
      >/dev/null 2>&1; then
    step "$target already holds $digest"
  else
    step "copying $source to $target:$tag (carbon copy: the digest is kept)"
    # --prefer-index=false: a single manifest source stays a single manifest (docs.docker.com, "docker
    # buildx imagetools create": "disable this behavior with --prefer-index=false which attempts to
    # preserve the source manifest format"); "attempts", so the digest is checked below.
    docker buildx imagetools create --prefer-index=false --tag "$target:$tag" "$source" >&2
    aws ecr describe-images --repository-name "$repository" --image-ids "imageDigest=$digest" \
      >/dev/null || die "the copy in $target does not have the digest $digest: nothing promoted"
  fi
  # the function runs, and the next step verifies, the image a rollback of this stack went back to, if any
  running_image "$target" "$digest" "$stack" "$repository" reused
}

# Every entry of the stack's state is one the program writes (scripts/state_guard.py): right before every
# engine run here, and the step right before each full `pulumi up` of deploy.yml.
state_guard() {
  local stack=$1
  pulumi stack export --stack "$stack" | python3 -m scripts.state_guard "$stack"
}

verify() {
  local stack=$1 outputs function_name api_url authorizer=()
  outputs=$(pulumi stack output --json --stack "$stack")
  function_name=$(jq -r '.functionName // ""' <<<"$outputs")
  api_url=$(jq -r '.url // .apiUrl // ""' <<<"$outputs")
  [[ -n "$function_name" && -n "$api_url" ]] || die "stack $stack lacks the outputs functionName and url"
  [[ -n "$(jq -r '.jwtIssuer // ""' <<<"$outputs")" ]] && authorizer=(--authorizer)
  step "waiting for $function_name to be Active with its last update Successful"
  if ! aws lambda wait function-active-v2 --function-name "$function_name" \
      || ! aws lambda wait function-updated-v2 --function-name "$function_name"; then
    # the waiters end on Failed or after their attempts: say why, in Lambda's words
    local state
    state=$(aws lambda get-function-configuration --function-name "$function_name" --output json \
      | jq -r '[["State", .State], ["StateReasonCode", .StateReasonCode], ["StateReason", .StateReason],
          ["LastUpdateStatus", .LastUpdateStatus], ["LastUpdateStatusReasonCode", .LastUpdateStatusReasonCode],
          ["LastUpdateStatusReason", .LastUpdateStatusReason]] | map(select(.[1] != null) | join(" ")) | join("; ")') \
      || state="its configuration could not be read"
    echo "::error title=Function not ready::$function_name: $state"
    die "$function_name is not Active with its last update Successful: $state"
  fi
  local token="none, guarded routes must answer 401"  # whether a token is given, never the token itself
  [[ -n "${SMOKE_BEARER_TOKEN:-}" ]] && token=given
  step "smoke test of $api_url${authorizer:+ (JWT authorizer; token: $token)}"
  python3 -m scripts.smoke_test --base-url "$api_url" "${authorizer[@]}"
}

# The dispatch inputs of a rollback (deploy.yml): both empty (a deploy), or a stack of DEPLOY_STACKS and a
# published version number.
rollback_request() {
  local stack=${ROLLBACK_STACK:-} version=${ROLLBACK_VERSION:-}
  if [[ -z "$stack" && -z "$version" ]]; then
    output "stack=" "version="
    return 0
  fi
  [[ "$version" =~ ^[1-9][0-9]{0,9}$ ]] || die "rollback-version must be a published version number (make versions), got '$version'"
  check_stack "$stack"
  jq -e --arg stack "$stack" 'index($stack) != null' <<<"${DEPLOY_STACKS:-[]}" >/dev/null \
    || die "rollback-stack '$stack' is not one of DEPLOY_STACKS ${DEPLOY_STACKS:-}"
  output "stack=$stack" "version=$version"
}

# Roll STACK back to kept VERSION: the image it runs must carry main's attestation for its content tag (the
# building stack's repository built it), then scripts/rollback.py checks the version, records the rollback
# and moves `live`.
rollback() {
  local stack=$1 version=$2 building=$3 function uri digest tag
  step "installing the program's dependencies (hash-pinned)"
  python3 -m venv venv
  venv/bin/python -m pip install --quiet --require-hashes --requirement requirements.hashes.txt >&2
  function=$(prefix "$stack")
  uri=$(aws lambda get-function --function-name "$function" --qualifier "$version" \
    --query Code.ResolvedImageUri --output text) || die "$function has no version $version (make versions)"
  digest=${uri##*@}
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "version $version of $function runs '$uri', not an image by digest"
  tag=$(venv/bin/python -m scripts.rollback tag "$stack" "$digest")
  [[ -n "$tag" ]] || die "$uri carries no content tag: its provenance cannot be verified; no rollback"
  provenance "$uri" "$(registry_names "$building" | jq -r .repository):$tag" reused
  step "rolling $function back to version $version"
  venv/bin/python -m scripts.rollback rollback "$stack" "$version"
  printf '### Rollback of %s\n\nThe alias live serves version %s (%s).\n' "$stack" "$version" "$digest" | summary
}

# Every stack runs an image the workflow pinned (deploy.yml builds outside the engine): the drift check pins
# the one the stack runs, so that only the resources, the state and main are compared.
drift() {
  local stack=$1 image_uri status=0
  image_uri=$(pulumi stack output imageUri --stack "$stack")
  step "drift check of $stack"
  state_guard "$stack"  # a refresh reads with the providers the state names
  PINNED_IMAGE_URI=$image_uri \
    pulumi preview --stack "$stack" --refresh --expect-no-changes --diff --non-interactive || status=$?
  if ((status == 0)); then
    printf '### Drift of %s: none\n' "$stack" | summary
  else
    printf '### Drift of %s: the resources, the state and main disagree (see the job log)\n' "$stack" | summary
    die "stack $stack has drifted (pulumi preview exited $status)"
  fi
}

rescan() {
  local stack=$1 severity=$2 image_uri repository digest
  image_uri=$(pulumi stack output imageUri --stack "$stack")
  digest=${image_uri##*@} repository=${image_uri%@*} repository=${repository#*/}
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "stack $stack runs '$image_uri', not an image by digest"
  step "rescanning $repository@$digest (a new basic scan, or enhanced scanning's current findings)"
  python3 -m scripts.image_scan rescan "$repository" "$digest" "$severity"
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
command=${1:-}
shift || true
case "$command" in
  require) require "$@" ;;
  main-only) (($# == 0)) || usage; main_only ;;
  stacks) (($# == 0)) || usage; stacks ;;
  dockerfiles) (($# == 0)) || usage; dockerfiles ;;
  prepare) (($# == 1 || $# == 2)) || usage; check_stack "$1"; prepare "$@" ;;
  archive-digest) (($# == 1)) || usage; digest=$(archive_digest "$1"); output "digest=$digest" ;;
  push-archive) (($# == 3)) || usage; check_stack "$3"; push_archive "$@" ;;
  provenance) (($# == 3)) || usage; provenance "$@" ;;
  check-image) (($# == 2)) || usage; check_image "$@" ;;
  discard) (($# == 2)) || usage; discard "$@" ;;
  build-local) (($# == 3)) || usage; build_local "$@" ;;
  container-test) (($# == 2)) || usage; container_test "$@" ;;
  scan) (($# == 3)) || usage; scan "$@" ;;
  check-promoted) (($# == 3)) || usage; check_stack "$1"; check_promoted "$@" ;;
  promote) (($# == 3)) || usage; check_stack "$3"; promote "$@" ;;
  state-guard) (($# == 1)) || usage; check_stack "$1"; state_guard "$1" ;;
  verify) (($# == 1)) || usage; check_stack "$1"; verify "$1" ;;
  rollback-request) (($# == 0)) || usage; rollback_request ;;
  rollback) (($# == 3)) || usage; check_stack "$1"; check_stack "$3"; rollback "$@" ;;
  drift) (($# == 1)) || usage; check_stack "$1"; drift "$1" ;;
  rescan) (($# == 2)) || usage; check_stack "$1"; rescan "$@" ;;
  *) usage ;;
esac
