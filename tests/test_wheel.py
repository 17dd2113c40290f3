"""The wheel holds the whole package: every file of python/wawp_presence (stubs, py.typed, the
pytest plugin, the command line), the stripped extension, and the entry points; a Linux wheel is
manylinux2014 (glibc 2.17 and newer). scripts/test.sh builds the release wheel once, runs the suite
against it installed in a fresh environment, and names it in WAWP_PRESENCE_WHEEL and its platform
tag in WAWP_PRESENCE_WHEEL_PLATFORM; without them, the newest wheel in target/wheels is read (one
built by hand with plain `maturin build` too: only the manylinux check is skipped for it, saying
why)."""

from __future__ import annotations

import configparser
import os
import re
import zipfile
from pathlib import Path

import pytest
from presence_helpers import built_artifact

import wawp_presence

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "python" / "wawp_presence"


def the_wheel() -> Path:
    return built_artifact("WAWP_PRESENCE_WHEEL", "target/wheels", "*.whl", "maturin build --release")


def platform_tags(wheel: Path) -> list[str]:
    """The platform part of a wheel's name, compressed tags split: ["manylinux2014_x86_64", ...]."""
    return wheel.name.removesuffix(".whl").split("-")[-1].split(".")


def wheel_file_tags(wheel: Path) -> list[str]:
    """The Tag lines of the wheel's .dist-info/WHEEL: ["cp310-abi3-manylinux_2_17_x86_64", ...]."""
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/WHEEL"))
        lines = archive.read(info).decode().splitlines()
    return [line.split(": ", 1)[1] for line in lines if line.startswith("Tag:")]


def extension_name(wheel: Path) -> str:
    """Where the compiled extension sits: `.pyd` on Windows, `.abi3.so` elsewhere."""
    windows = any(tag.startswith("win") for tag in platform_tags(wheel))
    return "wawp_presence/_native.pyd" if windows else "wawp_presence/_native.abi3.so"


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
    assert extension_name(the_wheel()) in names
    # The licence travels with the package (PEP 639: the dist-info's licenses/ folder).
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), "no LICENSE in the wheel"


def test_the_wheel_is_one_abi3_wheel_for_cpython_3_10_and_newer():
    wheel = the_wheel()
    assert "-cp310-abi3-" in wheel.name, wheel.name
    tags = wheel_file_tags(wheel)
    assert tags and all(tag.startswith("cp310-abi3-") for tag in tags), tags


# The first bytes of an extension, by the platform its wheel is tagged for: a wheel whose tag and
# binary disagree would install where it cannot load.
MAGIC = {
    "manylinux": (b"\x7fELF",),
    "musllinux": (b"\x7fELF",),
    "linux": (b"\x7fELF",),
    "macosx": (b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"),  # Mach-O 64-bit, or universal
    "win": (b"MZ",),
}


def test_the_extension_is_the_binary_its_tag_says_and_stripped_of_its_symbol_table():
    wheel = the_wheel()
    with zipfile.ZipFile(wheel) as archive:
        extension = archive.read(extension_name(wheel))
    assert len(extension) < 8 * 1024 * 1024, len(extension)
    platform = platform_tags(wheel)[0].split("_")[0].rstrip("0123456789")
    assert extension.startswith(MAGIC[platform]), (platform, extension[:4])
    if platform == "macosx" or platform == "win":
        pytest.skip(f"the symbol table check reads ELF; this is a {platform} wheel (stripped by the same profile)")
    # The section-name table lists ".symtab" only while the symbol table is there.
    assert b".symtab" not in extension


# The machine an ELF file is for (e_machine, at byte 18), by the architecture in a Linux tag.
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}


def test_a_release_linux_wheel_is_manylinux2014_and_asks_no_newer_glibc():
    wheel = the_wheel()
    tags = platform_tags(wheel)
    if not any(tag.startswith(("manylinux", "linux_")) for tag in tags):
        pytest.skip(f"a {tags[0]} wheel: manylinux is for glibc Linux wheels")
    expected = os.environ.get("WAWP_PRESENCE_WHEEL_PLATFORM")
    if not expected:
        expected = next((tag for tag in tags if tag.startswith("manylinux_2_17_")), "")
        if not expected:
            pytest.skip(
                f"a wheel built by hand ({'.'.join(tags)}), not the release kind: scripts/test.sh builds the "
                "manylinux2014 one and names its tag in WAWP_PRESENCE_WHEEL_PLATFORM"
            )
    assert expected.startswith("manylinux_2_17_"), expected
    arch = expected.removeprefix("manylinux_2_17_")
    # pip reads the name; both spellings of the tag are there, as maturin writes them.
    assert expected in tags and f"manylinux2014_{arch}" in tags, wheel.name
    assert f"cp310-abi3-{expected}" in wheel_file_tags(wheel)
    with zipfile.ZipFile(wheel) as archive:
        extension = archive.read(extension_name(wheel))
    assert int.from_bytes(extension[18:20], "little") == ELF_MACHINES[arch]
    # What the tag promises: the extension asks for no glibc symbol newer than 2.17 (the versions
    # it needs are named in its dynamic string table).
    minors = {int(match.group(1)) for match in re.finditer(rb"GLIBC_2\.(\d+)", extension)}
    assert minors and max(minors) <= 17, f"needs GLIBC_2.{max(minors, default=0)}"


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
