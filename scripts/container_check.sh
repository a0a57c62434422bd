#!/usr/bin/env bash
# Build the function image the way Lambda needs it, check its manifest and run it with the Runtime Interface
# Emulator: every event in function/events/ must get the status in function/events/expected-status.json.
#   container_check.sh ARCHITECTURE [DOCKERFILE]      ARCHITECTURE: arm64 | x86_64
# Needs Docker with buildx (a docker-container builder, for the OCI export) on a host of that architecture,
# or QEMU emulation. The AWS base image starts the emulator itself when AWS_LAMBDA_RUNTIME_API is unset.
set -euo pipefail

die() { echo "container_check.sh: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

architecture=${1:-}
dockerfile=${2:-function/Dockerfile}
case "$architecture" in
  arm64) platform=linux/arm64 ;;
  x86_64) platform=linux/amd64 ;;
  *) echo "usage: $0 arm64|x86_64 [DOCKERFILE]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
[[ -f "$dockerfile" ]] || die "no Dockerfile at $dockerfile"
[[ -f function/events/expected-status.json ]] || die "function/events/expected-status.json is missing"
port=${CONTAINER_CHECK_PORT:-9000}
tag=container-lambda:check-$architecture

work=$(mktemp -d)
container=""
cleanup() {
  if [[ -n "$container" ]]; then docker rm --force "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Exactly one platform and no attestations: what Lambda accepts (a provenance or SBOM attestation turns the
# pushed image into an index).
build=(docker buildx build --platform "$platform" --provenance=false --sbom=false --file "$dockerfile" function)
step "building $dockerfile for $platform"
"${build[@]}" --tag "$tag" --load
step "exporting the image as an OCI layout (same build, from the cache)"
"${build[@]}" --output "type=oci,dest=$work/image.tar"
docker image inspect "$tag" >"$work/inspect.json"

step "checking the manifest, platform and size"
python3 scripts/check_image_manifest.py --oci-layout "$work/image.tar" --image-inspect "$work/inspect.json" \
  --architecture "$architecture"

step "running the image with the Runtime Interface Emulator on 127.0.0.1:$port"
container=$(docker run --detach --platform "$platform" --publish "127.0.0.1:$port:8080" "$tag")
if ! python3 scripts/invoke_events.py --events function/events \
    --url "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"; then
  echo "--- container log ---"
  docker logs "$container" 2>&1 | tail -n 100
  exit 1
fi
