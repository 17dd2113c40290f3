#!/usr/bin/env bash
# Runs every gate and every test: formatting, layout and lints (rustfmt, ruff, clippy), the Rust
# core and fake server with `cargo test`, then the sdist and, built from it the way pip builds
# one, the release wheel, installed into fresh virtual environments the way users install it, its
# types (mypy --strict, stubtest), and pytest against that installed wheel, over real HTTP on
# 127.0.0.1: with the default Python, then with every other CPython from 3.10 found here. Extra
# arguments go to pytest.
#
# On x86-64 Linux, where CI runs it (.ci/run), the wheel is the one PyPI gets for Linux:
# manylinux2014 (glibc 2.17 and newer), built with zig, auditwheel agreeing with its tag. Beside
# the tests, in the background, clippy checks the crate for Windows and macOS
# (scripts/cross_check.sh) and the aarch64 Linux wheel is built and its tag checked (it cannot run
# here); actionlint and shellcheck read the workflows and scripts. On macOS and Windows (Git
# Bash), as the hosted workflow runs it (.github/workflows/ci.yml), the wheel is that platform's
# own, and what only x86-64 Linux does (manylinux wheels, clippy for other targets, the workflow
# and script lint) is left out.
set -euo pipefail
if [ "${BASH_VERSINFO[0]}" -lt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
    echo "scripts/test.sh needs bash 4.4 or newer, not $BASH_VERSION (on macOS: brew install bash)" >&2
    exit 1
fi
cd "$(dirname "$0")/.."

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=macos ;;
MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) os=$(uname -s) ;;
esac
release_linux=""
[ "$os-$(uname -m)" != linux-x86_64 ] || release_linux=1
# Where a virtual environment keeps its programs.
bin=bin
[ "$os" != windows ] || bin=Scripts
has_python() { [ -e "$1/$bin/python" ] || [ -e "$1/$bin/python.exe" ]; }
# What a Python prints, without the carriage returns Windows ends its lines with.
lines_of() { "$@" | tr -d '\r'; }
# A path for native programs: Git Bash's /d/a/... means nothing to cargo on Windows.
native_path() { if [ "$os" = windows ]; then cygpath -m "$1"; else echo "$1"; fi; }
# Background work runs niced below what the run waits for, where nice exists.
low=() lowest=()
if command -v nice >/dev/null; then low=(nice -n 10) lowest=(nice -n 19); fi

python=${PYTHON:-python3}
# Two kinds of environment: the tools (scripts/tools.txt; kept between runs), and the ones the tests
# run in, made afresh each run with the test extra and then the built wheel, as a user installs it.
tools=${VENV:-.venv}
testenv=target/test-venv
has_python "$tools" || "$python" -m venv "$tools"
# The build and lint tools, pinned in scripts/tools.txt.
"$tools/$bin/python" -m pip install -q --disable-pip-version-check -r scripts/tools.txt
# The test tools are the `test` extra of pyproject.toml (one list), one requirement a line (a
# requirement may hold spaces: "uvloop>=0.19; sys_platform != 'win32'").
mapfile -t test_deps < <(lines_of "$tools/$bin/python" -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))
')
[ "${#test_deps[@]}" -gt 0 ] || { echo "no test extra in pyproject.toml" >&2; exit 1; }
mkdir -p target
# What the aarch64 wheel needs (rustup's target, an aarch64 libgcc_s to link against: see
# scripts/manylinux_wheel.sh), set up now rather than while scripts/cross_check.sh sets up its own
# targets in the background (neither rustup nor apt-get expects two of itself at once). Without it
# the aarch64 wheel is not built, and the run says so, as cross_check.sh does for its targets.
aarch64=aarch64-unknown-linux-gnu aarch64_missing=""
if [ -n "$release_linux" ] && ! bash scripts/manylinux_wheel.sh "$aarch64" --prepare >target/wheel-aarch64.log 2>&1; then
    aarch64_missing=$(tail -n 1 target/wheel-aarch64.log)
fi

