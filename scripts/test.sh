#!/usr/bin/env bash
# Run every test of the collection: unit, sanity, integration against the emulator, lint,
# docs, build + install + run from the tarball, and the Galaxy importer.
#   scripts/test.sh              # everything
#   scripts/test.sh unit integration   # only some stages
# Stages: unit sanity units integration molecule lint docs docsite build importer ee benchmark
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$("$repo/scripts/setup.sh")"
work="$FLEETOTA_WORK"
stage_root="$work/stage"
stage="$stage_root/ansible_collections/fleetota/cloud"
pybin="$work/pybin"
results="$work/results"
mkdir -p "$results"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(unit sanity units integration molecule lint docs docsite build importer ee benchmark)

log() { printf '\n=== %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }

# ansible-test only works inside <root>/ansible_collections/<ns>/<name>, and a symlink does not
# count: copy the files git knows about (tracked, or new and not ignored).
make_stage() {
    rm -rf "$stage_root"
    mkdir -p "$stage"
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r cp --parents -P -t "$stage/" 2>/dev/null) || true
    (cd "$repo" && git ls-files -z --deleted | xargs -0 -I{} rm -f "$stage/{}")
    # ansible-test lists a collection's files with git when it sits in a work tree: give the
    # stage its own repository, or one enclosing it (a work dir inside the checkout, where
    # .gitignore hides everything) would make it see no files at all.
    (cd "$stage" && git init -q && git add -A)
}

# ansible-test runs several Pythons; pyenv's shims on PATH fail unless selected, so offer
# it links to the real interpreters instead, and keep the shims off PATH.
make_pybin() {
    mkdir -p "$pybin"
    if command -v pyenv >/dev/null 2>&1; then
        local root version short
        root="$(pyenv root)"
        for version in $(pyenv versions --bare | grep -E '^3\.[0-9]+\.[0-9]+$'); do
            short="${version%.*}"
            [ -x "$root/versions/$version/bin/python$short" ] && ln -sfn "$root/versions/$version/bin/python$short" "$pybin/python$short"
        done
    fi
    PATH="$pybin:$(echo "$PATH" | tr ':' '\n' | grep -v '/shims$' | paste -sd:)"
    export PATH
}

# ansible-test fetches a get-pip script from a host outside the package registries for every
# venv it makes; this stand-in uses ensurepip and PyPI instead.
install_get_pip_standin() {
    local pip_version cache
    pip_version="$(python - <<'PY'
import re, ansible_test, pathlib
text = (pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py').read_text()
print(re.search(r"pip='([0-9.]+)'", text).group(1))
PY
)"
    cache="$HOME/.ansible/test/cache"
    mkdir -p "$cache"
    cat > "$cache/get_pip_${pip_version//./_}.py" <<'PY'
# stand-in for get-pip.py: ensurepip, then pip from the package index
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args)
PY
}

stage_unit() {
    log "unit tests (pytest)"
    (cd "$repo" && python -m pytest -p no:pytest-ansible -p no:cacheprovider -q tests/unit)
}

stage_sanity() {
    log "ansible-test sanity (every Python found)"
    (cd "$stage" && ansible-test sanity --venv --color no)
}

stage_units() {
    log "ansible-test units (modules on every target Python)"
    (cd "$stage" && ansible-test units --venv --color no)
}

stage_integration() {
    log "integration tests: ansible-playbook and ansible-inventory against the emulator, the HTML report in headless Chromium"
    # Screenshots of the HTML report land in $results (skipped, with the reason, where chromium is missing).
    (cd "$repo" && FLEETOTA_TEST_ARTIFACTS="$results" python -m pytest -p no:pytest-ansible -p no:cacheprovider -q -rs -n 2 tests/integration)
}

stage_molecule() {
    log "molecule: the firmware_rollout role against the emulator (converge, idempotence, verify)"
    (cd "$stage" && ANSIBLE_COLLECTIONS_PATH="$stage_root" molecule test)
}

stage_ee() {
    log "execution environment: ansible-builder create, and what it finds in the installed collection"
    local ctx="$work/ee-context" found
    rm -rf "$ctx"
    ansible-builder create -f "$stage/extensions/ee/execution-environment.yml" -c "$ctx" >/dev/null
    grep -qx 'requests>=2.25' "$ctx/_build/requirements.txt" || { echo "the EE context does not name requests"; return 1; }
    grep -q '^ca-certificates' "$ctx/_build/bindep.txt" || { echo "the EE context does not name ca-certificates"; return 1; }
    grep -q 'fleetota.cloud' "$ctx/_build/requirements.yml" || { echo "the EE context does not install fleetota.cloud"; return 1; }
    # The same introspection ansible-builder runs inside the image, on the collection as installed from the tarball.
    found="$(python "$ctx/_build/scripts/introspect.py" introspect "$work/installed")"
    echo "$found"
    echo "$found" | grep -q "requests>=2.25  # from collection fleetota.cloud" || { echo "introspection missed requests"; return 1; }
    echo "$found" | grep -q "ca-certificates .* # from collection fleetota.cloud" || { echo "introspection missed bindep.txt"; return 1; }
    echo "(building the image needs podman or docker, which this machine lacks; see docs/awx.md)"
}

