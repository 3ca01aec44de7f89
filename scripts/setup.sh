#!/usr/bin/env bash
# Set up the tool virtualenv and a collections path that points at this checkout.
# Idempotent and quiet when already done. Prints the environment to source, e.g.:
#   eval "$(scripts/setup.sh)"
# Respects FLEETOTA_WORK (default ~/.cache/fleetota): where the venv and caches live.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${FLEETOTA_WORK:-$HOME/.cache/fleetota}"
venv="$work/venv"
requirements="$repo/tests/requirements-ci.txt"
mkdir -p "$work"

# ansible-core 2.21 needs Python >= 3.12 on the controller. The python3.12 names on PATH may be
# pyenv shims that fail unless selected, so resolve the real interpreter.
find_python() {
    local candidate
    if [ -n "${FLEETOTA_PYTHON:-}" ]; then echo "$FLEETOTA_PYTHON"; return; fi
    if command -v pyenv >/dev/null 2>&1; then
        local root version
        root="$(pyenv root)"
        for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9](\.[0-9]+)?$' | sort -V); do
            candidate="$root/versions/$version/bin/python3"
            if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo "$candidate"; return; fi
        done
    fi
    for candidate in python3.13 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$candidate"; return
        fi
    done
    echo "no Python >= 3.12 found: install one (pyenv install 3.12) or set FLEETOTA_PYTHON" >&2
    exit 1
}

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python="$(find_python)"
    echo "setting up $venv with $("$python" --version 2>&1)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -U pip >&2 2>/dev/null || true
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    "$venv/bin/pip" check >&2
    echo "$want" > "$stamp"
fi

# ansible and ansible-playbook find the collection through a link to the checkout (ansible-test
# needs a real copy; scripts/test.sh makes one).
collections="$work/collections"
mkdir -p "$collections/ansible_collections/fleetota"
ln -sfn "$repo" "$collections/ansible_collections/fleetota/cloud"

cat <<ENV
export PATH="$venv/bin:\$PATH"
export ANSIBLE_COLLECTIONS_PATH="$collections"
export FLEETOTA_WORK="$work"
ENV
