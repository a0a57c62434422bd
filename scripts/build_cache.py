#!/usr/bin/env python3
"""Choose CONTAINER_LAMBDA_CACHE_FROM for the next update of a stack.

The image is tagged by the content of its build context (infra/build_context.py), the ECR tags are
immutable, and `cache_from` is an input of the image resource: a new value alone would make Pulumi rebuild
and push a tag that already exists. So:

- the image tag changes (new sources or base image): the deployed image, so the build reuses its layers;
- the tag stays the same: exactly the value the state already holds, so the image is left alone;
- no image in the state (first deployment): nothing.

Reads `pulumi stack export` JSON on stdin. Prints `image-uri=<value>` for $GITHUB_OUTPUT, and the reason on
stderr.

usage: pulumi stack export --stack STACK | build_cache.py --stack STACK --image-uri URI [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.build_context import image_tag  # noqa: E402 - after the repository root is on the path
from scripts.stack_matrix import StackError, describe  # noqa: E402

IMAGE_TYPES = {"docker:index/image:Image", "docker-build:index:Image"}


class CacheError(Exception):
    """The state cannot be read."""


def deployed_image(export: dict) -> dict | None:
    """The inputs of the stack's image resource, or None before the first deployment."""
    resources = (export.get("deployment") or {}).get("resources") or []
    images = [resource for resource in resources if resource.get("type") in IMAGE_TYPES]
    if len(images) > 1:
        raise CacheError(f"the state holds {len(images)} images; expected one")
    return (images[0].get("inputs") or {}) if images else None


def stored_cache_from(inputs: dict) -> str:
    images = ((inputs.get("build") or {}).get("cacheFrom") or {}).get("images") or []
    return images[0] if images else ""


def choose(export: dict, new_tag: str, image_uri: str) -> tuple[str, str]:
    """(value, reason)."""
    inputs = deployed_image(export)
    if inputs is None:
        return "", "no image deployed yet: building without cache"
    old_tag = str(inputs.get("imageName", "")).rpartition(":")[2]
    if old_tag == new_tag:
        return stored_cache_from(
            inputs
        ), f"image tag {new_tag} unchanged: keeping the cache input of the state"
    return image_uri, f"image tag {old_tag or '?'} -> {new_tag}: reusing the layers of the deployed image"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--image-uri", default="", help="the stack's imageUri output")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    try:
        stack = describe(args.root, args.stack)
        export = json.load(sys.stdin)
        if not isinstance(export, dict):
            raise CacheError("the stack export is not a JSON object")
        new_tag = image_tag(args.root / "function", args.root / stack.dockerfile, stack.platform)
        value, reason = choose(export, new_tag, args.image_uri)
    except (StackError, CacheError, ValueError, OSError) as exc:
        print(f"build_cache: {exc}", file=sys.stderr)
        return 1
    print(f"build_cache: {reason}", file=sys.stderr)
    print(f"image-uri={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
