"""The content tag: what `docker build` would see, hashed; .dockerignore semantics as Docker applies them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import infra.build_context
import infra.config
from infra.build_context import context_files, image_tag, is_ignored, parse_dockerignore
from infra.project import PROJECT
from tests.infra.support import FUNCTION, IMAGE, ROOT, run_stack

FUNCTION_DIR = ROOT / "function"
# A function of the tests' own (the contract's shape, none of function/'s names): what the tag hashes.
SOURCE, DEPENDENCIES = "handler.py", "deps.txt"
OWN_FUNCTION = {
    "Dockerfile": f'FROM scratch\nCOPY {DEPENDENCIES} {SOURCE} /task/\nCMD ["handler.main"]\n',
    ".dockerignore": f"*\n!{SOURCE}\n!{DEPENDENCIES}\n",
    SOURCE: "def main(event, context):\n    return {'statusCode': 204}\n",
    DEPENDENCIES: "",
    "events/call.json": json.dumps(
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET", "path": "/"}}}
    ),
    "events/expected-status.json": '{"call.json": 204}',
}


def write_function(directory: Path) -> Path:
    for name, text in OWN_FUNCTION.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture()
def context(tmp_path: Path) -> Path:
    """A function directory of the test's own (the tests never touch function/)."""
    return write_function(tmp_path / "function")


def tag(context: Path, dockerfile: str = "Dockerfile", platform: str = "linux/arm64") -> str:
    return image_tag(context, context / dockerfile, platform)


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        ("*\n!handler.py", "handler.py", False),
        ("*\n!handler.py", "events/call.json", True),
        ("*\n!handler.py", "train.py", True),
        ("events", "events/call.json", True),
        ("events/*.json\n!events/keep.json", "events/keep.json", False),
        ("**/*.pyc", "a/b/c.pyc", True),
        ("**/*.pyc", "c.pyc", True),
        ("/build", "build/x", True),
        ("*.md", "docs/readme.md", False),  # `*` stays within one segment
        ("# comment\n\n", "handler.py", False),
        ("te?t.py", "test.py", True),
    ],
)
def test_dockerignore_rules(patterns, path, ignored):
    assert is_ignored(path, parse_dockerignore(patterns)) is ignored


def test_the_context_is_what_the_dockerignore_lets_through(context):
    (context / "__pycache__").mkdir()
    (context / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"")
    names = {p.relative_to(context).as_posix() for p in context_files(context)}
    assert names == {SOURCE, DEPENDENCIES}


def test_the_same_sources_give_the_same_tag(context, tmp_path):
    assert tag(context) == tag(context) == tag(write_function(tmp_path / "again"))


def test_changing_a_source_file_changes_the_tag(context):
    before = tag(context)
    with (context / SOURCE).open("a") as handle:
        handle.write("\n# changed\n")
    assert tag(context) != before


def test_an_ignored_file_does_not_change_the_tag(context):
    before = tag(context)
    (context / "events" / "new-event.json").write_text("{}")
    (context / "notes.txt").write_text("not sent to docker")
    assert tag(context) == before


def test_the_dockerfile_and_the_platform_are_part_of_the_tag(context):
    other = (context / "Dockerfile").read_text(encoding="utf-8") + "\n# another variant\n"
    (context / "Dockerfile.variant").write_text(other, encoding="utf-8")
    assert tag(context, "Dockerfile") != tag(context, "Dockerfile.variant")
    assert tag(context, platform="linux/arm64") != tag(context, platform="linux/amd64")


def test_making_a_file_executable_changes_the_tag(context):
    before = tag(context)
    (context / SOURCE).chmod(0o755)
    assert tag(context) != before


def test_rerunning_the_program_gives_identical_image_and_function_inputs():
    first, second = run_stack(), run_stack()
    for typ in (IMAGE, FUNCTION):
        assert first.one(typ).inputs == second.one(typ).inputs


def test_the_program_tags_the_image_with_the_hash_of_function(default_run):
    image_name = default_run.one(IMAGE).inputs["name"]
    assert image_name.endswith(":" + tag(FUNCTION_DIR))


