"""Attestations as `gh attestation verify --format json` reports them, and a stand-in `gh` that decides as the
GitHub CLI does.

Shapes, from the sources (GitHub CLI v2.60.0 and sigstore-go):
- the answer is a JSON list of AttestationProcessingResult {"attestation": {"bundle"}, "verificationResult"}
  (cli/cli pkg/cmd/attestation/verification/sigstore.go; api/attestation.go);
- verificationResult is sigstore-go's verify.VerificationResult (pkg/verify/signed_entity.go): mediaType
  VerificationResultMediaType01, the in-toto `statement`, `signature.certificate` (a certificate.Summary:
  certificateIssuer, subjectAlternativeName and the embedded Fulcio Extensions, whose JSON names are in
  pkg/fulcio/certificate/extensions.go), verifiedTimestamps, verifiedIdentity;
- the statement of actions/attest-build-provenance is an in-toto Statement v1 with the SLSA provenance v1
  predicate (the CLI's own test bundle reusable-workflow-attestation.sigstore.json has this layout).

The stand-in applies what the CLI checks before it answers (verify.go runVerify, policy.go,
verification/extensions.go): no attestation for the digest, no attestation of the predicate type, a
subject alternative name other than --cert-identity, a runner other than github-hosted with
--deny-self-hosted-runners, a SourceRepositoryOwnerURI or SourceRepositoryURI other than --repo's, an issuer
other than --cert-oidc-issuer: each fails the whole command (v2.60.0 stops at the first attestation that
fails), with the CLI's message. It never succeeds where the CLI would fail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.pipeline.helpers import write_tool

OIDC_ISSUER = "https://token.actions.githubusercontent.com"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
SERVER = "https://github.com"
REPOSITORY = "octo-org/widgets"  # a GitHub repository name; nothing of the project
REPOSITORY_ID = "700100"
OWNER_ID = "900200"
DEPLOY = ".github/workflows/deploy.yml"
MAIN = "refs/heads/main"


def attestation(
    *,
    digest_hex: str,
    subject: str,
    commit: str,
    repository: str = REPOSITORY,
    repository_id: str = REPOSITORY_ID,
    owner_id: str = OWNER_ID,
    workflow: str = DEPLOY,
    ref: str = MAIN,
    runner: str = "github-hosted",
    caller: str | None = None,
    predicate_type: str = SLSA_PROVENANCE,
    trigger: str = "push",
) -> dict[str, Any]:
    """One element of gh's JSON answer: what deploy.yml's attest step produces, or a variation of it.

    `caller`: the workflow URI that called `workflow` as a reusable workflow (its buildConfigURI)."""
    owner = repository.split("/", 1)[0]
    san = f"{SERVER}/{repository}/{workflow}@{ref}"
    run = f"{SERVER}/{repository}/actions/runs/4242/attempts/1"
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject, "digest": {"sha256": digest_hex}}],
        "predicateType": predicate_type,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {"ref": ref, "repository": f"{SERVER}/{repository}", "path": workflow}
                },
                "internalParameters": {
                    "github": {
                        "event_name": trigger,
                        "repository_id": repository_id,
                        "repository_owner_id": owner_id,
                        "runner_environment": runner,
                    }
                },
                "resolvedDependencies": [
                    {"uri": f"git+{SERVER}/{repository}@{ref}", "digest": {"gitCommit": commit}}
                ],
            },
            "runDetails": {
                "builder": {"id": f"{SERVER}/actions/runner/{runner}"},
                "metadata": {"invocationId": run},
            },
        },
    }
    certificate = {
        "certificateIssuer": "CN=sigstore-intermediate,O=sigstore.dev",
        "subjectAlternativeName": san,
        "issuer": OIDC_ISSUER,
        "githubWorkflowTrigger": trigger,
        "githubWorkflowSHA": commit,
        "githubWorkflowName": "deploy",
        "githubWorkflowRepository": repository,
        "githubWorkflowRef": ref,
        "buildSignerURI": san,
        "buildSignerDigest": commit,
        "runnerEnvironment": runner,
        "sourceRepositoryURI": f"{SERVER}/{repository}",
        "sourceRepositoryDigest": commit,
        "sourceRepositoryRef": ref,
        "sourceRepositoryIdentifier": repository_id,
        "sourceRepositoryOwnerURI": f"{SERVER}/{owner}",
        "sourceRepositoryOwnerIdentifier": owner_id,
        "buildConfigURI": caller or san,
        "buildConfigDigest": commit,
        "buildTrigger": trigger,
        "runInvocationURI": run,
        "sourceRepositoryVisibilityAtSigning": "private",
    }
    return {
        "attestation": {
            "bundle": {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {},
                "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json"},
            }
        },
        "verificationResult": {
            "mediaType": "application/vnd.dev.sigstore.verificationresult+json;version=0.1",
            "statement": statement,
            "signature": {"certificate": certificate},
            "verifiedTimestamps": [
                {"type": "Tlog", "uri": "https://rekor.sigstore.dev", "timestamp": "2026-08-01T10:00:00Z"}
            ],
            "verifiedIdentity": {
                "subjectAlternativeName": {"subjectAlternativeName": san},
                "issuer": {"issuer": OIDC_ISSUER},
            },
        },
    }


# The stand-in: python, reading the attestation store (digest -> results) from $FAKE_ATTESTATIONS.
FAKE_GH = """
import json, os, sys

