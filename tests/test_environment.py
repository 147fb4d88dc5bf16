"""The pins: pyproject.toml, environment.yml, requirements/constraints.txt and the installed packages agree."""
import re
import tomllib
from importlib import metadata

import pytest

from autograder.paths import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    unpinned = [d for d in lines if not PIN.match(d)]
    assert not unpinned, f"pyproject.toml has unpinned dependencies: {unpinned}"
    return _pins(lines)


def environment_yml_pins() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    return _pins(line.strip().lstrip("- ") for line in pip_block.splitlines())


def constraint_pins() -> dict[str, str]:
    return _pins((ROOT / "requirements" / "constraints.txt").read_text().splitlines())


def test_environment_yml_pins_exactly_what_pyproject_pins():
    """environment.yml (conda) and pyproject.toml (pip) describe the same set of packages and versions."""
    assert environment_yml_pins() == pyproject_pins()


def test_environment_yml_uses_python_311():
    """Both environments are built on Python 3.11."""
    assert re.search(r"^\s*- python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11,<3.12"


def test_constraints_agree_with_direct_pins():
    """Every direct pin appears with the same version in the full lock of transitive dependencies."""
    constraints = constraint_pins()
    disagreements = {name: (version, constraints.get(name)) for name, version in pyproject_pins().items()
                     if constraints.get(name) != version}
    assert not disagreements, f"pyproject pin vs constraints.txt: {disagreements}"


def test_the_course_is_pinned_to_tensorflow_221_and_keras_3():
    """The issue's pins: the `tensorflow` package 2.21, Keras 3, JupyterLab 4, nbgrader 0.9."""
    pins = pyproject_pins()
    assert pins["tensorflow"].startswith("2.21.")
    assert pins["keras"].startswith("3.")
    assert pins["jupyterlab"].startswith("4.")
    assert pins["nbgrader"].startswith("0.9.")
    for name in ("nbval", "matplotlib", "pytest"):
        assert name in pins


@pytest.mark.parametrize("name,version", sorted(constraint_pins().items()))
def test_installed_environment_matches_the_lock(name, version):
    """The environment the tests run in is the pinned one (a stale .venv fails here)."""
    assert metadata.version(name) == version


def test_importing_nbformat_builds_no_iri_parsers():
    """jsonschema is held at 4.24 (see pyproject.toml): from 4.25 its format checkers import rfc3987-syntax,
    which builds 30 Earley parsers on import, 2.2 s of CPU in every process that imports nbformat."""
    import subprocess
    import sys

    code = "import sys, nbformat, jupyter_events.validators; print(sorted(m for m in sys.modules if 'rfc3987' in m or m.startswith('lark')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
