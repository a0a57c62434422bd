"""The Pulumi names of the image registry (infra/registry.py), declared once: the program registers the component
and its children under them, and the pipeline reads them to update the registry alone (scripts/pipeline.sh
push-archive and promote target these URNs). Standard library only, so the workflows' bare runners can use it
too:

    python3 -m infra.registry_names STACK
    # {"type": <component type>, "repository": <ECR repository name>,
    #  "targets": [URNs of the component, repository, lifecycle policy]}

tests/infra/test_registry.py checks the URNs against those a run of the program under mocks registers, and
each child's type against the SDK class the component builds it with.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from infra.project import PROJECT, STACK_NAME_RULE, is_stack_name, prefix_for

NAME = "registry"  # the component's logical name (__main__.py)
TYPE = f"{PROJECT}:infra:ImageRegistry"


@dataclass(frozen=True)
class Child:
    """A child of the component: its logical name is `<component name>-<suffix>`; `type` is the Pulumi type
    token of the SDK class the component builds it with."""

    suffix: str
    type: str

    def name(self, component: str = NAME) -> str:
        return f"{component}-{self.suffix}"


REPOSITORY = Child("repository", "aws:ecr/repository:Repository")
LIFECYCLE_POLICY = Child("lifecycle", "aws:ecr/lifecyclePolicy:LifecyclePolicy")
DOCKER_PROVIDER = Child("docker", "pulumi:providers:docker")
IMAGE = Child("image", "docker:index/registryImage:RegistryImage")
ALWAYS = (REPOSITORY, LIFECYCLE_POLICY)  # registered for every stack
BUILT = (DOCKER_PROVIDER, IMAGE)  # registered when the image is built from the context (no pinned image)


def urn(stack: str, types: Sequence[str], name: str) -> str:
    """The URN the engine gives the resource `name` whose type is the last of `types`, each type before it
    being an ancestor's, outermost first: `urn:pulumi:<stack>::<project>::<types joined by $>::<name>` (the
    Go SDK's resource/urn package, "Each resource URN is of the form"; the Python SDK's create_urn,
    pulumi/runtime/resource.py). The root stack's type is no ancestor: the engine leaves it out."""
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join(types)}::{name}"


def targets(stack: str, with_image: bool = False) -> list[str]:
    """The URNs of the component and its children: those registered for every stack, and with `with_image`
    those of the image built from the context."""
    children = ALWAYS + (BUILT if with_image else ())
    return [urn(stack, [TYPE], NAME)] + [urn(stack, [TYPE, child.type], child.name()) for child in children]


def describe(stack: str) -> dict[str, object]:
    """What the pipeline reads of the registry of `stack` (the module's docstring)."""
    return {
        "type": TYPE,
        "repository": prefix_for(stack),
        "targets": targets(stack),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m infra.registry_names STACK", file=sys.stderr)
        return 2
    if not is_stack_name(argv[0]):
        print(f"stack name {argv[0]!r} is not allowed: {STACK_NAME_RULE}", file=sys.stderr)
        return 2
    print(json.dumps(describe(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
