"""The provider plugins the installed Pulumi SDKs pin, one `<kind> <name> <version>` line each.

    venv/bin/python -m scripts.plugins

Every Pulumi provider SDK ships a `pulumi-plugin.json` ({"resource": true, "name": ..., "version": ...,
optionally "server"}) that names the plugin it was generated for (pulumi/pulumi, sdk/python/lib/pulumi's
plugin discovery reads the same file). The pipeline installs exactly these versions with `pulumi plugin
install <kind> <name> <version> --exact` before the engine runs, and runs the engine with
PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true, so no state file or program can make it download another
plugin (docs/pipeline.md). Run it with the interpreter of the environment the program runs in (the
hash-pinned venv/), so the list comes from the SDKs installed there.

Exit 1 when an SDK's file names a download server other than Pulumi's own (a third-party plugin would need
its own verified source) or is malformed; 0 otherwise, also when no SDK is installed (nothing printed).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PLUGIN_FILE = "pulumi-plugin.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# semver, as the engine parses plugin versions (no leading v)
VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class PluginError(Exception):
    pass


@dataclass(frozen=True, order=True)
class Plugin:
    kind: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} {self.version}"


def plugin_of(text: str, source: str) -> Plugin | None:
    """The plugin one `pulumi-plugin.json` names (None for a file that names no resource plugin)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PluginError(f"{source}: not JSON ({error})") from error
    if not isinstance(data, dict) or data.get("resource") is not True:
        return None
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PluginError(f"{source}: plugin name {name!r} is not a plugin name")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise PluginError(f"{source}: plugin {name} has version {version!r}, not an exact semver")
    if data.get("server"):
        raise PluginError(
            f"{source}: plugin {name} {version} downloads from {data['server']!r}; only Pulumi's own "
            "plugins are installed here (add a verified source for a third-party plugin first)"
        )
    return Plugin("resource", name, version)


def installed_plugins(distributions: Iterable[metadata.Distribution] | None = None) -> list[Plugin]:
    """Every resource plugin the installed distributions' `pulumi-plugin.json` files name, sorted."""
    found: set[Plugin] = set()
    for distribution in distributions if distributions is not None else metadata.distributions():
        for file in distribution.files or []:
            if file.name != PLUGIN_FILE:
                continue
            text = Path(file.locate()).read_text(encoding="utf-8")
            plugin = plugin_of(text, f"{distribution.metadata['Name']} {file}")
            if plugin is not None:
                found.add(plugin)
    names = [plugin.name for plugin in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PluginError(f"two versions of the plugin(s) {', '.join(twice)} are pinned by installed SDKs")
    return sorted(found)


def main() -> int:
    try:
        plugins = installed_plugins()
    except PluginError as error:
        print(f"plugins: {error}", file=sys.stderr)
        return 1
    for plugin in plugins:
        print(plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
