#!/usr/bin/env bash
# Compiles the extension, bindings and fake server included, for the platforms these Linux machines
# cannot run, with clippy's lints: Windows (x86_64-pc-windows-gnu) and macOS on Apple silicon
# (aarch64-apple-darwin), or the targets given as arguments. What each needs is installed when
# missing: the target's standard library (rustup), and a C compiler for ring's build script,
# mingw-w64's gcc for Windows (apt-get, by scripts/apt_install.sh) and zig for macOS (PyPI's
# ziglang, in the tools environment). No target Python is needed: pyo3 builds its abi3-py310 bindings without one.
# A target that does not compile fails the script; one whose toolchain cannot be had is named on
# one line, "NOT CHECKED", with the reason, and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
tools=${VENV:-.venv}
# Pinned with the other tools, in scripts/tools.txt: a new zig arrives by a change there.
zig_pin=$(grep -E '^ziglang==' scripts/tools.txt)
mkdir -p target/cross
[ "$#" -gt 0 ] || set -- x86_64-pc-windows-gnu aarch64-apple-darwin

not_checked() { echo "!! $1 NOT CHECKED: $2" >&2; }

# Sets up everything the target needs but the crate; says why not and returns 1 when it cannot.
# Output of the installers goes to target/cross/<target>.log, shown only when they fail.
toolchain() {
    local target=$1 log=target/cross/$1.log
    : >"$log"
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        if ! command -v rustup >/dev/null; then
            not_checked "$target" "no rustup to add its standard library"
            return 1
        elif ! rustup target add "$target" >>"$log" 2>&1; then
            tail -n 3 "$log" >&2
            not_checked "$target" "rustup target add failed (offline?)"
            return 1
        fi
    fi
    case $target in
    *-windows-gnu)
        local arch=${target%%-*}
        local gcc=$arch-w64-mingw32-gcc package=gcc-mingw-w64-${arch//_/-}
        if ! command -v "$gcc" >/dev/null; then
            if ! bash scripts/apt_install.sh "$package" 2>>"$log" || ! command -v "$gcc" >/dev/null; then
                not_checked "$target" "no $gcc: $(tail -n 1 "$log")"
                return 1
            fi
        fi
        ;;
    *-apple-darwin)
        [ -x "$tools/bin/python" ] || "$python" -m venv "$tools"
        if ! "$tools/bin/python" -m pip install -q --disable-pip-version-check "$zig_pin" >>"$log" 2>&1; then
            cat "$log" >&2
            not_checked "$target" "pip could not install $zig_pin (offline?)"
            return 1
        fi
        # zig as the C compiler and archiver, through wrappers, since cc-rs takes one program
        # each. cc-rs adds clang's --target=arm64-apple-macosx, a name zig does not know, so the
        # wrapper drops it and gives zig its own.
        local zig_python cc=target/cross/$target-cc ar=target/cross/$target-ar
        zig_python=$(cd "$tools/bin" && pwd)/python
        cat >"$cc" <<EOF
#!/bin/sh
for arg; do shift; case \$arg in --target=*) ;; *) set -- "\$@" "\$arg" ;; esac; done
exec "$zig_python" -m ziglang cc -target ${target%%-*}-macos "\$@"
EOF
        printf '#!/bin/sh\nexec "%s" -m ziglang ar "$@"\n' "$zig_python" >"$ar"
        chmod +x "$cc" "$ar"
        local var=${target//-/_}
        export "CC_$var=$PWD/$cc" "AR_$var=$PWD/$ar"
        ;;
    esac
}

checked=() status=0
for target in "$@"; do
    toolchain "$target" || continue
    # The library only, as the wheel builds it: the tests' dev-dependencies are Linux's business.
    started=$SECONDS
    if cargo clippy --quiet --locked --target "$target" --features python,fake -- -D warnings; then
        checked+=("$target ($((SECONDS - started)) s)")
    else
        echo "!! $target: does not compile (above)" >&2
        status=1
    fi
done
[ "${#checked[@]}" -eq 0 ] || echo "clippy passes for ${checked[*]}"
exit "$status"
