"""The content tag: what `docker build` would see, hashed; .dockerignore semantics as Docker applies them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import infra.config
from infra.build_context import context_files, image_tag, is_ignored, parse_dockerignore
from tests.infra.support import FUNCTION, IMAGE, ROOT, run_stack

FUNCTION_DIR = ROOT / "function"


@pytest.fixture()
def context(tmp_path: Path) -> Path:
    """A copy of function/ (the tests never touch the real one)."""
    copy = tmp_path / "function"
    shutil.copytree(FUNCTION_DIR, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def tag(context: Path, dockerfile: str = "Dockerfile", platform: str = "linux/arm64") -> str:
    return image_tag(context, context / dockerfile, platform)


@pytest.mark.parametrize(("patterns", "path", "ignored"), [
    ("*\n!app.py", "app.py", False),
    ("*\n!app.py", "events/health.json", True),
    ("*\n!app.py", "train.py", True),
    ("events", "events/health.json", True),
    ("events/*.json\n!events/keep.json", "events/keep.json", False),
    ("**/*.pyc", "a/b/c.pyc", True),
    ("**/*.pyc", "c.pyc", True),
    ("/build", "build/x", True),
    ("*.md", "docs/readme.md", False),  # `*` stays within one segment
    ("# comment\n\n", "app.py", False),
    ("te?t.py", "test.py", True),
])
def test_dockerignore_rules(patterns, path, ignored):
    assert is_ignored(path, parse_dockerignore(patterns)) is ignored


def test_the_context_is_what_the_dockerignore_lets_through():
    names = {p.relative_to(FUNCTION_DIR).as_posix() for p in context_files(FUNCTION_DIR)}
    assert "app.py" in names and "requirements.txt" in names
    assert not any(name.startswith(("events/", "__pycache__/")) for name in names)


def test_the_same_sources_give_the_same_tag(context):
    assert tag(context) == tag(context) == tag(FUNCTION_DIR)


def test_changing_a_source_file_changes_the_tag(context):
    before = tag(context)
    with (context / "app.py").open("a") as handle:
        handle.write("\n# changed\n")
    assert tag(context) != before


def test_an_ignored_file_does_not_change_the_tag(context):
    before = tag(context)
    (context / "events" / "new-event.json").write_text("{}")
    (context / "notes.txt").write_text("not sent to docker")
    assert tag(context) == before


def test_the_dockerfile_and_the_platform_are_part_of_the_tag(context):
    assert tag(context, "Dockerfile") != tag(context, "Dockerfile.debian")
    assert tag(context, platform="linux/arm64") != tag(context, platform="linux/amd64")


def test_making_a_file_executable_changes_the_tag(context):
    before = tag(context)
    (context / "app.py").chmod(0o755)
    assert tag(context) != before


def test_rerunning_the_program_gives_identical_image_and_function_inputs():
    first, second = run_stack(), run_stack()
    for typ in (IMAGE, FUNCTION):
        assert first.one(typ).inputs == second.one(typ).inputs


def test_the_program_tags_the_image_with_the_hash_of_function(default_run):
    image_name = default_run.one(IMAGE).inputs["imageName"]
    assert image_name.endswith(":" + tag(FUNCTION_DIR))


def test_an_edited_source_gives_the_program_a_new_tag_and_the_function_a_new_image(tmp_path, monkeypatch):
    """The whole program on a copy of the project's function/: one edited source, a new tag and digest."""
    shutil.copytree(FUNCTION_DIR, tmp_path / "function", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(infra.config, "ROOT", tmp_path)
    before = run_stack()
    assert before.one(IMAGE).inputs["imageName"].endswith(":" + tag(tmp_path / "function"))
    with (tmp_path / "function" / "app.py").open("a") as handle:
        handle.write("\n# changed\n")
    after = run_stack()
    assert after.one(IMAGE).inputs["imageName"] != before.one(IMAGE).inputs["imageName"]
    assert after.one(FUNCTION).inputs["imageUri"] != before.one(FUNCTION).inputs["imageUri"]