def test_an_edited_source_gives_the_program_a_new_tag_and_the_function_a_new_image(tmp_path, monkeypatch):
    """The whole program on a function of the test's own: one edited source, a new tag and digest."""
    write_function(tmp_path / "function")
    monkeypatch.setattr(infra.config, "ROOT", tmp_path)
    before = run_stack()
    assert before.one(IMAGE).inputs["name"].endswith(":" + tag(tmp_path / "function"))
    with (tmp_path / "function" / SOURCE).open("a") as handle:
        handle.write("\n# changed\n")
    after = run_stack()
    assert after.one(IMAGE).inputs["name"] != before.one(IMAGE).inputs["name"]
    assert after.one(FUNCTION).inputs["imageUri"] != before.one(FUNCTION).inputs["imageUri"]


@pytest.mark.parametrize("mode", [0o600, 0o664])
def test_permission_bits_a_copy_carries_change_the_tag(context, mode):
    """A checkout under umask 077 (0600 files) must not share a tag with a readable one."""
    (context / SOURCE).chmod(0o644)
    before = tag(context)
    (context / SOURCE).chmod(mode)
    assert tag(context) != before


def test_a_directory_mode_changes_the_tag(tmp_path):
    context = tmp_path / "ctx"
    (context / "pkg").mkdir(parents=True)
    (context / "pkg" / "mod.py").write_text("x = 1\n")
    (context / "Dockerfile").write_text("FROM scratch\n")
    (context / "pkg").chmod(0o755)
    before = tag(context)
    (context / "pkg").chmod(0o700)
    assert tag(context) != before


def test_an_ignored_directory_is_not_walked(tmp_path, monkeypatch):
    context = tmp_path / "ctx"
    (context / ".venv" / "lib").mkdir(parents=True)
    (context / "events").mkdir()
    (context / ".venv" / "lib" / "big.py").write_text("")
    (context / "events" / "keep.json").write_text("{}")
    (context / SOURCE).write_text("")
    (context / ".dockerignore").write_text(f"*\n!{SOURCE}\n!events/keep.json\n")
    walked = []
    real_walk = infra.build_context.os.walk

    def spy(top, *args, **kwargs):
        for root, dirs, files in real_walk(top, *args, **kwargs):
            walked.append(Path(root).relative_to(context).as_posix())
            yield root, dirs, files

    monkeypatch.setattr(infra.build_context.os, "walk", spy)
    names = [p.relative_to(context).as_posix() for p in context_files(context)]
    assert sorted(names) == ["events/keep.json", SOURCE]
    assert ".venv" not in walked and ".venv/lib" not in walked
    assert "events" in walked, "a directory a `!` pattern can re-include is still walked"


def test_a_large_file_is_hashed_in_chunks(context, monkeypatch):
    """The hash streams: a file bigger than the chunk gives the same tag as hashing it whole would."""
    (context / DEPENDENCIES).write_bytes(b"x" * (3 * infra.build_context.CHUNK + 5))
    streamed = tag(context)
    monkeypatch.setattr(infra.build_context, "CHUNK", 1 << 30)
    assert tag(context) == streamed


# --- a Dockerfile's own ignore file (BuildKit: <Dockerfile>.dockerignore replaces the context's) ------------

VARIANT = "Dockerfile.x"


def variant(context: Path, ignore: str, where: str = "") -> str:
    """A second Dockerfile (only the source: it copies no dependencies) with its own ignore file beside it;
    its path relative to the context."""
    dockerfile = context / where / VARIANT
    dockerfile.parent.mkdir(parents=True, exist_ok=True)
    dockerfile.write_text(f'FROM scratch\nCOPY {SOURCE} /task/\nCMD ["handler.main"]\n', encoding="utf-8")
    dockerfile.with_name(VARIANT + ".dockerignore").write_text(ignore, encoding="utf-8")
    return dockerfile.relative_to(context).as_posix()


def names(context: Path, dockerfile: str) -> set[str]:
    return {p.relative_to(context).as_posix() for p in context_files(context, context / dockerfile)}


