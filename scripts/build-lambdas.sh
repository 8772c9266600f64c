#!/usr/bin/env bash
# Builds one Lambda deployment package per function crate (functions/*) with cargo-lambda, for arm64 (Graviton, what
# infra/template.yaml deploys): target/lambda/<name>/bootstrap.zip, then prints their
# sizes. This is a release build (lto = "fat", codegen-units = 1: slow on small machines).
# CI does not run it: `sam build` or this script is a deploy-time step.
#
#   scripts/build-lambdas.sh                   arm64 (aarch64-unknown-linux-gnu)
#   scripts/build-lambdas.sh --x86-64          x86_64 instead, labelled as such everywhere
#   scripts/build-lambdas.sh --fallback-x86-64 arm64, or x86_64 when the arm64 standard
#                                              library cannot be installed
#
# Without a fallback flag the script stops (exit 3) when `rustup target add
# aarch64-unknown-linux-gnu` fails: an x86_64 bootstrap in a function declared
# `Architectures: [arm64]` does not start (exec format error), so a silent fallback would
# produce zips that look right and fail on deploy.
#
# cargo-lambda and zig (the cross linker) come from PyPI into target/venvs/cargo-lambda,
# pinned, installed once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.14.1
VENV=target/venvs/cargo-lambda
LAMBDA_DIR=target/lambda
# Every crate under functions/ is a function: counted from the tree, never written out.
mapfile -t FUNCTIONS < <(find functions -mindepth 2 -maxdepth 2 -name Cargo.toml -printf '%h\n' | xargs -n1 basename | sort)
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "build-lambdas: $*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}
banner() {
    echo "build-lambdas: ################################################################" >&2
    for line in "$@"; do echo "build-lambdas: ## $line" >&2; done
    echo "build-lambdas: ################################################################" >&2
}

arch=arm64
fallback=false
case "${1:-}" in
    "") ;;
    --x86-64) arch=x86_64 ;;
    --fallback-x86-64) fallback=true ;;
    -h | --help)
        sed -n '2,18p' "$0"
        exit 0
        ;;
    *) fail "unknown option $1 (see --help)" ;;
esac

# --- tools ---------------------------------------------------------------------------
requirements="cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION"
stamp="$VENV/.installed"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$requirements" ]]; then
    say "installing $requirements into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || fail "could not create the virtualenv $VENV"
    # shellcheck disable=SC2086 # two requirements, split on purpose
    "$VENV/bin/pip" install --quiet $requirements || fail "could not install $requirements from PyPI"
    echo "$requirements" > "$stamp"
fi
# cargo-lambda finds zig as `python3 -m ziglang` through the virtualenv's python3.
export PATH="$PWD/$VENV/bin:$PATH"
cargo lambda --version >/dev/null || fail "cargo lambda does not run"

# --- target --------------------------------------------------------------------------
if [[ "$arch" == arm64 ]]; then
    if ! rustup_output=$(rustup target add aarch64-unknown-linux-gnu 2>&1); then
        echo "$rustup_output" >&2
        if [[ "$fallback" == true ]]; then
            arch=x86_64
            banner "rustup could not install the aarch64-unknown-linux-gnu standard library" \
                "(static.rust-lang.org unreachable?). FALLING BACK TO x86_64 as asked:" \
                "these zips DO NOT RUN in the arm64 functions of infra/template.yaml." \
                "Use them only to measure, or deploy with Architectures: [x86_64]."
        else
            say "rustup could not install the aarch64-unknown-linux-gnu standard library"
            say "(static.rust-lang.org unreachable?); arm64 zips cannot be built here."
            say "Re-run with --fallback-x86-64 to build x86_64 zips instead (not deployable"
            say "as arm64), or on a machine that reaches static.rust-lang.org."
            exit 3
        fi
    fi
fi
if [[ "$arch" == x86_64 ]]; then
    arch_flag=--x86-64
    triple=x86_64-unknown-linux-gnu
    [[ "$fallback" == true ]] || banner "building x86_64 zips: not what infra/template.yaml deploys (arm64)"
else
    arch_flag=--arm64
    triple=aarch64-unknown-linux-gnu
fi

# --- build ---------------------------------------------------------------------------
bins=()
for name in "${FUNCTIONS[@]}"; do bins+=(--bin "$name"); done
say "cargo lambda build --release $arch_flag --output-format zip ${bins[*]}"
started=$SECONDS
cargo lambda build --release "$arch_flag" --output-format zip --lambda-dir "$LAMBDA_DIR" "${bins[@]}" ||
    fail "cargo lambda build ($triple)"
elapsed=$((SECONDS - started))

# --- report --------------------------------------------------------------------------
printf '\n%-20s %-8s %12s %12s  %s\n' function arch "zip bytes" "bootstrap" "path"
total=0
for name in "${FUNCTIONS[@]}"; do
    zip="$LAMBDA_DIR/$name/bootstrap.zip"
    [[ -f "$zip" ]] || fail "$zip was not produced"
    zipped=$(stat -c %s "$zip")
    unzipped=$("$PYTHON" -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").file_size)' "$zip")
    total=$((total + zipped))
    printf '%-20s %-8s %12d %12d  %s\n' "$name" "$arch" "$zipped" "$unzipped" "$zip"
done
printf '%-20s %-8s %12d\n' total "$arch" "$total"
say "built for $triple in ${elapsed}s"
if [[ "$arch" != arm64 ]]; then
    banner "these are x86_64 zips, NOT the arm64 packages infra/template.yaml deploys"
fi
