"""Build configuration pyproject.toml cannot express: the top-level templates/, presets/ and the vendor manifest
are mapped into the package as `fluxgen/resources/...`, so a non-editable install carries them."""

from setuptools import find_packages, setup

RESOURCES = {"fluxgen.resources.templates": "templates", "fluxgen.resources.presets": "presets",
             "fluxgen.resources.vendor": "vendor"}

setup(
    packages=find_packages(include=["fluxgen", "fluxgen.*"]) + list(RESOURCES),
    package_dir=RESOURCES,
    package_data={
        "fluxgen": ["backends/*/*.json", "backends/*/constraints-*.txt"],
        "fluxgen.resources.templates": ["**/*.j2"],
        "fluxgen.resources.presets": ["*.yaml", "kinds/*.yaml"],
        "fluxgen.resources.vendor": ["manifest.json"],
    },
)