stage_benchmark() {
    log "benchmark smoke run (30 devices): the benchmark still works; its figures are not judged here"
    (cd "$work" && python "$repo/tests/benchmark/rollout_benchmark.py" --devices 30 --naive-devices 5 --json "$results/benchmark-smoke.json")
    log "stop benchmark smoke run (30 devices, EnOS): a bad image's rollout stops and nothing is installed after; figures not judged"
    (cd "$work" && python "$repo/tests/benchmark/stop_benchmark.py" --devices 30 --platform enos --json "$results/stop-smoke.json")
}

stage_lint() {
    log "ansible-lint --profile production"
    (cd "$stage" && ANSIBLE_COLLECTIONS_PATH="$stage_root" ansible-lint --offline --profile production)
}

stage_docs() {
    log "changelog and documentation lint"
    (cd "$stage" && antsibull-changelog lint)
    # antsibull-docs 2.28 once reported every plugin page with 'Unknown target name: "antsibull-docs-<random>"' (a name
    # of its own temporary files) and passed when run again unchanged: that one message gets one more run, nothing else.
    local flake='Unknown target name: "antsibull-docs-' lint_out
    doc_lint() {
        (cd "$stage" && ANSIBLE_COLLECTIONS_PATH="$stage_root" antsibull-docs lint-collection-docs --plugin-docs \
            --validate-collection-refs all --disallow-unknown-collection-refs --check-extra-docs-refs .)
    }
    if lint_out=$(doc_lint 2>&1); then
        [ -z "$lint_out" ] || echo "$lint_out"
        return 0
    fi
    echo "$lint_out"
    if ! grep -q "$flake" <<<"$lint_out" || grep -v "$flake" <<<"$lint_out" | grep -q .; then
        return 1
    fi
    echo "antsibull-docs named its own temporary files as link targets; running the lint once more"
    doc_lint
}

stage_docsite() {
    log "docs site: antsibull-docs to HTML with sphinx -W, internal links, the built pages in headless Chromium"
    local site="$work/docsite" started=$SECONDS
    rm -rf "$site"
    mkdir -p "$site" && chmod 700 "$site"  # antsibull-docs wants it writable by its owner only
    ANSIBLE_COLLECTIONS_PATH="$stage_root" antsibull-docs sphinx-init --use-current --dest-dir "$site" --fail-on-error fleetota.cloud >/dev/null
    # What the site needs is pinned in tests/requirements-ci.txt: this only fails if the generated list asks for more.
    python -m pip install -q --no-index -r "$site/requirements.txt" >/dev/null 2>&1 || python -m pip install -q -r "$site/requirements.txt"
    # No network: ansible-core's labels come from an inventory written here, and the inventories of Python and Jinja2,
    # which nothing of ours refers to, are dropped (external link targets are not checked).
    python "$repo/tests/docsite/ansible_core_inventory.py" "$site/ansible_devel.inv"
    sed -i -E "/^    '(python|python3|jinja2)': \(/d" "$site/conf.py"
    (cd "$site" && ANSIBLE_COLLECTIONS_PATH="$stage_root" ./build.sh >"$site/build.log" 2>&1) || { grep -E 'WARNING|ERROR' "$site/build.log" || tail -30 "$site/build.log"; return 1; }
    (cd "$repo" && FLEETOTA_DOCSITE="$site/build/html" python -m pytest -p no:pytest-ansible -p no:cacheprovider -q -rs tests/integration/test_docsite.py)
    echo "docs site built and checked in $((SECONDS - started)) s: $site/build/html/index.html"
}

stage_build() {
    log "build the tarball, install it into a fresh path, run a playbook from there"
    rm -rf "$work/build" "$work/installed"
    (cd "$stage" && ansible-galaxy collection build --force --output-path "$work/build")
    ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-galaxy collection install --force -p "$work/installed" "$work/build"/fleetota-cloud-*.tar.gz
    ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-galaxy collection verify --offline -p "$work/installed" fleetota.cloud
    (cd "$repo" && FLEETOTA_TEST_COLLECTIONS_PATH="$work/installed" python -m pytest -p no:pytest-ansible -p no:cacheprovider -q \
        tests/integration/test_installed.py)
}

stage_importer() {
    log "Galaxy importer on the tarball"
    local cfg="$work/galaxy-importer.cfg" out="$work/importer.log"
    cat > "$cfg" <<'CFG'
[galaxy-importer]
RUN_ANSIBLE_TEST = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOCAL_IMAGE_DOCKER = False
INFRA_OSD = False
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = True
CHECK_CHANGELOG = True
REQUIRE_V1_OR_GREATER = True
CFG
    # It exits 0 on findings, so its warnings and errors are what decides.
    (cd "$work" && GALAXY_IMPORTER_CONFIG="$cfg" python -m galaxy_importer.main "$work/build"/fleetota-cloud-*.tar.gz) > "$out" 2>&1 || { cat "$out"; return 1; }
    if grep -E '^(WARNING|ERROR)' "$out"; then
        echo "galaxy-importer reported the findings above"
        return 1
    fi
    tail -3 "$out"
}

make_pybin
install_get_pip_standin
make_stage
for s in "${stages[@]}"; do
    "stage_$s"
done
log "all stages passed: ${stages[*]}"
