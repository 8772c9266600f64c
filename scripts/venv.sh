# Sourced by the scripts that install pinned Python tools (lint-infra.sh, deny.sh):
#   venv SCRIPT NAME PACKAGE==VERSION
# creates target/venvs/NAME with exactly that pin, once (a stamp file records it), and
# says so as SCRIPT; returns non-zero, having said why, if it could not.
# PYTHON may name the interpreter (python3 by default).
venv() {
    local script="$1" dir="target/venvs/$2" requirement="$3"
    local stamp="$dir/.installed"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$requirement" ]]; then
        return 0
    fi
    echo "$script: installing $requirement into $dir" >&2
    rm -rf "$dir"
    "${PYTHON:-python3}" -m venv "$dir" || {
        echo "$script: could not create the virtualenv $dir" >&2
        return 1
    }
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/pip" install --quiet "$requirement" || {
        echo "$script: could not install $requirement" >&2
        return 1
    }
    echo "$requirement" > "$stamp"
}
