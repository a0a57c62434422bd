"""The image tag: a hash of what `docker build` would see.

The build context is the context directory minus what its `.dockerignore` excludes (Docker's rules: patterns
in order, the last match wins, `!` re-includes, a pattern that matches a directory excludes everything under
it, `*` and `?` stay within one path segment and `**` spans any number). The hash covers each included
file's path, executable bit and bytes (a symlink's target), the Dockerfile used and the target platform. The
same sources give the same tag on every machine; any change gives a new tag, so ECR tags stay immutable.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TAG_LENGTH = 32  # hex characters of the SHA-256 in the tag


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
                body = pattern[i + 1:end].replace("\\", "\\\\")
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


def context_files(context: Path) -> Iterator[Path]:
    """Files of the build context in a stable order (sorted by their relative POSIX path)."""
    ignore_file = context / ".dockerignore"
    patterns = parse_dockerignore(ignore_file.read_text()) if ignore_file.is_file() else []
    found = []
    for root, dirs, files in os.walk(context):
        dirs.sort()
        for name in files:
            path = Path(root, name)
            relative = path.relative_to(context).as_posix()
            if not is_ignored(relative, patterns):
                found.append((relative, path))
    for _, path in sorted(found):
        yield path


def context_digest(context: Path, dockerfile: Path, platform: str) -> str:
    """SHA-256 (hex) over the context's files, the Dockerfile and the platform."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)

    add("platform", platform.encode())
    add("dockerfile", dockerfile.read_bytes())
    for path in context_files(context):
        relative = path.relative_to(context).as_posix()
        if path.is_symlink():
            add(f"link:{relative}", os.readlink(path).encode())
        else:
            mode = "x" if path.stat().st_mode & 0o111 else "-"
            add(f"file:{mode}:{relative}", path.read_bytes())
    return digest.hexdigest()


def image_tag(context: Path, dockerfile: Path, platform: str) -> str:
    return context_digest(context, dockerfile, platform)[:TAG_LENGTH]