args = sys.argv[1:]
log = os.environ.get("FAKE_LOG")
if log:
    with open(log, "a") as handle:
        handle.write("gh " + " ".join(args) + "\\n")
if args[:2] != ["attestation", "verify"]:
    sys.exit(f"unexpected: gh {' '.join(args)}")
artifact, rest, flags = args[2], args[3:], {}
while rest:
    name = rest.pop(0)
    flags[name] = True if name == "--deny-self-hosted-runners" else rest.pop(0)
if not os.environ.get("GH_TOKEN"):
    sys.exit("To get started with GitHub CLI, please run:  gh auth login")
digest = "sha256:" + artifact.rsplit("@sha256:", 1)[1]
with open(os.environ["FAKE_ATTESTATIONS"]) as handle:
    found = json.load(handle).get(digest, [])
print(f"Loaded digest {digest} for {artifact}", file=sys.stderr)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


if not found:
    fail(f"✗ No attestations found for subject {digest}")
wanted_type = flags.get("--predicate-type")
if wanted_type:
    found = [a for a in found if a["verificationResult"]["statement"]["predicateType"] == wanted_type]
    if not found:
        fail(f"✗ No attestations found with predicate type: {wanted_type}")
for result in found:
    certificate = result["verificationResult"]["signature"]["certificate"]
    if "--cert-identity" in flags and certificate["subjectAlternativeName"] != flags["--cert-identity"]:
        fail('✗ Verification failed\\nverifying with issuer "sigstore.dev"')
    if flags.get("--deny-self-hosted-runners") and certificate["runnerEnvironment"] != "github-hosted":
        fail('✗ Verification failed\\nverifying with issuer "sigstore.dev"')
    repo = flags["--repo"]
    for field, want in (
        ("SourceRepositoryOwnerURI", "https://github.com/" + repo.split("/")[0]),
        ("SourceRepositoryURI", "https://github.com/" + repo),
        ("Issuer", flags.get("--cert-oidc-issuer", "https://token.actions.githubusercontent.com")),
    ):
        got = certificate[field[0].lower() + field[1:]]
        if got.lower() != want.lower():
            fail(f"✗ Verification failed\\nexpected {field} to be {want}, got {got}")
print(json.dumps(found))
"""


def install_fake_gh(bin_dir: Path) -> None:
    write_tool(bin_dir, "gh", f'exec {sys.executable} -c "$FAKE_GH_CODE" "$@"\n')


def gh_env(store: Path, *, commit: str, **extra: str) -> dict[str, str]:
    """The variables a deploy job has (GitHub Actions' defaults) plus the stand-in's."""
    return {
        "FAKE_GH_CODE": FAKE_GH,
        "FAKE_ATTESTATIONS": str(store),
        "GH_TOKEN": "ghs_test",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_REPOSITORY_ID": REPOSITORY_ID,
        "GITHUB_REPOSITORY_OWNER_ID": OWNER_ID,
        "GITHUB_SERVER_URL": SERVER,
        "GITHUB_SHA": commit,
        **extra,
    }


def write_store(path: Path, attestations: Mapping[str, list[dict[str, Any]]]) -> None:
    """What GitHub's attestations API holds, by subject digest (`sha256:<hex>`)."""
    path.write_text(json.dumps(attestations), encoding="utf-8")
