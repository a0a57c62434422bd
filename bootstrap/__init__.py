"""One-time AWS setup for the container-lambda pipeline (a Pulumi project of its own; see Pulumi.yaml)."""
