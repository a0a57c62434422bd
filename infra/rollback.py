"""How a rollback is recorded, so that the next `pulumi up` does not undo it (standard library only).

`make rollback VERSION=N` (scripts/rollback.py) moves the alias `live` from the version it serves, which runs
image A, back to the kept version N, which runs image B. Pulumi never reverts the alias (infra/function.py
ignores its version), but the next `pulumi up` that changes the function (a config value, a new commit of the
same sources) would publish a new version of A and move `live` to it. So the rollback records, in the stack's
own ECR repository, that A was rolled back to B: the tag `rollback-from-<hex of A>` on image B (ECR tags are
immutable; an image may carry many). Whenever the program would run A (its content tag, or a pinned image), it
runs B instead (infra/registry.py), and says so; a change of function/ builds another image, which no record
names: that rolls forward. A rollback to A itself removes the record naming A.

The record lives with the images, so it holds for every way a stack is deployed (a laptop, the pipeline's
building stack, a promotion), needs no commit to the repository, and disappears with image B when ECR's
lifecycle policy expires it. Only a role that may tag the stack's images can write one; the pipeline verifies
the provenance of whatever image a record leads to before any function runs it (docs/pipeline.md).

    record_tag(digest) -> str              the tag that records "`digest` was rolled back"
    resolve(digest, tags) -> (digest, chain)   the image to run instead of `digest`, following records
    content_tag(digest, tags) -> str | None    the content tag (infra/build_context.py) an image carries
"""

from __future__ import annotations

import re
from collections.abc import Mapping

RECORD_PREFIX = "rollback-from-"
# ECR image tags: "Length Constraints: Minimum length of 1. Maximum length of 300" (ECR API reference,
# ImageIdentifier.imageTag); the record is 14 + 64 characters.
DIGEST = re.compile(r"sha256:(?P<hex>[0-9a-f]{64})")
CONTENT_TAG = re.compile(r"[0-9a-f]{32}")  # infra/build_context.py TAG_LENGTH hex characters


def record_tag(digest: str) -> str:
    """`rollback-from-<64 hex>` for `sha256:<64 hex>`; ValueError for anything else."""
    match = DIGEST.fullmatch(digest)
    if not match:
        raise ValueError(f"{digest!r} is not an image digest (sha256:<64 hex>)")
    return f"{RECORD_PREFIX}{match['hex']}"


def resolve(digest: str, tags: Mapping[str, str]) -> tuple[str, list[str]]:
    """The image to run in place of `digest`, given the repository's `tags` ({tag: digest}): follow each
    record (A was rolled back to B, B to C, ...) to the first digest no record names; a cycle (which a
    rollback prevents) stops at its last new digest. Returns (that digest, [digest, ..., that digest])."""
    chain = [digest]
    while True:
        following = tags.get(record_tag(chain[-1]))
        if following is None or following in chain:
            return chain[-1], chain
        chain.append(following)


def content_tag(digest: str, tags: Mapping[str, str]) -> str | None:
    """The content tag image `digest` carries (the tag its attestation names), or None."""
    return next(
        (tag for tag, held in sorted(tags.items()) if held == digest and CONTENT_TAG.fullmatch(tag)), None
    )
