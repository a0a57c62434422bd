"""The image registry component: an ECR repository, its lifecycle policy, and the function's image in it.

The image is built and pushed by pulumi-docker's `docker.RegistryImage` with a `build` block, the one
pulumi-docker 5.2.0 resource whose build takes `provenance` and `sbom` ("Set to `false` to disable ... which
creates OCI image manifests that some registries (like AWS Lambda) don't support": the SDK's
RegistryImageBuildArgs docstrings; terraform-provider-docker v4.5.0, internal/provider/docker_buildx_build.go
turns them into buildx attestation options, then resource_docker_registry_image_funcs.go pushes the image the
build loaded). With both off and one platform, buildx makes a single image manifest with no attestation
manifest, so no index reaches ECR whatever image store the Docker engine uses.

Docker authenticates to ECR outside the program (`docker login`, the ECR login action in CI): the docker
provider is told only the registry's address and reads the credentials from the Docker config file at run
time (provider `registryAuth.configFile`, default ~/.docker/config.json), so no resource input and no state
holds a registry password.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra import rollback
from infra.build_context import image_tag
from infra.registry_names import DOCKER_PROVIDER, IMAGE, LIFECYCLE_POLICY, REPOSITORY, TYPE


@dataclass(frozen=True)
class ImageRegistryArgs:
    name: str  # repository name
    context: str  # build context directory, relative to the project root
    dockerfile: str  # relative to the project root, inside the context
    platform: str  # linux/arm64 or linux/amd64
    keep_images: int
    force_delete: bool
    kms_key_arn: str | None
    cache_from: str | None  # an image of this repository by digest, reused as build cache
    tags: Mapping[str, str]
    pinned_image: str | None = None  # an image of this repository by digest, run instead of building one
    root: Path = Path(".")  # the project root the paths are relative to


# How a missing repository shows in a failed getImages invoke. The provider's aws_ecr_images data source
# (terraform-provider-aws internal/service/ecr/images_data_source.go, findImages) turns ECR's
# RepositoryNotFoundException into a retry.NotFoundError, whose message is only "couldn't find resource"
# (internal/retry/error.go), and the bridge reports "<summary>: <detail>" (pulumi-terraform-bridge
# pf/tfbridge/provider_diagnostics.go): "reading ECR Images: couldn't find resource". The AWS error code
# itself is kept as a second marker.
MISSING_REPOSITORY_MARKERS = ("couldn't find resource", "RepositoryNotFoundException")


def repository_tags(repository: str) -> dict[str, str]:
    """Every tag of `repository` with the digest it holds ({} when the repository does not exist yet)."""
    try:
        listing = aws.ecr.get_images(repository_name=repository)
    except Exception as error:  # an invoke failure arrives as a plain Exception carrying the provider's text
        if any(marker in str(error) for marker in MISSING_REPOSITORY_MARKERS):
            return {}  # first deployment: the repository is created below
        raise
    return {image.image_tag: image.image_digest for image in listing.image_ids if image.image_tag}


def pushed_digest(repository: str, tag: str) -> str | None:
    """The digest ECR holds under `repository:tag`, or None when the repository or the tag is not there yet.

    Tags are immutable and derived from the build context: an image under this tag is reused instead of
    rebuilt (a redeploy, a rollback to earlier sources), which also never asks ECR to overwrite an immutable
    tag. Who pushed it is not known here (a deploy role can delete an image and push another under the same
    tag): the pipeline verifies the digest's attestation, which names the content tag, before any function
    runs it (scripts/provenance.py, docs/pipeline.md).
    """
    return repository_tags(repository).get(tag)


# Tag prefix of the images published Lambda versions run (the deployment tags each version's digest with
# `<prefix><version>` and removes the tag when it deletes the version: infra/deployment_runner.py).
PROTECTED_TAG_PREFIX = "lambda-version-"
# ECR has no "keep" action: a rule of the highest priority selects the protected images with a count they
# never reach, and "an image that matches the tagging requirements of a rule cannot be expired by a rule with
# a lower priority" (Amazon ECR User Guide, lifecycle policy evaluation rules; the same pattern is the
# `tagPrefixList: ['prod'], maxImageCount: 9999` example of the AWS CDK's ecr.LifecycleRule).
PROTECTED_IMAGE_COUNT = 9999


def lifecycle_policy(keep_images: int) -> str:
    """Images a published version runs never expire; untagged images expire a day after their push; of the
    other tagged images (builds no kept version runs), the newest `keep_images` stay."""
    # ECR lifecycle policy properties (Amazon ECR User Guide): `tagged` needs a tagPrefixList or a
    # tagPatternList, and a pattern may hold up to four `*` wildcards, so ["*"] selects every tagged image.
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "keep every image a published Lambda version runs",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": [PROTECTED_TAG_PREFIX],
                        "countType": "imageCountMoreThan",
                        "countNumber": PROTECTED_IMAGE_COUNT,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "expire untagged images after 1 day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 3,
                    "description": f"keep the newest {keep_images} other tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


class ImageRegistry(pulumi.ComponentResource):
    """ECR repository (scan on push, immutable tags, encrypted) holding the image built from the context.

    The image resource is registered with the same inputs whenever the sources are the same, so a second
    `pulumi up` plans no change. When ECR already holds the content tag (a redeploy, a rollback to earlier
    sources), that image runs and the image resource's inputs are left as the state has them
    (`ignore_changes`): nothing is rebuilt and ECR is never asked to overwrite an immutable tag.
    """

    image_uri: pulumi.Output[str]  # <repositoryUrl>@sha256:<digest>, what the function runs

    def __init__(self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        # What runs is decided before anything is registered: the content tag, and the digest ECR holds under
        # it (None: not pushed yet, or a pinned image that is not built from the context).
        # A rollback recorded in the repository replaces a rolled-back digest by the one it went back to
        # (infra/rollback.py); the pipeline verified that one.
        tag = image_tag(args.root / args.context, args.root / args.dockerfile, args.platform)
        tags = repository_tags(args.name)
        pushed = None if args.pinned_image else tags.get(tag)
        wanted = args.pinned_image.split("@", 1)[1] if args.pinned_image else pushed
        running, chain = rollback.resolve(wanted, tags) if wanted else (None, [])
        super().__init__(TYPE, name, None, opts)
        self._repository(name, args)
        self.tag = tag
        self.image: docker.RegistryImage | None = None
        if len(chain) > 1:
            # the tag the attestation of the image that runs names (the pipeline verifies that image)
            self.tag = rollback.content_tag(chain[-1], tags) or tag
            pulumi.log.warn(
                f"{chain[0]} was rolled back ({' -> '.join(chain)}, recorded in {args.name} by `make rollback`): "
                f"running {chain[-1]} instead. A change of function/ rolls forward (docs/operations.md)",
                self,
            )
        if args.pinned_image:
            self.image_uri = pulumi.Output.from_input(f"{args.pinned_image.split('@', 1)[0]}@{running}")
            pulumi.log.info(f"running the pinned image {args.pinned_image}; function/ is not built", self)
        else:
            self.image = self._build(name, args, reuse=pushed is not None)
            digest = running if running is not None else self.image.sha256_digest
            self.image_uri = pulumi.Output.concat(self.repository.repository_url, "@", digest)
            if pushed is not None:
                pulumi.log.info(f"image tag {tag} is already in ECR ({pushed}): running {running}", self)
        self.repository_url = self.repository.repository_url
        self.repository_name = self.repository.name
        self.register_outputs(
            {
                "imageUri": self.image_uri,
                "repositoryUrl": self.repository_url,
                "repositoryName": self.repository_name,
                "tag": self.tag,
            }
        )

    def _repository(self, name: str, args: ImageRegistryArgs) -> None:
        """The repository (scan on push, immutable tags, encrypted) and its lifecycle policy."""
        child = pulumi.ResourceOptions(parent=self)
        encryption = (
            aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)
            if args.kms_key_arn
            else aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
        )
        self.repository = aws.ecr.Repository(
            REPOSITORY.name(name),
            name=args.name,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[encryption],
            force_delete=args.force_delete,
            tags=dict(args.tags),
            opts=child,
        )
        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            LIFECYCLE_POLICY.name(name),
            repository=self.repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child,
        )

    def _build(self, name: str, args: ImageRegistryArgs, reuse: bool) -> docker.RegistryImage:
        """Build the context for the function's platform and push it under the content tag."""
        registry = self.repository.repository_url.apply(lambda url: url.split("/", 1)[0])
        provider = docker.Provider(
            DOCKER_PROVIDER.name(name),
            # the address only: the credentials are read from the Docker config file when the provider runs
            registry_auth=[docker.ProviderRegistryAuthArgs(address=registry)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        context = PurePosixPath(args.context)
        build = docker.RegistryImageBuildArgs(
            context=str(context),
            # relative to the context (terraform-provider-docker v4.5.0, resolveDockerfilePath)
            dockerfile=str(PurePosixPath(args.dockerfile).relative_to(context)),
            platform=args.platform,
            provenance="false",
            sbom="false",
            # inline cache metadata in the pushed image lets the next build reuse its layers
            build_args={"BUILDKIT_INLINE_CACHE": "1"},
            cache_froms=[args.cache_from] if args.cache_from else None,
        )
        # The cache source changes with every deployment and never changes the image (it is not part of the
        # tag); every build input is ForceNew, so a changed cache source must not replace the image. A tag
        # already in ECR keeps whatever image resource the state holds.
        ignore = ["name", "build", "keepRemotely"] if reuse else ["build.cacheFroms"]
        return docker.RegistryImage(
            IMAGE.name(name),
            name=pulumi.Output.concat(self.repository.repository_url, ":", self.tag),
            build=build,
            # an image leaves the state when the sources change; ECR's lifecycle policy expires it, so a
            # rollback can still run it
            keep_remotely=True,
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, depends_on=[self.lifecycle_policy], ignore_changes=ignore
            ),
        )
