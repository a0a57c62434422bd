"""Entry point of the bootstrap Pulumi project (run by the Pulumi CLI from this directory). The `bootstrap` and
`infra` packages come from the repository root, installed editable into bootstrap/venv (requirements.txt)."""

from bootstrap.program import run

run()
