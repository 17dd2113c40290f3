"""The wheel holds the whole package: every file of python/wawp_presence (stubs, py.typed, the
pytest plugin, the command line), the stripped extension, and the entry points. scripts/test.sh
builds the release wheel once, runs the suite against it installed in a fresh environment, and
names it in WAWP_PRESENCE_WHEEL; without that, the newest wheel in target/wheels is read."""

from __future__ import annotations

import configparser
import os
import zipfile
from pathlib import Path

import wawp_presence

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "python" / "wawp_presence"


def the_wheel() -> Path:
    named = os.environ.get("WAWP_PRESENCE_WHEEL")
    if named:
        return Path(named)
    built = sorted((ROOT / "target" / "wheels").glob("*.whl"), key=lambda p: p.stat().st_mtime)
    assert built, "no wheel in target/wheels: build one (scripts/test.sh does) with `maturin build --release`"
    return built[-1]


def source_files() -> set[str]:
    return {
        f"wawp_presence/{path.relative_to(SOURCE).as_posix()}"
        for path in SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".so", ".pyd")
    }


def test_the_wheel_holds_every_file_of_the_package():
    names = set(zipfile.ZipFile(the_wheel()).namelist())
    missing = sorted(source_files() - names)
    assert not missing, f"not in the wheel: {missing}"
    for needed in ("py.typed", "__init__.pyi", "_native.pyi", "testing/pytest_plugin.py", "_cli.py", "__main__.py"):
        assert f"wawp_presence/{needed}" in names
    assert "wawp_presence/_native.abi3.so" in names


def test_the_wheel_is_one_abi3_wheel_for_cpython_3_10_and_newer():
    wheel = the_wheel()
    assert "-cp310-abi3-" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/WHEEL"))
        tags = [line.split(": ", 1)[1] for line in archive.read(info).decode().splitlines() if line.startswith("Tag:")]
    assert tags and all(tag.startswith("cp310-abi3-") for tag in tags), tags


def test_the_extension_is_stripped_of_its_symbol_table():
    with zipfile.ZipFile(the_wheel()) as archive:
        extension = archive.read("wawp_presence/_native.abi3.so")
    assert extension[:4] == b"\x7fELF"
    # The section-name table lists ".symtab" only while the symbol table is there.
    assert b".symtab" not in extension
    assert len(extension) < 8 * 1024 * 1024, len(extension)


def test_the_entry_points_are_declared():
    with zipfile.ZipFile(the_wheel()) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(name).decode())
    assert entry_points["console_scripts"]["wawp-presence"] == "wawp_presence._cli:main"
    assert entry_points["pytest11"]["wawp_presence"] == "wawp_presence.testing.pytest_plugin"


def test_the_suite_runs_against_the_installed_wheel_when_scripts_test_sh_runs_it():
    installed = Path(wawp_presence.__file__).resolve().parent
    if os.environ.get("WAWP_PRESENCE_WHEEL"):
        assert SOURCE not in (installed, *installed.parents), f"imported from the source tree: {installed}"
        assert "site-packages" in installed.parts
    # Either way, what is imported has the files the wheel must carry.
    for needed in ("py.typed", "__init__.pyi", "_native.pyi"):
        assert (installed / needed).is_file()
