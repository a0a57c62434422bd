#!/usr/bin/env python3
"""Move the base images of Dockerfiles to the image their tag points at today (the weekly patch rebuild).

Every `FROM image:tag[@sha256:...]` is rewritten to `FROM image:tag@sha256:<current digest of image:tag>`,
so the build takes the base image's latest OS and runtime patches while staying pinned by digest. A dated
build tag, as the AWS Lambda base images publish them (`3.13.2025.12.15.13`), names one build forever; it
follows its moving tag instead (`3.13`), and the line is rewritten to that tag and its digest. Because
the Dockerfile is part of the build context, the rewritten file gives the image a new content tag (the ECR
repository's tags are immutable). Stage references (`FROM build`), `scratch`, references without a tag and
`${ARG}` references are left alone.

The digest of a tag comes from `docker buildx imagetools inspect IMAGE:TAG` (the `Digest:` line of its
plain output: the digest of the multi-platform index, as Dependabot pins it).

usage: refresh_base_image.py DOCKERFILE... [--check]   (--check: change nothing, exit 1 when outdated)
Prints `changed=true|false` on stdout, for $GITHUB_OUTPUT; what changed goes to stderr.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

FROM_LINE = re.compile(r"^(?P<lead>\s*FROM\s+(?:--\S+\s+)*)(?P<ref>\S+)(?P<rest>.*)$", re.IGNORECASE)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
STAGE_ALIAS = re.compile(r"\sAS\s+(?P<name>\S+)", re.IGNORECASE)
DATED_TAG = re.compile(r"^(?P<moving>.+?)\.20\d{2}\.\d{2}\.\d{2}(?:\.\d+)?$")


class RefreshError(Exception):
    """A digest could not be resolved or a file could not be read."""


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; the tag is after the last ':' of the last path part."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def moving_tag(tag: str) -> str:
    """The tag that receives the patches: a dated build tag follows its version tag."""
    match = DATED_TAG.match(tag)
    return match["moving"] if match else tag


def docker_digest(reference: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["docker", "buildx", "imagetools", "inspect", reference],  # noqa: S607 - docker from PATH
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RefreshError(f"{reference}: cannot run docker buildx imagetools inspect ({exc})") from exc
    if result.returncode != 0:
        raise RefreshError(f"{reference}: docker buildx imagetools inspect failed: {result.stderr.strip()}")
    return parse_inspect_digest(reference, result.stdout)


def parse_inspect_digest(reference: str, output: str) -> str:
    for line in output.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Digest" and DIGEST.match(value.strip()):
            return value.strip()
    raise RefreshError(f"{reference}: no 'Digest: sha256:...' line in the inspect output")


def refresh_text(text: str, resolve: Callable[[str], str]) -> tuple[str, list[str]]:
    """The Dockerfile text with refreshed FROM lines, and one message per base image."""
    stages: set[str] = set()
    messages = []
    out = []
    for line in text.splitlines(keepends=True):
        match = FROM_LINE.match(line)
        if not match:
            out.append(line)
            continue
        ref = match["ref"]
        alias = STAGE_ALIAS.search(match["rest"])
        name, tag, digest = split_reference(ref)
        if ref.lower() == "scratch" or ref in stages or "$" in ref or tag is None:
            if tag is None and ref not in stages and ref.lower() != "scratch" and "$" not in ref:
                messages.append(f"{ref}: no tag to follow, left as is")
            out.append(line)
        else:
            follow = moving_tag(tag)
            current = resolve(f"{name}:{follow}")
            if current == digest and follow == tag:
                messages.append(f"{name}:{tag}: already at {current}")
                out.append(line)
            else:
                via = f" (following {follow})" if follow != tag else ""
                messages.append(f"{name}:{tag}{via}: {digest or 'unpinned'} -> {follow}@{current}")
                newline = "\n" if line.endswith("\n") else ""
                out.append(f"{match['lead']}{name}:{follow}@{current}{match['rest']}{newline}")
        if alias:
            stages.add(alias["name"])
    return "".join(out), messages


def main(argv: list[str] | None = None, resolve: Callable[[str], str] = docker_digest) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dockerfiles", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report only; exit 1 when a base is outdated")
    args = parser.parse_args(argv)
    cache: dict[str, str] = {}

    def cached(reference: str) -> str:
        if reference not in cache:
            cache[reference] = resolve(reference)
        return cache[reference]

    rewrites = {}
    try:
        for path in args.dockerfiles:  # resolve everything first: a failure leaves every file as it was
            text = path.read_text(encoding="utf-8")
            new_text, messages = refresh_text(text, cached)
            for message in messages:  # stdout is for $GITHUB_OUTPUT
                print(f"{path}: {message}", file=sys.stderr)
            if new_text != text:
                rewrites[path] = new_text
        if not args.check:
            for path, new_text in rewrites.items():
                path.write_text(new_text, encoding="utf-8")
    except (OSError, RefreshError) as exc:
        print(f"refresh_base_image: {exc}", file=sys.stderr)
        return 2
    changed = bool(rewrites)
    print(f"changed={'true' if changed else 'false'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
