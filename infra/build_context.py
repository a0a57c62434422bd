"""The image tag: a hash of what `docker build` would see.

The build context is the context directory minus what its ignore file excludes: `<Dockerfile>.dockerignore`
beside the Dockerfile built when there is one, else the context's `.dockerignore` (ignore_file). Docker's
rules: patterns in order, the last match wins, `!` re-includes, a pattern that matches a directory excludes
everything under it, `*` and `?` stay within one path segment and `**` spans any number. The hash covers each
included file's path, permission bits (what `COPY` carries into the image: a file only its owner can read
fails under Lambda's non-root user) and bytes, a symlink's target, the permission bits of the directories
holding them, the Dockerfile used and the target platform. The same sources checked out with the same umask
give the same tag on every machine; any change gives a new tag, so ECR tags stay immutable.

An ignored directory that no `!` pattern can re-include is not walked at all (a virtual environment or a
cache of thousands of files costs nothing), and files are hashed in chunks, so a large model never sits in
memory whole.

    python3 -m infra.build_context image STACK PROJECT_CONFIG STACK_CONFIG

prints what the program builds for STACK from this checkout, as JSON: {"tag": the content tag it pushes the
image under, "context": the build context, "dockerfile": the Dockerfile (both relative to the project root),
"platform": the OCI platform} (PROJECT_CONFIG, STACK_CONFIG: the `config` maps of Pulumi.yaml and
Pulumi.<STACK>.yaml as JSON, the stack's `dockerfile` and `architecture` settings, else their defaults). The
deploy workflow builds exactly that, outside the engine. Exit 2 on a bad argument or setting, naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.architecture import ArchitectureError, config_map, of_stack
from infra.function_contract import FUNCTION_DIR
from infra.project import ROOT, stack_setting

TAG_LENGTH = 32  # hex characters of the SHA-256 in the tag
CHUNK = 1 << 20  # bytes read at a time


@dataclass(frozen=True)
class IgnorePattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!` pattern re-includes


def _translate(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" also matches no directory at all
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[^{body[1:]}]" if body.startswith("^") else f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def parse_dockerignore(text: str) -> list[IgnorePattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        line = os.path.normpath(line).replace(os.sep, "/").lstrip("/")
        if line in ("", "."):
            continue
        patterns.append(IgnorePattern(_translate(line), exclusion))
    return patterns


def is_ignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """Whether `path` (relative, '/'-separated) is left out of the build context."""
    parents = [path[:i] for i, char in enumerate(path) if char == "/"]
    ignored = False
    for pattern in patterns:
        if pattern.regex.fullmatch(path) or any(pattern.regex.fullmatch(parent) for parent in parents):
            ignored = not pattern.exclusion
    return ignored


def _literal_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard."""
    cut = min((index for index in (pattern.find(c) for c in "*?[\\") if index != -1), default=len(pattern))
    return pattern[:cut]


def _may_reinclude(directory: str, sources: list[str]) -> bool:
    """Whether a `!` pattern (given by its text) could match something under `directory`."""
    inside = directory + "/"
    return any(
        inside.startswith(prefix) or prefix.startswith(inside)
        for prefix in (_literal_prefix(source) for source in sources)
    )


def ignore_file(context: Path, dockerfile: Path | None) -> Path:
    """The ignore file Docker applies to `context` when it builds `dockerfile`.

    BuildKit's Dockerfile frontend (moby/buildkit frontend/dockerui/config.go) reads `filename +
    ".dockerignore"` from the Dockerfile's source in ReadEntrypointFiles, and dockerIgnorePatterns reads the
    context's `.dockerignore` only when that file could not be read; buildx makes that source the directory
    of `--file` (docker/buildx build/opt.go: `dockerfileDir = filepath.Dir(inp.DockerfilePath)`), inside the
    context or not. So `<Dockerfile>.dockerignore` beside the Dockerfile, when it exists (even empty),
    replaces the context's `.dockerignore`, never adds to it; its patterns stay relative to the context.
    """
    if dockerfile is not None:
        own = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if own.is_file():
            return own
    return context / ".dockerignore"


