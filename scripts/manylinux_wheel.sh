#!/usr/bin/env bash
# Builds the release wheel for glibc Linux, manylinux2014 (pip installs it on any glibc from 2.17
# on: CentOS 7, Ubuntu 14.04, Debian 8 and everything newer), for x86_64 or aarch64, from the tree
# or from an sdist, and checks its tag with auditwheel. scripts/test.sh builds the x86_64 wheel
# the suite runs against and the aarch64 one with it; the release workflow builds the wheels it
# publishes with it, each on a runner of its architecture.
#
#   bash scripts/manylinux_wheel.sh TARGET OUT [SDIST]
#   bash scripts/manylinux_wheel.sh TARGET --prepare
#
# TARGET is x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu; the wheel goes into the folder
# OUT, emptied first. --prepare installs what the build needs (the tools, rustup's target, the
# unwinder below) and builds nothing, so that a caller can do that in the foreground and the
# build in the background. With SDIST, the wheel is built from that sdist by pip (PEP 517, the way
# `pip install` builds it), in the same target directory with the same options, so that cargo
# reuses what a build from the tree left and compiles only what differs; a file missing from the
# sdist fails the build.
#
# How: `maturin build --release --zig --compatibility manylinux2014`. zig (PyPI's ziglang) links
# the extension against glibc 2.17's symbols whatever glibc this machine has. One thing is done
# differently from maturin's zig wrapper, which links zig's own static unwinder (LLVM libunwind)
# where rustc asks for libgcc_s: glibc's pthread_exit unwinds a thread with libgcc_s (loaded on
# demand), and CPython up to 3.13 ends a thread so when it wants the GIL while the interpreter
# shuts down; the extension's personality routine then reads libgcc_s's context with libunwind's
# accessors, and the process dies with SIGSEGV (every run of
# tests/test_sharing.py::test_the_process_exits_cleanly_with_threads_waiting_in_calls). So the
# extension is linked against the shared libgcc_s.so.1, as gcc links it and as manylinux2014
# allows (its symbol versions, GCC_3.0 to GCC_4.2.0, are within the policy's): this machine's own
# for its architecture, or for the other one Debian's libgcc-s1-<arch>-cross package's, installed
# when missing (scripts/apt_install.sh). Its SONAME is what the wheel then names; which copy was
# linked against does not matter.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -ge 2 ] || { echo "usage: bash scripts/manylinux_wheel.sh TARGET OUT|--prepare [SDIST]" >&2; exit 2; }
target=$1 out=$2 sdist=${3:-}
python=${PYTHON:-python3}
tools=${VENV:-.venv}

case $target in
x86_64-unknown-linux-gnu) arch=x86_64 deb_arch=amd64 elf_machine=62 ;;
aarch64-unknown-linux-gnu) arch=aarch64 deb_arch=arm64 elf_machine=183 ;;
*) echo "manylinux_wheel.sh: $target is not a glibc Linux target it builds for" >&2; exit 2 ;;
esac
platform=manylinux_2_17_$arch

[ -x "$tools/bin/python" ] || "$python" -m venv "$tools"
for tool in maturin auditwheel; do
    [ -x "$tools/bin/$tool" ] || "$tools/bin/python" -m pip install -q --disable-pip-version-check -r scripts/tools.txt
done
# maturin runs zig as `python -m ziglang` with the first python on PATH: the tools' own.
tools_bin=$(cd "$tools/bin" && pwd)
export PATH="$tools_bin:$PATH"
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
fi

# The shared libgcc_s.so.1 for the target's architecture, by the machine its ELF header names.
elf_machine_of() { od -An -t u2 -j 18 -N 2 "$1" 2>/dev/null | tr -d ' '; }
find_libgcc_s() {
    local candidate
    for candidate in "/lib/$arch-linux-gnu/libgcc_s.so.1" "/usr/lib/$arch-linux-gnu/libgcc_s.so.1" \
        "/usr/$arch-linux-gnu/lib/libgcc_s.so.1" /lib64/libgcc_s.so.1 /usr/lib64/libgcc_s.so.1; do
        if [ -f "$candidate" ] && [ "$(elf_machine_of "$candidate")" = "$elf_machine" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
if ! libgcc_s=$(find_libgcc_s); then
    package=libgcc-s1-$deb_arch-cross
    if ! why=$(bash scripts/apt_install.sh "$package" 2>&1); then
        echo "manylinux_wheel.sh: no libgcc_s.so.1 for $arch here: ${why##*$'\n'}" >&2
        exit 1
    fi
    libgcc_s=$(find_libgcc_s) || { echo "manylinux_wheel.sh: $package brought no libgcc_s.so.1" >&2; exit 1; }
fi
# Under a name of its own, so that maturin's wrapper, which turns -lgcc_s into zig's unwinder,
# leaves it alone.
unwinder=$PWD/target/unwinder/$arch
mkdir -p "$unwinder"
ln -sf "$libgcc_s" "$unwinder/libgcc_s_shared.so"
[ "$out" != --prepare ] || exit 0

options=(--locked --zig --compatibility manylinux2014 --target "$target" --
    -L "native=$unwinder" -l dylib=gcc_s_shared)
rm -rf "$out"
mkdir -p "$out"
if [ -z "$sdist" ]; then
    maturin build --release --quiet --out "$out" "${options[@]}"
else
    # pip's own build of an sdist, with maturin from the tools environment (no isolated build
    # environment: maturin's zig wrappers are named after the maturin that runs them, and a new one
    # would make cargo rebuild everything). maturin leaves its own copy of the wheel in --out
    # (by default the target directory's wheels/, where the x86_64 wheel goes), pip its copy in OUT.
    scratch=$PWD/target/pep517/$arch
    rm -rf "$scratch"
    CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} MATURIN_PEP517_ARGS="--out $scratch ${options[*]}" \
        "$tools_bin/python" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
        --wheel-dir "$out" "$sdist"
fi
wheel=$(ls "$out"/*.whl)

# auditwheel reads the extension's symbol versions and libraries: it must agree with the tag.
name=$(basename "$wheel")
said=$(auditwheel show "$wheel" | tr '\n' ' ' |
    sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
if [ "$said" != "$platform" ]; then
    echo "!! auditwheel: $name is consistent with ${said:-no platform tag}, not $platform" >&2
    exit 1
elif [[ $name != *".$platform."* && $name != *"-$platform."* ]]; then
    echo "!! $name is not tagged $platform" >&2
    exit 1
fi
echo "auditwheel agrees: $name is $platform"
