"""scripts/refresh_base_image.py: moving FROM lines to the current digest of their tag."""

from __future__ import annotations

import shutil

import pytest

from infra.build_context import image_tag
from scripts import refresh_base_image as refresh
from tests.pipeline.helpers import ROOT

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
BUILDER = "sha256:" + "3" * 64
IMAGE = "public.ecr.aws/lambda/python"

DOCKERFILE = f"""# syntax=docker/dockerfile:1
ARG BASE={IMAGE}:3.13
FROM --platform=$BUILDPLATFORM {IMAGE}:3.13@{OLD} AS build
RUN echo build
FROM build AS test
FROM ${{BASE}} AS from-arg
FROM scratch AS empty
from {IMAGE}:3.13@{OLD}
COPY --from=build /out /var/task
FROM localhost:5000/tools:1.2 AS tools
FROM {IMAGE}@{OLD} AS digest-only
CMD ["app.handler"]
"""


def resolver(table: dict[str, str]):
    asked = []

    def resolve(reference: str) -> str:
        asked.append(reference)
        if reference not in table:
            raise refresh.RefreshError(f"{reference}: not found")
        return table[reference]

    resolve.asked = asked
    return resolve


def test_tagged_bases_move_to_the_current_digest_and_everything_else_stays():
    resolve = resolver({f"{IMAGE}:3.13": NEW, "localhost:5000/tools:1.2": BUILDER})
    text, messages = refresh.refresh_text(DOCKERFILE, resolve)
    lines = text.splitlines()
    assert lines[2] == f"FROM --platform=$BUILDPLATFORM {IMAGE}:3.13@{NEW} AS build"
    assert lines[4] == "FROM build AS test"
    assert lines[5] == "FROM ${BASE} AS from-arg"
    assert lines[6] == "FROM scratch AS empty"
    assert lines[7] == f"from {IMAGE}:3.13@{NEW}"
    assert lines[9] == f"FROM localhost:5000/tools:1.2@{BUILDER} AS tools", "a registry port is not a tag"
    assert lines[10] == f"FROM {IMAGE}@{OLD} AS digest-only"
    assert text.endswith('CMD ["app.handler"]\n')
    assert f"{IMAGE}:3.13: {OLD} -> 3.13@{NEW}" in messages
    assert f"{IMAGE}@{OLD}: no tag to follow, left as is" in messages


def test_an_up_to_date_file_is_unchanged():
    text = f"FROM {IMAGE}:3.13@{NEW}\n"
    new_text, messages = refresh.refresh_text(text, resolver({f"{IMAGE}:3.13": NEW}))
    assert new_text == text
    assert messages == [f"{IMAGE}:3.13: already at {NEW}"]


def test_the_digest_is_read_from_imagetools_inspect_output():
    output = (
        f"Name:      {IMAGE}:3.13\n"
        "MediaType: application/vnd.oci.image.index.v1+json\n"
        f"Digest:    {NEW}\n\nManifests:\n"
    )
    assert refresh.parse_inspect_digest(f"{IMAGE}:3.13", output) == NEW
    with pytest.raises(refresh.RefreshError, match="no 'Digest: sha256"):
        refresh.parse_inspect_digest(f"{IMAGE}:3.13", "Digest: latest\n")


def test_the_cli_rewrites_files_resolving_each_tag_once(tmp_path, capsys):
    first, second = tmp_path / "Dockerfile", tmp_path / "Dockerfile.debian"
    first.write_text(f"FROM {IMAGE}:3.13@{OLD} AS build\nFROM {IMAGE}:3.13@{OLD}\n", encoding="utf-8")
    second.write_text(f"FROM {IMAGE}:3.13\n", encoding="utf-8")
    resolve = resolver({f"{IMAGE}:3.13": NEW})
    assert refresh.main([str(first), str(second)], resolve=resolve) == 0
    assert first.read_text(encoding="utf-8") == f"FROM {IMAGE}:3.13@{NEW} AS build\nFROM {IMAGE}:3.13@{NEW}\n"
    assert second.read_text(encoding="utf-8") == f"FROM {IMAGE}:3.13@{NEW}\n"
    assert resolve.asked == [f"{IMAGE}:3.13"]
    out, err = capsys.readouterr()
    assert out == "changed=true\n", "stdout goes to $GITHUB_OUTPUT: name=value lines only"
    assert f"{first}: {IMAGE}:3.13: {OLD} -> 3.13@{NEW}" in err


