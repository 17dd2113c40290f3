"""The sdist, what pip builds from where no wheel fits: it holds what the build needs (the crate,
its lock file, the Python package, the metadata and licence) and nothing of a working copy's
build output or environments. scripts/test.sh builds it with `maturin sdist`, builds the wheel
the suite runs against from it, and names it in WAWP_PRESENCE_SDIST; without that, the newest
sdist in target/sdist is read."""

from __future__ import annotations

import subprocess
import tarfile
from email.parser import Parser
from pathlib import Path

from presence_helpers import built_artifact

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "python" / "wawp_presence"


def the_sdist() -> Path:
    return built_artifact("WAWP_PRESENCE_SDIST", "target/sdist", "*.tar.gz", "maturin sdist --out target/sdist")


def members() -> dict[str, tarfile.TarInfo]:
    """The sdist's files by their path under its top folder (`wawp_presence-<version>/`)."""
    with tarfile.open(the_sdist()) as archive:
        infos = archive.getmembers()
    tops = {info.name.split("/", 1)[0] for info in infos}
    assert len(tops) == 1, f"one top folder expected: {tops}"
    return {info.name.split("/", 1)[1]: info for info in infos if "/" in info.name}


def tracked(folder: str) -> set[str]:
    """What git tracks under a folder of the checkout, when this is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {name for name in out.split("\0") if name}


def test_the_sdist_holds_what_the_build_needs():
    names = set(members())
    for needed in ("pyproject.toml", "Cargo.toml", "Cargo.lock", "README.md", "LICENSE", "src/lib.rs", "PKG-INFO"):
        assert needed in names, f"not in the sdist: {needed}"
    # Every file of the Rust crate and of the Python package (stubs and py.typed included).
    for source in ("src", "python/wawp_presence"):
        expected = tracked(source) or {
            path.relative_to(ROOT).as_posix()
            for path in (ROOT / source).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert expected, f"nothing found under {source}"
        missing = sorted(expected - names)
        assert not missing, f"not in the sdist: {missing}"


def test_the_sdist_holds_nothing_of_build_output_or_environments():
    names = members()
    unwanted = sorted(
        name
        for name in names
        if name.split("/", 1)[0] in {"target", ".venv", "dist", ".git", ".pytest_cache", ".hypothesis"}
        or "__pycache__" in name.split("/")
        or name.endswith((".so", ".pyd", ".dylib", ".whl", ".pyc"))
    )
    assert not unwanted, f"in the sdist and should not be: {unwanted[:10]}"
    size = sum(info.size for info in names.values())
    assert size < 4 * 1024 * 1024, f"{size} bytes unpacked"


def test_the_sdist_metadata_is_what_pypi_shows():
    with tarfile.open(the_sdist()) as archive:
        info = next(m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        extracted = archive.extractfile(info)
        assert extracted is not None
        metadata = Parser().parsestr(extracted.read().decode())
    assert metadata["Name"] == "wawp-presence"
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "MIT"
    assert the_sdist().name == f"wawp_presence-{metadata['Version']}.tar.gz"
    assert "Programming Language :: Rust" in metadata.get_all("Classifier", [])
    # The README is the long description PyPI renders.
    assert metadata["Description-Content-Type"].startswith("text/markdown")
    assert "wawp-presence" in (metadata.get_payload() or "")
