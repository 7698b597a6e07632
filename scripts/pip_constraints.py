"""Print pip constraints (`name==version`, one a line) for every distribution this Python already has.

Run by the Python of a QGIS under test: what QGIS's Python ships (numpy, GDAL, PyQt5, ...) goes to
pip as constraints, so an install into the plugin's own folder can never pull another version of them.
Everything on `sys.path` counts, folders appended to it (the plugin's dependency folder) included.
Versions pip cannot parse (some distributions' packaging) are left out: pip could not pin them.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys


def constraints(paths: list[str]) -> list[str]:
    """`name==version` for each distribution found on `paths`, sorted by name. A pin that another of
    them contradicts (Debian's sympy declares mpmath<1.4 beside its mpmath 1.4.1) is left out: pip
    could satisfy neither, and what is installed keeps working as its distribution made it."""
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import InvalidVersion, Version

    pinned: dict[str, str] = {}
    requirements: list[Requirement] = []
    for distribution in importlib.metadata.distributions(path=paths):
        name, version = distribution.metadata["Name"], distribution.version
        if not name or not version or canonicalize_name(name) in pinned:
            continue  # the first on the path is what imports
        try:
            Version(version)
        except InvalidVersion:
            continue
        pinned[canonicalize_name(name)] = version
        for text in distribution.requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                requirements.append(requirement)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name in pinned and not requirement.specifier.contains(pinned[name], prereleases=True):
            del pinned[name]
    return [f"{name}=={version}" for name, version in sorted(pinned.items())]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("\n".join(constraints(sys.path)))


if __name__ == "__main__":
    main()