def test_check_mode_reports_without_writing(tmp_path, capsys):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {IMAGE}:3.13@{OLD}\n", encoding="utf-8")
    assert refresh.main([str(dockerfile), "--check"], resolve=resolver({f"{IMAGE}:3.13": NEW})) == 1
    assert dockerfile.read_text(encoding="utf-8") == f"FROM {IMAGE}:3.13@{OLD}\n"
    assert refresh.main([str(dockerfile), "--check"], resolve=resolver({f"{IMAGE}:3.13": OLD})) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "changed=false"


def test_a_resolution_failure_exits_2_and_writes_nothing(tmp_path, capsys):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {IMAGE}:3.13@{OLD}\n", encoding="utf-8")

    def broken(reference: str) -> str:
        raise refresh.RefreshError(f"{reference}: unauthorized")

    assert refresh.main([str(dockerfile)], resolve=broken) == 2
    assert "unauthorized" in capsys.readouterr().err
    assert dockerfile.read_text(encoding="utf-8") == f"FROM {IMAGE}:3.13@{OLD}\n"


def test_a_failure_on_a_later_file_leaves_the_earlier_ones_untouched(tmp_path):
    first, second = tmp_path / "Dockerfile", tmp_path / "Dockerfile.debian"
    first.write_text(f"FROM {IMAGE}:3.13@{OLD}\n", encoding="utf-8")
    second.write_text("FROM python:3.13-slim\n", encoding="utf-8")
    assert refresh.main([str(first), str(second)], resolve=resolver({f"{IMAGE}:3.13": NEW})) == 2
    assert first.read_text(encoding="utf-8") == f"FROM {IMAGE}:3.13@{OLD}\n"


def test_a_dated_build_tag_follows_its_moving_tag():
    dated = f"FROM {IMAGE}:3.13.2025.12.15.13@{OLD} AS deps\nFROM python:3.13.11-slim-bookworm@{OLD}\n"
    resolve = resolver({f"{IMAGE}:3.13": NEW, "python:3.13.11-slim-bookworm": BUILDER})
    text, messages = refresh.refresh_text(dated, resolve)
    assert text == f"FROM {IMAGE}:3.13@{NEW} AS deps\nFROM python:3.13.11-slim-bookworm@{BUILDER}\n"
    assert f"{IMAGE}:3.13.2025.12.15.13 (following 3.13): {OLD} -> 3.13@{NEW}" in messages
    assert resolve.asked == [f"{IMAGE}:3.13", "python:3.13.11-slim-bookworm"]


@pytest.mark.parametrize(
    ("tag", "moving"),
    [
        ("3.13.2025.12.15.13", "3.13"),
        ("3.12.2024.04.03", "3.12"),
        ("3.13", "3.13"),
        ("3.13.11-slim-bookworm", "3.13.11-slim-bookworm"),
        ("latest", "latest"),
    ],
)
def test_moving_tags(tag, moving):
    assert refresh.moving_tag(tag) == moving


def test_the_repository_dockerfiles_have_a_tag_to_follow():
    for dockerfile in sorted((ROOT / "function").glob("Dockerfile*")):
        text = dockerfile.read_text(encoding="utf-8")
        _, messages = refresh.refresh_text(text, lambda reference: NEW)
        assert messages, f"{dockerfile.name} has no base image to refresh"
        assert not [m for m in messages if "no tag to follow" in m], messages


def test_a_refreshed_base_gives_the_image_a_new_tag(tmp_path):
    """The ECR tags are immutable and derived from the build context: a new base must mean a new tag."""
    shutil.copytree(ROOT / "function", tmp_path / "function", ignore=shutil.ignore_patterns("__pycache__"))
    dockerfile = tmp_path / "function" / "Dockerfile"
    before = image_tag(tmp_path / "function", dockerfile, "linux/arm64")
    text, messages = refresh.refresh_text(dockerfile.read_text(encoding="utf-8"), lambda reference: NEW)
    assert any("->" in message for message in messages)
    dockerfile.write_text(text, encoding="utf-8")
    assert image_tag(tmp_path / "function", dockerfile, "linux/arm64") != before
