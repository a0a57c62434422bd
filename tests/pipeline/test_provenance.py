"""scripts/provenance.py and `pipeline.sh provenance`: a digest runs only with an attestation of this
repository's deploy workflow on main, for its content tag, from this run's commit (an image this run built)
or from a commit of main (a reused content tag, a promotion). A stand-in `gh` answers as the GitHub CLI does
(tests/pipeline/provenance_support.py); git is the real tool, on a scratch history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.pipeline import provenance_support as gh
from tests.pipeline.helpers import ROOT, run_script, tool_env

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
REPOSITORY_URI = f"{REGISTRY}/service-dev"
TAG = "c0ffee" * 5 + "00"
SUBJECT = f"{REPOSITORY_URI}:{TAG}"
HEX = "ab" * 32
IMAGE = f"{REPOSITORY_URI}@sha256:{HEX}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def history(tmp_path):
    """main: first -> second (HEAD); a branch commit `side` that main does not contain."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "ci@example.org")
    git(repo, "config", "user.name", "ci")
    commits = {}
    for name in ("first", "second"):
        git(repo, "commit", "--quiet", "--allow-empty", "-m", name)
        commits[name] = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "-b", "side")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "side")
    commits["side"] = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "main")
    return repo, commits


@pytest.fixture
def verifier(tmp_path, history):
    repo, commits = history
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh.install_fake_gh(bin_dir)
    store, output, log = tmp_path / "attestations.json", tmp_path / "output", tmp_path / "calls.log"
    output.touch()
    env = tool_env(
        bin_dir,
        **gh.gh_env(store, commit=commits["second"], GITHUB_OUTPUT=str(output), FAKE_LOG=str(log)),
    )

    def verify(*attestations: dict, image: str = IMAGE, subject: str = SUBJECT, rule: tuple[str, ...] = ()):
        gh.write_store(
            store, {f"sha256:{image.rsplit(':', 1)[1]}": list(attestations)} if attestations else {}
        )
        # the module from this repository, run in the scratch checkout (git answers from there)
        return run_script(
            ROOT / "scripts" / "provenance.py",
            image,
            "--subject",
            subject,
            *(rule or ("--commit", commits["second"])),
            env=env | {"PYTHONPATH": str(ROOT)},
            cwd=repo,
        )

    verify.commits = commits
    verify.output = output
    verify.log = log
    return verify


def attested(commit: str, **changes) -> dict:
    return gh.attestation(digest_hex=HEX, subject=SUBJECT, commit=commit, **changes)


