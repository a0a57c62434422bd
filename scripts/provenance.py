"""Verify that an image digest was built by this repository's deploy workflow on main, before anything runs it.

    python3 -m scripts.provenance IMAGE --subject NAME (--commit SHA | --commit-of-main)

IMAGE is `<repository uri>@sha256:<hex>`; NAME is the attestation's subject name, `<repository uri>:<content
tag>` of the repository that built it (deploy.yml attests `<building repository>:<tag>`, so an image of other
sources, even one main built, does not pass for this content tag). `--commit SHA`: the attestation must come
from exactly that commit (a build of this run); `--commit-of-main`: from a commit that `git merge-base
--is-ancestor` finds in the history of the checked-out HEAD (a content tag reused from an earlier run of
main; the checkout needs the history: `fetch-depth: 0`).

The identity expected (GitHub Actions' default variables, so nothing here can be steered by a job output):
the repository `GITHUB_REPOSITORY` (and `GITHUB_REPOSITORY_ID`, `GITHUB_REPOSITORY_OWNER_ID` when set: a
deleted and re-created repository of the same name has other ids), the workflow file DEPLOY_WORKFLOW at
MAIN_REF as the top-level workflow (not called from another one), a GitHub-hosted runner, GitHub's OIDC
issuer, the SLSA provenance v1 predicate.

How: `gh attestation verify oci://IMAGE --repo ... --cert-identity ... --deny-self-hosted-runners
--predicate-type ... --format json` checks the Sigstore signature, the certificate chain and transparency
data, the subject digest and the identity (GitHub CLI, pkg/cmd/attestation/verify: verify.go, policy.go;
it fetches the attestations of the digest from the repository's attestations API, so GH_TOKEN must be able
to read them). Its JSON answer is a list of {attestation: {bundle}, verificationResult} where
verificationResult is sigstore-go's verify.VerificationResult: `statement` (the in-toto statement: subject,
predicateType, predicate) and `signature.certificate`, a certificate.Summary (certificateIssuer,
subjectAlternativeName and the Fulcio extensions: issuer, sourceRepositoryURI, sourceRepositoryIdentifier,
sourceRepositoryOwnerIdentifier, sourceRepositoryRef, sourceRepositoryDigest, buildConfigURI,
runnerEnvironment, runInvocationURI, ...; sigstore-go pkg/fulcio/certificate). This module checks every one
of those fields again and the commit, and says what it found.

Exit 0 with `commit=<sha>` on GITHUB_OUTPUT when one attestation matches; 1 naming the digest, the identity
expected and what each attestation (or gh) said otherwise; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
MAIN_REF = "refs/heads/main"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
# certificate.Extensions.RunnerEnvironment of a GitHub-hosted runner (GitHub CLI, verify/policy.go GitHubRunner)
GITHUB_HOSTED = "github-hosted"
IMAGE = re.compile(r"^(?P<repository>[^@\s]+)@sha256:(?P<hex>[0-9a-f]{64})$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


class ProvenanceError(Exception):
    """The digest is not (provably) what main's deploy workflow built; the message says why."""


@dataclass(frozen=True)
class Identity:
    """Who must have signed the attestation."""

    server: str  # https://github.com
    repository: str  # OWNER/REPO
    repository_id: str | None
    owner_id: str | None
    workflow: str = DEPLOY_WORKFLOW
    ref: str = MAIN_REF

    @property
    def repository_uri(self) -> str:
        return f"{self.server}/{self.repository}"

    @property
    def workflow_uri(self) -> str:
        """The certificate's subject alternative name: `<server>/<owner>/<repo>/<workflow>@<ref>`."""
        return f"{self.repository_uri}/{self.workflow}@{self.ref}"

    def describe(self) -> str:
        ids = (
            f" (repository id {self.repository_id}, owner id {self.owner_id})"
            if self.repository_id and self.owner_id
            else ""
        )
        return f"{self.workflow_uri}{ids}, run on a GitHub-hosted runner, signed through {OIDC_ISSUER}"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Identity:
        repository = env.get("GITHUB_REPOSITORY", "")
        if not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", repository):
            raise ProvenanceError(f"GITHUB_REPOSITORY must be OWNER/REPO, got {repository!r}")
        return cls(
            server=env.get("GITHUB_SERVER_URL") or "https://github.com",
            repository=repository,
            repository_id=env.get("GITHUB_REPOSITORY_ID") or None,
            owner_id=env.get("GITHUB_REPOSITORY_OWNER_ID") or None,
        )


# (commit) -> None when acceptable, else why not
CommitRule = Callable[[str], str | None]


def exact_commit(expected: str) -> CommitRule:
    def rule(commit: str) -> str | None:
        return None if commit == expected else f"built from commit {commit}, expected this run's {expected}"

    return rule


