#!/bin/sh
# Entry point of the Debian-based image (Dockerfile.debian). Under Lambda, AWS_LAMBDA_RUNTIME_API is set and
# the runtime interface client talks to it directly; anywhere else the Runtime Interface Emulator provides
# that API and serves invocations on port 8080 (POST /2015-03-31/functions/function/invocations).
# Arguments: the handler, e.g. app.handler (the image's CMD).
set -eu

if [ "$#" -ne 1 ]; then
  echo "entry.sh: expected exactly one argument, the handler (e.g. app.handler)" >&2
  exit 64
fi

if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie /usr/local/bin/python -m awslambdaric "$1"
fi
exec /usr/local/bin/python -m awslambdaric "$1"
