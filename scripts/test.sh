#!/usr/bin/env bash
# Runs every gate and every test: formatting, layout and lints (rustfmt, ruff, clippy), the Rust
# core and fake server with `cargo test`, clippy for Windows and macOS (scripts/cross_check.sh),
# then the release wheel, built once and installed into fresh virtual environments the way users
# install it, its types (mypy --strict, stubtest), and pytest against that installed wheel, over
# real HTTP on 127.0.0.1: with the default Python, then with every other CPython from 3.10 found
# here. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
# Two kinds of environment: the tools (maturin, ruff; kept between runs), and the ones the tests
# run in, made afresh each run with the test extra and then the built wheel, as a user installs it.
tools=${VENV:-.venv}
testenv=target/test-venv
[ -x "$tools/bin/python" ] || "$python" -m venv "$tools"
# The linters are pinned, so a new release's new rules arrive by a change here, not by breaking CI.
"$tools/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.8,<2" "ruff==0.17.6" \
    "tomli>=2; python_version < '3.11'"
# The test tools are the `test` extra of pyproject.toml (one list), one requirement a line (a
# requirement may hold spaces: "uvloop>=0.19; sys_platform != 'win32'").
mapfile -t test_deps < <("$tools/bin/python" -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))
')
[ "${#test_deps[@]}" -gt 0 ] || { echo "no test extra in pyproject.toml" >&2; exit 1; }
mkdir -p target

# The other interpreters: one per minor version (its newest patch) from 3.10, the oldest supported,
# to the newest found on PATH or under pyenv (whose shims run only the selected versions, so its
# versions are asked directly). The abi3 wheel is meant for all of them; free-threaded builds
# cannot load it.
default_version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
probe='import ensurepip, sys, sysconfig, venv
if sys.implementation.name == "cpython" and sys.version_info >= (3, 10) and not sysconfig.get_config_var("Py_GIL_DISABLED"):
    print("%d.%d.%d" % sys.version_info[:3])'
candidates=()
while read -r name; do candidates+=("$name"); done < <(compgen -c python3. | grep -E '^python3\.[0-9]+$' | sort -u)
if command -v pyenv >/dev/null; then
    for exe in "$(pyenv root)"/versions/*/bin/python3.*; do
        [[ $exe =~ /python3\.[0-9]+$ ]] && candidates+=("$exe")
    done
fi
other_versions=() other_pythons=()
while read -r version exe; do
    other_versions+=("$version") other_pythons+=("$exe")
done < <(for exe in "${candidates[@]}"; do
    version=$("$exe" -c "$probe" 2>/dev/null) && [ -n "$version" ] && echo "$version $exe"
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
    nice -n 10 "$2" -m venv "$1" || return 1
    nice -n 10 "$1/bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: \
        "${test_deps[@]}" && return 0
    for dep in "${test_deps[@]}"; do
        nice -n 10 "$1/bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: "$dep" ||
            left_out+=("$dep")
    done
    [ "${#left_out[@]}" -eq 0 ] || echo "${left_out[*]}" >"$1.left-out"
}
rm -rf "$testenv" target/test-venv-*.ready target/test-venv-*.left-out
(nice -n 10 "$python" -m venv "$testenv" &&
    nice -n 10 "$testenv/bin/python" -m pip install -q --disable-pip-version-check "${test_deps[@]}" "mypy==2.4.1" &&
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
    for child in $(pgrep -P "$1"); do stop "$child"; done
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
"$tools/bin/ruff" format --check .
"$tools/bin/ruff" check .
"$tools/bin/python" scripts/check_layout.py

step "clippy"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "cargo test"
# The library's tests only: the crate has no doctests, and building for them would compile the
# crate a second time and link the cdylib. With the bindings: the asyncio bridge's own tests run
# on an interpreter embedded in the test binary.
cargo test --locked --features python,fake --lib

# Clippy for Windows and macOS, in the background from here: it shares the build scripts and
# macros just built in target/debug (whose lock cargo test has released; the wheel builds in
# target/release). Niced below the environments, which are needed sooner, it takes what CPU the
# release build and the test runs leave.
step "clippy for Windows and macOS begins, in the background"
cross_started=$SECONDS
nice -n 19 bash scripts/cross_check.sh >target/cross-check.log 2>&1 &
cross_job=$!

# One wheel, built once: the abi3 release wheel a user would install (stripped, see Cargo.toml).
step "building the wheel"
rm -rf target/wheels
"$tools/bin/maturin" build --release --locked --quiet --out target/wheels
wheel=$(ls target/wheels/*.whl)

step "installing it into a fresh environment"
if ! wait "$testenv_job"; then
    cat target/test-venv.log >&2
    exit 1
fi
"$testenv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"

step "mypy and stubtest"
"$testenv/bin/python" -m mypy --strict
"$testenv/bin/python" -m mypy.stubtest wawp_presence --mypy-config-file pyproject.toml --allowlist stubtest-allowlist.txt

# Against the installed wheel (the source tree is not on the path: the package lives in python/).
# Four workers on two cores: most of the suite's time is waiting on timers, servers and child
# processes, not the CPU. Status 5, no tests collected, is a failure too.
run_pytest() { # environment, workers; the rest go to pytest
    local env=$1 workers=$2 status=0
    shift 2
    WAWP_PRESENCE_WHEEL="$wheel" "$env/bin/python" -m pytest -p no:cacheprovider -n "$workers" "$@" || status=$?
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
        "$env/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"
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

step "clippy for Windows and macOS (begun at ${cross_started}s)"
wait "$cross_job" || failed+=("clippy for Windows or macOS")
cat target/cross-check.log
if [ "${#failed[@]}" -gt 0 ]; then
    printf -v failures '%s; ' "${failed[@]}"
    echo "== FAILED (at ${SECONDS}s): ${failures%; }" >&2
    exit 1
fi
echo "== done (at ${SECONDS}s)"
