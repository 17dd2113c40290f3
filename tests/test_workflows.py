"""The hosted workflows cannot run here, so they are held to the facts they must agree with:
CI (.github/workflows/ci.yml) runs the README's test command, the very one .ci/run runs, on
Linux, macOS and Windows with the CPython versions the README names; the release workflow
(.github/workflows/release.yml) builds a wheel for each platform in the README's table, tests each
on its own platform with those versions, and publishes only after, by trusted publishing.
scripts/test.sh lints both with actionlint first."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
README = (ROOT / "README.md").read_text(encoding="utf-8")

# What each GitHub-hosted runner label is: its OS and machine, and the wheel tag a plain
# `maturin build` makes there (macOS: Rust's default deployment targets).
RUNNERS = {
    "ubuntu-24.04": ("Linux", "x86_64", None),
    "ubuntu-24.04-arm": ("Linux", "aarch64", None),
    "macos-15": ("macOS", "arm64", "macosx_11_0_arm64"),
    "macos-15-intel": ("macOS", "x86_64", "macosx_10_12_x86_64"),
    "windows-2025": ("Windows", "x64", "win_amd64"),
}


def workflow(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def readme_python_versions() -> list[str]:
    found = re.search(r"with CPython (3\.\d+) and (3\.\d+), the oldest supported and the newest release", README)
    assert found, "the README no longer says which CPython versions CI runs"
    return [found.group(1), found.group(2)]


def readme_wheel_tags() -> set[str]:
    section = README[README.index("## Platforms and releases") :]
    section = section[: section.index("\n## ")]
    return set(re.findall(r"\| `([a-z0-9_]+)` *\|", section))


def readme_test_command() -> str:
    opening = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert opening
    lines = [line.split("#")[0].strip() for line in opening.group(1).splitlines() if line.strip()]
    assert len(lines) == 2, "the README opens with exactly two commands"
    return lines[1]


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def matrix_values(job: dict[str, Any], key: str) -> list[Any]:
    matrix = job["strategy"]["matrix"]
    return matrix[key] if key in matrix else [entry[key] for entry in matrix["include"]]


def test_the_supported_python_versions_agree_everywhere():
    oldest, newest = readme_python_versions()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == f">={oldest}"
    minors = range(int(oldest.split(".")[1]), int(newest.split(".")[1]) + 1)
    for minor in minors:
        assert f"Programming Language :: Python :: 3.{minor}" in project["classifiers"]
    assert "cp310-abi3" in README and oldest == "3.10", "the abi3 floor (pyo3's abi3-py310) is the oldest"


def test_ci_runs_the_readme_test_command_that_ci_run_runs_on_three_systems_and_both_pythons():
    command = readme_test_command()
    assert command == "bash scripts/test.sh"
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"exec {command}" in ci_run.splitlines()

    ci = workflow("ci.yml")
    assert "push" in ci["on"] and "pull_request" in ci["on"]
    [job] = ci["jobs"].values()
    assert runs(job)[-1] == command
    systems = {RUNNERS[label][0] for label in matrix_values(job, "os")}
    assert systems == {"Linux", "macOS", "Windows"}
    assert [str(v) for v in matrix_values(job, "python")] == readme_python_versions()
    assert job["strategy"]["fail-fast"] is False, "one platform failing must not hide another's verdict"
    # The matrix's Python is the one the command uses, and it looks for no other.
    assert any(step.get("with", {}).get("python-version") == "${{ matrix.python }}" for step in job["steps"])
    assert job["env"]["PYTHON"] == "python" and job["env"]["ONLY_DEFAULT_PYTHON"]
    assert job["defaults"]["run"]["shell"] == "bash"
    assert job["timeout-minutes"] <= 90


def test_the_release_builds_a_wheel_for_every_platform_the_readme_names():
    release = workflow("release.yml")
    jobs = release["jobs"]
    built: set[str] = set()
    for arch in matrix_values(jobs["manylinux"], "arch"):
        built.add(f"manylinux_2_17_{arch}")
    assert any("bash scripts/manylinux_wheel.sh ${{ matrix.target }} dist" in run for run in runs(jobs["manylinux"]))
    for entry in jobs["manylinux"]["strategy"]["matrix"]["include"]:
        # Built on a runner of its own architecture, as scripts/test.sh builds the x86-64 one.
        assert RUNNERS[entry["runner"]][:2] == ("Linux", entry["arch"])
        assert entry["target"] == f"{entry['arch']}-unknown-linux-gnu"
    musl = jobs["musllinux"]
    [action] = [step for step in musl["steps"] if step.get("uses", "").startswith("PyO3/maturin-action@")]
    assert action["with"]["manylinux"] == "musllinux_1_2"
    assert "--release" in action["with"]["args"] and "--locked" in action["with"]["args"]
    for entry in musl["strategy"]["matrix"]["include"]:
        assert RUNNERS[entry["runner"]][:2] == ("Linux", entry["arch"])
        assert entry["target"] == f"{entry['arch']}-unknown-linux-musl"
        built.add(f"musllinux_1_2_{entry['arch']}")
    for runner in matrix_values(jobs["macos-windows"], "runner"):
        built.add(RUNNERS[runner][2])
    assert any("maturin build --release --locked" in run for run in runs(jobs["macos-windows"]))
    assert built == readme_wheel_tags()
    assert any("maturin sdist" in run for run in runs(jobs["sdist"]))


def test_every_wheel_is_installed_and_smoke_tested_on_its_own_platform_before_publishing():
    jobs = workflow("release.yml")["jobs"]
    versions = readme_python_versions()
    smoke, smoke_musl = jobs["smoke"], jobs["smoke-musllinux"]
    assert [str(v) for v in smoke["strategy"]["matrix"]["python"]] == versions
    assert [str(v) for v in smoke_musl["strategy"]["matrix"]["python"]] == versions
    # Every runner a wheel was built on smokes the wheels: pip picks this platform's among all.
    builders = {
        *matrix_values(jobs["manylinux"], "runner"),
        *matrix_values(jobs["macos-windows"], "runner"),
    }
    assert set(smoke["strategy"]["matrix"]["runner"]) == builders
    assert set(smoke_musl["strategy"]["matrix"]["runner"]) == set(matrix_values(jobs["musllinux"], "runner"))
    assert set(smoke["needs"]) == {"manylinux", "macos-windows"} and smoke_musl["needs"] == ["musllinux"]
    for job in (smoke, smoke_musl):
        script = "\n".join(runs(job))
        assert "--only-binary :all: --no-index --find-links dist wawp-presence" in script
        assert "pytest -p no:cacheprovider tests/test_smoke.py" in script
    assert "python:${{ matrix.python }}-alpine" in "\n".join(runs(smoke_musl))
    assert (ROOT / "tests" / "test_smoke.py").is_file()
    # The sdist is installed by pip in a fresh environment, Rust building it, and smoke-tested.
    sdist_script = "\n".join(runs(jobs["sdist"]))
    assert "pip install dist/*.tar.gz" in sdist_script and "tests/test_smoke.py" in sdist_script


def test_publishing_waits_for_every_test_and_uses_trusted_publishing():
    release = workflow("release.yml")
    assert release["on"]["push"]["tags"] == ["v*"]
    assert release["permissions"] == {"contents": "read"}
    publish = release["jobs"]["publish"]
    assert set(publish["needs"]) == {"sdist", "smoke", "smoke-musllinux"}
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    [publisher] = [step for step in publish["steps"] if step.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    # Trusted publishing: no password or token is handed to the action.
    assert not publisher.get("with"), publisher
    text = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    assert "secrets." not in text
    # The tag must be the version the package is built with.
    assert any("Cargo.toml" in run and "GITHUB_REF_NAME" in run for run in runs(release["jobs"]["sdist"]))


def test_the_workflows_install_the_build_tools_scripts_test_sh_pins():
    jobs = workflow("release.yml")["jobs"]
    for name in ("sdist", "macos-windows"):
        assert any("pip install -r scripts/tools.txt" in run for run in runs(jobs[name])), name
    for job in (*jobs.values(), *workflow("ci.yml")["jobs"].values()):
        for action in uses(job):
            assert "@" in action, f"{action} is not pinned to a version"