# The other interpreters: one per minor version (its newest patch) from 3.10, the oldest supported,
# to the newest found on PATH or under pyenv (whose shims run only the selected versions, so its
# versions are asked directly). The abi3 wheel is meant for all of them; free-threaded builds
# cannot load it. ONLY_DEFAULT_PYTHON=1 looks for none: the hosted workflow runs one Python a job.
default_version=$(lines_of "$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
probe='import ensurepip, sys, sysconfig, venv
if sys.implementation.name == "cpython" and sys.version_info >= (3, 10) and not sysconfig.get_config_var("Py_GIL_DISABLED"):
    print("%d.%d.%d" % sys.version_info[:3])'
candidates=()
if [ -z "${ONLY_DEFAULT_PYTHON:-}" ]; then
    while read -r name; do candidates+=("$name"); done < <(compgen -c python3. | grep -E '^python3\.[0-9]+$' | sort -u)
fi
if [ -z "${ONLY_DEFAULT_PYTHON:-}" ] && command -v pyenv >/dev/null; then
    for exe in "$(pyenv root)"/versions/*/bin/python3.*; do
        [[ $exe =~ /python3\.[0-9]+$ ]] && candidates+=("$exe")
    done
fi
other_versions=() other_pythons=()
while read -r version exe; do
    other_versions+=("$version") other_pythons+=("$exe")
done < <(for exe in "${candidates[@]}"; do
    version=$(lines_of "$exe" -c "$probe" 2>/dev/null) && [ -n "$version" ] && echo "$version $exe"
done | sort -V -k1,1 | awk -v skip="${default_version%.*}" '
    { split($1, v, "."); minor = v[1] "." v[2] }
    minor != skip { newest[minor] = $0 }
    END { for (m in newest) print newest[m] }' | sort -V -k1,1)
echo "Python $default_version ($python) is the default; the others found and tested:" \
    "${other_versions[*]:-none (no other CPython 3.10+ on PATH or under pyenv)}"

# The test environments are made while cargo compiles, niced so that cargo keeps the CPU: with a
# warm pip cache an install is more unpacking and byte-compiling (about 23 s of CPU) than waiting on
# the network. The default one and the others are two jobs, the others one after the other so that
# a download is cached for the next. They take the test extra from wheels only (a source build for
# a Python that a library has no wheel for yet could outlast the run); what cannot be installed so
# is left out, named in <env>.left-out, and said.
other_env() { # directory, interpreter
    local dep left_out=()
    rm -rf "$1"
    "${low[@]}" "$2" -m venv "$1" || return 1
    "${low[@]}" "$1/$bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: \
        "${test_deps[@]}" && return 0
    for dep in "${test_deps[@]}"; do
        "${low[@]}" "$1/$bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: "$dep" ||
            left_out+=("$dep")
    done
    [ "${#left_out[@]}" -eq 0 ] || echo "${left_out[*]}" >"$1.left-out"
}
rm -rf "$testenv" target/test-venv-*.ready target/test-venv-*.left-out
("${low[@]}" "$python" -m venv "$testenv" &&
    "${low[@]}" "$testenv/$bin/python" -m pip install -q --disable-pip-version-check "${test_deps[@]}" "mypy==2.4.1" &&
    echo "ready at ${SECONDS}s") >target/test-venv.log 2>&1 &
testenv_job=$!
(for i in "${!other_versions[@]}"; do
    env=target/test-venv-${other_versions[i]%.*}
    other_env "$env" "${other_pythons[i]}" || exit 1
    echo "ready at ${SECONDS}s" >"$env.ready"
done) >target/test-venv-others.log 2>&1 &
others_job=$!
# A failed run ends its background jobs too (a cargo left running would hold the target's lock).
stop() {
    local child
    if command -v pgrep >/dev/null; then
        for child in $(pgrep -P "$1"); do stop "$child"; done
    fi
    kill "$1" 2>/dev/null || true
}
stop_all() {
    local job
    for job in $(jobs -p); do stop "$job"; done
}
trap stop_all EXIT

step() { echo "== $1 (at ${SECONDS}s)"; }

step "formatting and layout"
cargo fmt --check
"$tools/$bin/ruff" format --check .
"$tools/$bin/ruff" check .
"$tools/$bin/python" scripts/check_layout.py
if [ -n "$release_linux" ]; then
    # The hosted workflows cannot run here, so they are checked here: actionlint reads their
    # syntax, expressions, runner labels and action inputs, and the shell of their run: steps
    # with shellcheck (both from the tools environment); tests/test_workflows.py holds them to
    # this script and the README. shellcheck reads the scripts too, this one included.
    step "the workflows and scripts (actionlint, shellcheck)"
    PATH="$(cd "$tools/bin" && pwd):$PATH" "$tools/bin/actionlint" -no-color
    "$tools/bin/shellcheck" scripts/*.sh .ci/run
fi

step "clippy"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "cargo test"
# The library's tests only: the crate has no doctests, and building for them would compile the
# crate a second time and link the cdylib. With the bindings: the asyncio bridge's own tests run
# on an interpreter embedded in the test binary.
cargo test --locked --features python,fake --lib

if [ -n "$release_linux" ]; then
    # Clippy for Windows and macOS, in the background from here: it shares the build scripts and
    # macros just built in target/debug (whose lock cargo test has released; the wheels build in
    # target/<triple>/release). Niced below the environments, which are needed sooner, it takes
    # what CPU the release builds and the test runs leave.
    step "clippy for Windows and macOS begins, in the background"
    cross_started=$SECONDS
    "${lowest[@]}" bash scripts/cross_check.sh >target/cross-check.log 2>&1 &
    cross_job=$!
fi

# The sdist, as PyPI gets it: what a platform without a wheel builds from (maturin sdist takes
# what git tracks, so nothing of target/ or .venv). tests/test_sdist.py reads what it holds.
step "the sdist"
rm -rf target/sdist
"$tools/$bin/maturin" sdist --out target/sdist
sdist=$(ls target/sdist/*.tar.gz)

# One wheel, built once, from that sdist by pip (PEP 517, as `pip install` of the sdist builds it:
# a file the build needs and the sdist lacks fails here): the abi3 release wheel a user would
# install (stripped, see Cargo.toml). On x86-64 Linux it is the one PyPI gets, by
# scripts/manylinux_wheel.sh: manylinux2014, which pip installs on any glibc from 2.17 on,
# whatever glibc this machine has, auditwheel agreeing with its tag.
platform=""
if [ -n "$release_linux" ]; then
    step "building the wheel from the sdist (manylinux2014, x86_64)"
    bash scripts/manylinux_wheel.sh x86_64-unknown-linux-gnu target/wheels "$sdist"
    platform=manylinux_2_17_x86_64
else
    step "building the wheel from the sdist"
    rm -rf target/wheels
    # In this checkout's target directory, so that a second run rebuilds only what changed
    # (maturin's own copy of the wheel goes to target/pep517, pip's to target/wheels).
    CARGO_TARGET_DIR=$(native_path "$PWD/target") MATURIN_PEP517_ARGS="--locked --out $(native_path "$PWD/target/pep517")" \
        "$tools/$bin/python" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
        --wheel-dir target/wheels "$sdist"
fi
wheel=$(ls target/wheels/*.whl)

if [ -n "$release_linux" ]; then
    # The aarch64 wheel, in the background from here, niced like the clippy checks: built the same
    # way and its tag checked, but not run (this machine cannot); the hosted release workflow
    # tests it on an arm64 runner.
    step "the aarch64 wheel begins, in the background"
    aarch64_started=$SECONDS
    if [ -z "$aarch64_missing" ]; then
        "${lowest[@]}" bash scripts/manylinux_wheel.sh "$aarch64" target/wheels-aarch64 "$sdist" \
            >target/wheel-aarch64.log 2>&1 &
        aarch64_job=$!
    fi
fi

step "installing it into a fresh environment"
if ! wait "$testenv_job"; then
    cat target/test-venv.log >&2
    exit 1
fi
"$testenv/$bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"

step "mypy and stubtest"
"$testenv/$bin/python" -m mypy --strict
"$testenv/$bin/python" -m mypy.stubtest wawp_presence --mypy-config-file pyproject.toml --allowlist stubtest-allowlist.txt

# Against the installed wheel (the source tree is not on the path: the package lives in python/).
# Four workers on two cores: most of the suite's time is waiting on timers, servers and child
# processes, not the CPU. Status 5, no tests collected, is a failure too.
run_pytest() { # environment, workers; the rest go to pytest
    local env=$1 workers=$2 status=0
    shift 2
    WAWP_PRESENCE_WHEEL="$wheel" WAWP_PRESENCE_WHEEL_PLATFORM="$platform" WAWP_PRESENCE_SDIST="$sdist" \
        "$env/$bin/python" -m pytest -p no:cacheprovider -n "$workers" "$@" || status=$?
    [ "$status" -ne 5 ] || echo "pytest collected no tests: that is a failure" >&2
    return $((status == 5 ? 1 : status))
}
step "pytest, Python $default_version"
run_pytest "$testenv" 4 "$@" || {
    status=$?
    echo "pytest failed with Python $default_version; the other interpreters were not tried" >&2
    exit "$status"
}

# The other interpreters' runs go side by side, the suite mostly waiting: three at once take about
# as long as two one after the other. Two workers each, as each worker pays for its own collection
# (about 3 s of CPU): a quarter less CPU than four each, and no slower. Their output follows, run
# by run. A failure here is reported at the end, after the other platforms' verdict.
failed=()
if [ "${#other_versions[@]}" -gt 0 ]; then
    step "pytest, Python ${other_versions[*]}, side by side"
    runs=()
    for version in "${other_versions[@]}"; do
        env=target/test-venv-${version%.*}
        # Each run begins as soon as its environment is ready.
        until [ -e "$env.ready" ]; do
            if ! kill -0 "$others_job" 2>/dev/null && [ ! -e "$env.ready" ]; then
                cat target/test-venv-others.log >&2
                exit 1
            fi
            sleep 1
        done
        "$env/$bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"
        run_pytest "$env" 2 "$@" >"target/pytest-${version%.*}.log" 2>&1 &
        runs+=($!)
    done
    wait "$others_job"
    for i in "${!other_versions[@]}"; do
        version=${other_versions[i]} status=0
        wait "${runs[i]}" || status=$?
        step "pytest, Python $version: $([ "$status" -eq 0 ] && echo passed || echo FAILED)"
        if [ -s "target/test-venv-${version%.*}.left-out" ]; then
            echo "!! Python $version: the test extra without $(cat "target/test-venv-${version%.*}.left-out") (no wheel for it?)"
        fi
        cat "target/pytest-${version%.*}.log"
        [ "$status" -eq 0 ] || failed+=("pytest with Python $version")
    done
fi

if [ -n "$release_linux" ]; then
    step "clippy for Windows and macOS (begun at ${cross_started}s)"
    wait "$cross_job" || failed+=("clippy for Windows or macOS")
    cat target/cross-check.log
    if [ -n "$aarch64_missing" ]; then
        echo "!! the aarch64 wheel NOT BUILT: $aarch64_missing" >&2
    else
        status=0
        wait "$aarch64_job" || status=$?
        step "the aarch64 wheel (begun at ${aarch64_started}s): $([ "$status" -eq 0 ] && echo built || echo FAILED)"
        cat target/wheel-aarch64.log
        [ "$status" -eq 0 ] || failed+=("the aarch64 wheel")
    fi
fi
if [ "${#failed[@]}" -gt 0 ]; then
    printf -v failures '%s; ' "${failed[@]}"
    echo "== FAILED (at ${SECONDS}s): ${failures%; }" >&2
    exit 1
fi
echo "== done (at ${SECONDS}s)"
