#!/usr/bin/env python3
"""Check that a container image is one Lambda accepts, and print its size.

Lambda takes only a single-platform image: a Docker v2 schema 2 or OCI image manifest (never an index or
manifest list, which is what a build with attestations or several platforms pushes), whose platform is the
function's architecture, at most 10 GB uncompressed.

Inputs (one of the first two):
  --manifest FILE      raw manifest JSON as the registry serves it
                       (`docker buildx imagetools inspect --raw REF`, `docker manifest inspect REF`)
  --oci-layout PATH    an OCI image layout (directory or tar): `docker buildx build --output type=oci`
  --config FILE        the image config JSON (the config blob the manifest names)
  --image-inspect FILE `docker image inspect IMAGE` JSON: platform and uncompressed size
  --architecture       the function architecture: arm64 or x86_64

Exit status: 0 the image passes, 1 a check failed (every failure is listed), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

# Lambda's limit is "10 GB" uncompressed; decimal gigabytes is the stricter reading.
MAX_IMAGE_BYTES = 10 * 1000**3
IMAGE_MANIFEST_TYPES = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
}
INDEX_TYPES = {
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
}
ATTESTATION_MEDIA_TYPES = {"application/vnd.in-toto+json"}
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
# Lambda architecture -> (os, architecture) of the image config
PLATFORMS = {"arm64": ("linux", "arm64"), "x86_64": ("linux", "amd64")}


class InputError(Exception):
    """The files given cannot be read as what they claim to be."""


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{size} B"
        value /= 1024
    raise AssertionError("unreachable")


def kind(manifest: dict) -> str:
    """'index', 'image' or 'unknown' (the OCI mediaType field is optional, so look at the shape too)."""
    media_type = manifest.get("mediaType")
    if media_type in INDEX_TYPES or "manifests" in manifest:
        return "index"
    if media_type in IMAGE_MANIFEST_TYPES or ("config" in manifest and "layers" in manifest):
        return "image"
    return "unknown"


def is_attestation_descriptor(descriptor: dict) -> bool:
    annotations = descriptor.get("annotations") or {}
    platform = descriptor.get("platform") or {}
    return annotations.get(ATTESTATION_ANNOTATION) == "attestation-manifest" or (
        platform.get("os"),
        platform.get("architecture"),
    ) == ("unknown", "unknown")


def check_manifest(manifest: dict, report: Report) -> None:
    """The manifest itself: a single image manifest, not an index, not an attestation or other artifact."""
    if not isinstance(manifest, dict):
        raise InputError("the manifest is not a JSON object")
    found = kind(manifest)
    if found == "index":
        entries = manifest.get("manifests") or []
        attestations = sum(1 for entry in entries if is_attestation_descriptor(entry))
        report.fail(
            f"the manifest is an index ({manifest.get('mediaType', 'no mediaType')}) with {len(entries)} "
            f"entries, {attestations} of them attestations; Lambda needs a single-platform image manifest "
            "(build with --provenance=false --sbom=false and one --platform)"
        )
        return
    if found != "image":
        report.fail(f"unrecognised manifest (mediaType {manifest.get('mediaType')!r}): not an image manifest")
        return
    config_type = (manifest.get("config") or {}).get("mediaType")
    layer_types = {layer.get("mediaType") for layer in manifest.get("layers") or []}
    if (
        manifest.get("artifactType")
        or manifest.get("subject")
        or config_type in ATTESTATION_MEDIA_TYPES
        or layer_types & ATTESTATION_MEDIA_TYPES
    ):
        report.fail(
            "the manifest is an attestation or artifact manifest (artifactType/subject/in-toto), not an image"
        )


def compressed_size(manifest: dict) -> int:
    parts = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
    try:
        return sum(int(part.get("size", 0)) for part in parts)
    except (TypeError, ValueError) as exc:
        raise InputError(f"a descriptor size is not a number ({exc})") from exc


def check_platform(source: str, os_name: object, arch: object, architecture: str, report: Report) -> None:
    want_os, want_arch = PLATFORMS[architecture]
    report.notes.append(f"platform ({source}): {os_name}/{arch}")
    if (os_name, arch) != (want_os, want_arch):
        report.fail(
            f"platform {os_name}/{arch} ({source}) differs from the function architecture {architecture} "
            f"(needs {want_os}/{want_arch})"
        )


def check_size(source: str, size: int, report: Report) -> None:
    report.notes.append(f"image size ({source}): {size} bytes ({human(size)})")
    if size > MAX_IMAGE_BYTES:
        report.fail(f"image size {human(size)} ({source}) exceeds Lambda's 10 GB limit")


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read JSON ({exc})") from exc


class OciLayout:
    """Blobs of an OCI image layout, from a directory or a tar archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tar = None
        if path.is_file():
            try:
                self.tar = tarfile.open(path)  # noqa: SIM115 - closed by close()
            except (OSError, tarfile.TarError) as exc:
                raise InputError(f"{path}: not a tar archive ({exc})") from exc
        elif not path.is_dir():
            raise InputError(f"{path}: no such OCI layout")

    def read(self, name: str) -> bytes:
        if self.tar is None:
            try:
                return (self.path / name).read_bytes()
            except OSError as exc:
                raise InputError(f"{self.path}: missing {name}") from exc
        try:
            member = self.tar.extractfile(name)
        except KeyError:
            member = None
        if member is None:
            raise InputError(f"{self.path}: missing {name}")
        return member.read()

    def json(self, name: str) -> dict:
        try:
            data = json.loads(self.read(name))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{self.path}: {name} is not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise InputError(f"{self.path}: {name} is not a JSON object")
        return data

    def blob(self, descriptor: dict) -> dict:
        digest = str(descriptor.get("digest", ""))
        algorithm, _, value = digest.partition(":")
        if not algorithm or not value or "/" in value:
            raise InputError(f"{self.path}: bad digest {digest!r}")
        return self.json(f"blobs/{algorithm}/{value}")

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def check_oci_layout(layout: OciLayout, architecture: str, report: Report) -> None:
    """index.json of a layout is always an index: it must point at exactly one image manifest."""
    entries = layout.json("index.json").get("manifests") or []
    if len(entries) != 1:
        report.fail(f"the OCI layout holds {len(entries)} manifests; Lambda needs exactly one image")
        if not entries:
            return
    manifest = layout.blob(entries[0])
    check_manifest(manifest, report)
    if kind(manifest) != "image":
        return
    report.notes.append(
        f"manifest: {manifest.get('mediaType', 'OCI image manifest')} {entries[0].get('digest')}"
    )
    config = layout.blob(manifest.get("config") or {})
    check_platform("image config", config.get("os"), config.get("architecture"), architecture, report)
    check_size("compressed layers", compressed_size(manifest), report)