def _read_patterns(context: Path, dockerfile: Path | None) -> tuple[list[IgnorePattern], list[str]]:
    """The ignore file's patterns and the texts of its `!` patterns (normalised as Docker does). The ignore
    file itself, inside the context, is a file of the context like any other (hashed unless it excludes
    itself), as `.dockerignore` always was."""
    path = ignore_file(context, dockerfile)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    patterns = parse_dockerignore(text)
    reincludes = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("!"):
            reincludes.append(os.path.normpath(line[1:].strip()).replace(os.sep, "/").lstrip("/"))
    return patterns, reincludes


def context_files(context: Path, dockerfile: Path | None = None) -> Iterator[Path]:
    """Files of the build context of `dockerfile` in a stable order (sorted by their relative POSIX path)."""
    patterns, reincludes = _read_patterns(context, dockerfile)
    found = []
    for root, dirs, files in os.walk(context):
        base = Path(root).relative_to(context).as_posix()
        prefix = "" if base == "." else base + "/"
        # prune in place: os.walk does not descend into what is removed from `dirs`
        dirs[:] = sorted(
            name
            for name in dirs
            if not is_ignored(prefix + name, patterns) or _may_reinclude(prefix + name, reincludes)
        )
        for name in files:
            relative = prefix + name
            if not is_ignored(relative, patterns):
                found.append((relative, Path(root, name)))
    for _, path in sorted(found):
        yield path


def context_digest(context: Path, dockerfile: Path, platform: str) -> str:
    """SHA-256 (hex) over the context's files and their modes, the Dockerfile and the platform."""
    digest = hashlib.sha256()

    def label(text: str, size: int) -> None:
        digest.update(text.encode() + b"\0" + str(size).encode() + b"\0")

    def add(text: str, data: bytes) -> None:
        label(text, len(data))
        digest.update(data)

    add("platform", platform.encode())
    add("dockerfile", dockerfile.read_bytes())
    directories: set[str] = set()
    for path in context_files(context, dockerfile):
        relative = path.relative_to(context).as_posix()
        parent = relative.rpartition("/")[0]
        while parent and parent not in directories:
            directories.add(parent)
            add(f"dir:{stat.S_IMODE((context / parent).stat().st_mode):04o}:{parent}", b"")
            parent = parent.rpartition("/")[0]
        if path.is_symlink():
            add(f"link:{relative}", os.readlink(path).encode())
            continue
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            label(f"file:{stat.S_IMODE(info.st_mode):04o}:{relative}", info.st_size)
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def image_tag(context: Path, dockerfile: Path, platform: str) -> str:
    return context_digest(context, dockerfile, platform)[:TAG_LENGTH]


def stack_image(
    stack: str, project_config: dict[str, object], stack_config: dict[str, object]
) -> dict[str, str]:
    """What the program builds for `stack` from this checkout (infra/registry.py): {"tag", "context",
    "dockerfile", "platform"}, paths relative to the project root. Raises ArchitectureError naming the stack
    and a bad `architecture`, ValueError a missing Dockerfile."""
    platform = of_stack(stack, project_config, stack_config).platform
    setting = stack_setting("dockerfile", project_config, stack_config)
    if not isinstance(setting, str) or not setting:
        raise ValueError(f"stack {stack}: no dockerfile setting in Pulumi.{stack}.yaml or Pulumi.yaml")
    dockerfile = ROOT / setting
    if not dockerfile.is_file():
        raise ValueError(f"stack {stack}: dockerfile {dockerfile.relative_to(ROOT)} does not exist")
    return {
        "tag": image_tag(FUNCTION_DIR, dockerfile, platform),
        "context": FUNCTION_DIR.relative_to(ROOT).as_posix(),
        "dockerfile": dockerfile.relative_to(ROOT).as_posix(),
        "platform": platform,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "image":
        print(__doc__.split("\n\n")[-2].strip(), file=sys.stderr)
        return 2
    try:
        print(
            json.dumps(
                stack_image(argv[1], dict(config_map(argv[2])), dict(config_map(argv[3]))), sort_keys=True
            )
        )
    except (ArchitectureError, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
