"""One-time AWS setup for the project's pipeline (a Pulumi project of its own; see Pulumi.yaml)."""