def run(args: argparse.Namespace) -> Report:
    report = Report()
    if args.oci_layout:
        layout = OciLayout(args.oci_layout)
        try:
            check_oci_layout(layout, args.architecture, report)
        finally:
            layout.close()
    if args.manifest:
        manifest = read_json(args.manifest)
        check_manifest(manifest, report)
        if isinstance(manifest, dict) and kind(manifest) == "image":
            report.notes.append(f"manifest: {manifest.get('mediaType', 'OCI image manifest')}")
            check_size("compressed layers", compressed_size(manifest), report)
    if args.config:
        config = read_json(args.config)
        if not isinstance(config, dict):
            raise InputError(f"{args.config}: not a JSON object")
        check_platform(
            "image config", config.get("os"), config.get("architecture"), args.architecture, report
        )
    if args.image_inspect:
        inspected = read_json(args.image_inspect)
        image = inspected[0] if isinstance(inspected, list) and len(inspected) == 1 else inspected
        if not isinstance(image, dict) or "Architecture" not in image:
            raise InputError(
                f"{args.image_inspect}: expected the JSON of `docker image inspect` for one image"
            )
        check_platform(
            "docker image inspect", image.get("Os"), image.get("Architecture"), args.architecture, report
        )
        if not isinstance(image.get("Size"), int):
            raise InputError(f"{args.image_inspect}: no integer Size")
        check_size("uncompressed", image["Size"], report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--oci-layout", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--image-inspect", type=Path)
    parser.add_argument("--architecture", required=True, choices=sorted(PLATFORMS))
    args = parser.parse_args(argv)
    if not (args.manifest or args.oci_layout):
        parser.error("give --manifest or --oci-layout")
    try:
        report = run(args)
    except InputError as exc:
        print(f"check_image_manifest: {exc}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(note)
    for failure in report.failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if report.failures:
        return 1
    print(f"OK: single-platform image for {args.architecture}, within Lambda's 10 GB limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