def test_a_file_the_dockerfiles_own_ignore_file_excludes_does_not_change_its_tag(context):
    own = variant(context, f"*\n!{SOURCE}\n")  # deps.txt: in .dockerignore's context, not in this one
    before = tag(context, own)
    (context / DEPENDENCIES).write_text("changed\n", encoding="utf-8")
    assert tag(context, own) == before, (
        f"{VARIANT}.dockerignore leaves {DEPENDENCIES} out of {VARIANT}'s context"
    )


def test_a_file_only_the_context_dockerignore_excludes_changes_the_tag_of_a_dockerfile_with_its_own(context):
    own = variant(context, f"*\n!{SOURCE}\n!extra.txt\n")
    before = tag(context, own)
    (context / "extra.txt").write_text("sent to docker\n", encoding="utf-8")
    assert tag(context, own) != before, (
        f"{VARIANT}.dockerignore lets extra.txt through; .dockerignore does not"
    )


EVERYTHING = {*OWN_FUNCTION, "extra.txt", VARIANT, VARIANT + ".dockerignore"}


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        (f"*\n!{SOURCE}\n!extra.txt\n", {SOURCE, "extra.txt"}),  # neither .dockerignore's set nor the union
        ("", EVERYTHING),  # an empty file too: .dockerignore no longer applies
    ],
    ids=["own-patterns", "empty-own-file"],
)
def test_the_dockerfiles_own_ignore_file_replaces_the_context_dockerignore(context, ignore, expected):
    (context / "extra.txt").write_text("", encoding="utf-8")
    own = variant(context, ignore)
    assert names(context, own) == expected


def test_the_own_ignore_file_is_looked_up_beside_the_dockerfile(context):
    (context / f"{VARIANT}.dockerignore").write_text("*\n", encoding="utf-8")  # at the root: not beside it
    own = variant(context, f"*\n!{SOURCE}\n!docker/{VARIANT}\n", where="docker")
    assert names(context, own) == {SOURCE, f"docker/{VARIANT}"}, "patterns stay relative to the context"


def test_the_own_ignore_file_is_hashed_as_any_file_of_the_context(context):
    own = variant(context, "notes.txt\n")  # excludes notes.txt only, so it is sent itself
    before = tag(context, own)
    with (context / f"{VARIANT}.dockerignore").open("a", encoding="utf-8") as handle:
        handle.write("# a comment: the file is in the context, a COPY . would carry it\n")
    assert tag(context, own) != before


def test_another_dockerfiles_ignore_file_leaves_the_context_dockerignore_in_force(context):
    variant(context, "")  # an empty ignore file of Dockerfile.x: for Dockerfile.x, nothing is ignored
    assert names(context, "Dockerfile") == {SOURCE, DEPENDENCIES}


# --- what the program builds for a stack, from a checkout: what deploy.yml builds outside the engine and what
# promotion expects (scripts/pipeline.sh stacks, check-promoted) --------------------------------------------


def image_of_stack(stack: str, stack_config: dict) -> subprocess.CompletedProcess[str]:
    project_config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.build_context",
            "image",
            stack,
            json.dumps(project_config),
            json.dumps(stack_config),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_the_image_of_a_stack_is_the_one_the_program_builds(architecture):
    printed = image_of_stack("dev", {f"{PROJECT}:architecture": architecture})
    assert printed.returncode == 0, printed.stderr
    image = json.loads(printed.stdout)
    registered = run_stack({"architecture": architecture}).one(IMAGE).inputs
    assert registered["name"].endswith(":" + image["tag"]), (registered["name"], image)
    build = registered["build"]
    dockerfile = (Path(build["context"]) / build["dockerfile"]).as_posix()  # relative to the context
    assert (build["context"], dockerfile, build["platform"]) == (
        image["context"],
        image["dockerfile"],
        image["platform"],
    )


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [("architecture", "sparc", "sparc"), ("dockerfile", "function/Dockerfile.missing", "Dockerfile.missing")],
)
def test_the_tag_of_a_stack_with_a_bad_setting_names_it(setting, value, named):
    printed = image_of_stack("production", {f"{PROJECT}:{setting}": value})
    assert printed.returncode == 2
    assert "production" in printed.stderr and named in printed.stderr