def commit_of_main(head: str = "HEAD", git: str = "git") -> CommitRule:
    """A commit in the history of `head` (the checked-out main)."""

    def rule(commit: str) -> str | None:
        if not COMMIT.fullmatch(commit):
            return f"built from {commit!r}, not a commit"
        known = subprocess.run(  # noqa: S603 - git on PATH, arguments of our own
            [git, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
        )
        if known.returncode != 0:
            return f"built from commit {commit}, which is not in this checkout's history of main"
        ancestor = subprocess.run(  # noqa: S603
            [git, "merge-base", "--is-ancestor", commit, head], capture_output=True, check=False
        )
        return None if ancestor.returncode == 0 else f"built from commit {commit}, not an ancestor of {head}"

    return rule


def problems(
    result: Mapping[str, Any], identity: Identity, digest_hex: str, subject: str, commit_rule: CommitRule
) -> list[str]:
    """Why one verified attestation (an element of gh's JSON answer) does not prove the identity; [] if it does."""
    verification = result.get("verificationResult") or {}
    statement = verification.get("statement") or {}
    certificate = (verification.get("signature") or {}).get("certificate") or {}
    found: list[str] = []

    def expect(field: str, want: str | None, *, fold: bool = False) -> None:
        if want is None:
            return
        value = certificate.get(field)
        same = str(value).casefold() == want.casefold() if fold and value is not None else value == want
        if not same:
            found.append(f"{field} {value!r} (expected {want!r})")

    if statement.get("predicateType") != PREDICATE_TYPE:
        found.append(f"predicateType {statement.get('predicateType')!r} (expected {PREDICATE_TYPE!r})")
    subjects = statement.get("subject") or []
    if not any(
        entry.get("name") == subject and (entry.get("digest") or {}).get("sha256") == digest_hex
        for entry in subjects
    ):
        named = ", ".join(
            f"{entry.get('name')}@sha256:{(entry.get('digest') or {}).get('sha256')}" for entry in subjects
        )
        found.append(f"subject {named or 'none'} (expected {subject}@sha256:{digest_hex})")
    expect("subjectAlternativeName", identity.workflow_uri)
    expect("issuer", OIDC_ISSUER)
    expect("sourceRepositoryURI", identity.repository_uri, fold=True)
    expect("sourceRepositoryIdentifier", identity.repository_id)
    expect("sourceRepositoryOwnerIdentifier", identity.owner_id)
    expect("sourceRepositoryRef", identity.ref)
    # the workflow that started the run is the deploy workflow itself, not another one calling it
    expect("buildConfigURI", identity.workflow_uri)
    expect("runnerEnvironment", GITHUB_HOSTED)
    commit = certificate.get("sourceRepositoryDigest")
    if not isinstance(commit, str) or not commit:
        found.append("no sourceRepositoryDigest (the commit)")
    elif not found:  # the commit is only worth asking git about for an attestation of the right identity
        why = commit_rule(commit)
        if why:
            found.append(why)
    return found


def run_gh(image: str, identity: Identity, gh: str = "gh") -> list[dict[str, Any]]:
    """gh's verified attestations of `image` (ProvenanceError with gh's own message when none verifies)."""
    command = [
        gh,
        "attestation",
        "verify",
        f"oci://{image}",
        "--repo",
        identity.repository,
        "--cert-identity",
        identity.workflow_uri,
        "--cert-oidc-issuer",
        OIDC_ISSUER,
        "--deny-self-hosted-runners",
        "--predicate-type",
        PREDICATE_TYPE,
        "--format",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise ProvenanceError(f"no attestation of it verifies: gh attestation verify said: {said}")
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise ProvenanceError(f"gh attestation verify answered no JSON ({error})") from error
    if not isinstance(answer, list) or not answer:
        raise ProvenanceError("gh attestation verify answered no verified attestation")
    return answer


def verify(
    image: str, subject: str, identity: Identity, commit_rule: CommitRule, gh: str = "gh"
) -> tuple[str, Mapping[str, Any]]:
    """The commit main built `image` from, and the certificate that says so; ProvenanceError naming the
    digest, the identity expected and what was found otherwise."""
    match = IMAGE.fullmatch(image)
    if not match:
        raise ProvenanceError(f"{image!r} is not an image by digest (<repository>@sha256:<64 hex>)")
    digest = f"sha256:{match['hex']}"
    expected = f"expected: {subject}@{digest} attested by {identity.describe()}"
    try:
        results = run_gh(image, identity, gh)
    except ProvenanceError as error:
        raise ProvenanceError(f"image {digest} is refused: {error}; {expected}") from error
    findings = []
    for number, result in enumerate(results, start=1):
        found = problems(result, identity, match["hex"], subject, commit_rule)
        certificate = ((result.get("verificationResult") or {}).get("signature") or {}).get(
            "certificate"
        ) or {}
        if not found:
            return certificate["sourceRepositoryDigest"], certificate
        findings.append(f"attestation {number}: " + "; ".join(found))
    raise ProvenanceError(f"image {digest} is refused; {expected}; found: " + " | ".join(findings))


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.provenance", description=__doc__.split("\n")[0])
    parser.add_argument("image", help="<repository uri>@sha256:<hex>")
    parser.add_argument(
        "--subject", required=True, help="the attestation's subject name: <repository uri>:<tag>"
    )
    rule = parser.add_mutually_exclusive_group(required=True)
    rule.add_argument("--commit", help="the commit the attestation must come from (this run's build)")
    rule.add_argument("--commit-of-main", action="store_true", help="any commit in the history of HEAD")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    if not IMAGE.fullmatch(args.image):
        parser.error(f"{args.image!r} is not an image by digest (<repository>@sha256:<64 hex>)")
    if args.commit is not None and not COMMIT.fullmatch(args.commit):
        parser.error(f"--commit {args.commit!r} is not a full commit SHA")
    commit_rule = exact_commit(args.commit) if args.commit else commit_of_main()
    try:
        identity = Identity.from_environment(env)
        commit, certificate = verify(args.image, args.subject, identity, commit_rule)
    except ProvenanceError as error:
        print(f"::error title=Provenance refused::{error}")
        print(f"provenance: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.image}: built by {identity.workflow_uri} from commit {commit} "
        f"({certificate.get('runInvocationURI', 'run not named')})"
    )
    output = env.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"commit={commit}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