def test_an_image_this_run_built_and_attested_passes(verifier):
    result = verifier(attested(verifier.commits["second"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"from commit {verifier.commits['second']}" in result.stdout
    assert verifier.output.read_text() == f"commit={verifier.commits['second']}\n"
    (call,) = verifier.log.read_text().splitlines()
    # the identity is pinned in gh's own flags too: exact workflow at main, this repository, hosted runners
    for flag in (
        f"oci://{IMAGE}",
        f"--repo {gh.REPOSITORY}",
        f"--cert-identity {gh.SERVER}/{gh.REPOSITORY}/{gh.DEPLOY}@{gh.MAIN}",
        f"--cert-oidc-issuer {gh.OIDC_ISSUER}",
        "--deny-self-hosted-runners",
        f"--predicate-type {gh.SLSA_PROVENANCE}",
        "--format json",
    ):
        assert flag in call, flag


def test_a_built_image_must_come_from_this_runs_commit(verifier):
    result = verifier(attested(verifier.commits["first"]))
    assert result.returncode == 1
    assert f"built from commit {verifier.commits['first']}, expected this run's" in result.stdout
    assert verifier.output.read_text() == ""


def test_a_reused_image_may_come_from_any_commit_of_main(verifier):
    for commit in ("first", "second"):
        result = verifier(attested(verifier.commits[commit]), rule=("--commit-of-main",))
        assert result.returncode == 0, result.stdout


def test_a_reused_image_from_a_commit_main_does_not_contain_is_refused(verifier):
    result = verifier(attested(verifier.commits["side"]), rule=("--commit-of-main",))
    assert result.returncode == 1
    assert f"built from commit {verifier.commits['side']}, not an ancestor of HEAD" in result.stdout
    unknown = "f" * 40
    result = verifier(attested(unknown), rule=("--commit-of-main",))
    assert result.returncode == 1
    assert "not in this checkout's history of main" in result.stdout


# Attestations someone other than main's deploy workflow could have made, each refused. Those gh itself
# refuses (identity, runner, repository, predicate type) fail with gh's message; the others (the ref, the
# calling workflow, the ids, the subject) with what this module found.
REFUSED = [
    pytest.param({"ref": "refs/heads/feature"}, "Verification failed", id="another branch"),
    pytest.param(
        {"ref": "refs/pull/7/merge", "trigger": "pull_request"}, "Verification failed", id="pull request"
    ),
    pytest.param({"workflow": ".github/workflows/preview.yml"}, "Verification failed", id="another workflow"),
    pytest.param({"repository": "octo-org/widgets-fork"}, "Verification failed", id="another repository"),
    pytest.param({"runner": "self-hosted"}, "Verification failed", id="self-hosted runner"),
    pytest.param(
        {"predicate_type": "https://spdx.dev/Document/v2.3"},
        "No attestations found with predicate",
        id="sbom",
    ),
    pytest.param(
        {"caller": f"{gh.SERVER}/octo-org/other/.github/workflows/release.yml@refs/heads/main"},
        "buildConfigURI",
        id="called from another workflow",
    ),
    pytest.param({"repository_id": "123"}, "sourceRepositoryIdentifier '123'", id="re-created repository"),
    pytest.param({"owner_id": "456"}, "sourceRepositoryOwnerIdentifier '456'", id="re-created owner"),
]


@pytest.mark.parametrize(("changes", "message"), REFUSED)
def test_attestations_of_any_other_identity_are_refused(verifier, changes, message):
    result = verifier(attested(verifier.commits["second"], **changes), rule=("--commit-of-main",))
    assert result.returncode == 1
    assert message in result.stdout
    # the error names the digest and the identity expected
    assert f"image sha256:{HEX} is refused" in result.stdout
    assert f"attested by {gh.SERVER}/{gh.REPOSITORY}/{gh.DEPLOY}@{gh.MAIN}" in result.stdout
    assert f"(repository id {gh.REPOSITORY_ID}, owner id {gh.OWNER_ID})" in result.stdout


def test_an_image_main_built_for_other_sources_does_not_pass_for_this_content_tag(verifier):
    # main's own attestation of another content tag: the image is genuine, but not what this tag names
    older = gh.attestation(
        digest_hex=HEX, subject=f"{REPOSITORY_URI}:{'0' * 32}", commit=verifier.commits["first"]
    )
    result = verifier(older, rule=("--commit-of-main",))
    assert result.returncode == 1
    assert (
        f"subject {REPOSITORY_URI}:{'0' * 32}@sha256:{HEX} (expected {SUBJECT}@sha256:{HEX})" in result.stdout
    )


def test_an_image_without_attestation_is_refused_naming_digest_and_identity(verifier):
    result = verifier()
    assert result.returncode == 1
    assert f"image sha256:{HEX} is refused: no attestation of it verifies" in result.stdout
    assert f"No attestations found for subject sha256:{HEX}" in result.stdout
    assert f"expected: {SUBJECT}@sha256:{HEX} attested by" in result.stdout


def test_one_matching_attestation_among_others_is_enough(verifier):
    # gh answers only when every attestation verified; one of another commit of main sits beside this run's
    result = verifier(attested(verifier.commits["first"]), attested(verifier.commits["second"]))
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "args",
    [
        (f"{REPOSITORY_URI}:{TAG}", "--subject", SUBJECT, "--commit-of-main"),  # a tag, not a digest
        (IMAGE, "--subject", SUBJECT, "--commit", "abc"),  # not a full commit
        (IMAGE, "--subject", SUBJECT),  # no rule
    ],
)
def test_bad_arguments_are_refused(verifier, args):
    result = run_script(ROOT / "scripts" / "provenance.py", *args, env=tool_env(Path("/nonexistent")))
    assert result.returncode == 2, result.stderr


def test_without_the_repository_nothing_can_be_verified(verifier):
    result = run_script(
        ROOT / "scripts" / "provenance.py",
        IMAGE,
        "--subject",
        SUBJECT,
        "--commit-of-main",
        env=tool_env(Path("/nonexistent")),
    )
    assert result.returncode == 1
    assert "GITHUB_REPOSITORY must be OWNER/REPO" in result.stdout
