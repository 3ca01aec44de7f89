#!/usr/bin/env bash
# The demo: set up, start the emulator's fleet, and roll the newest firmware out to it with the
# collection's inventory plugin and playbook. Prints what it did and the API calls it cost.
#   scripts/demo.sh [--devices N] [--version latest|X.Y.Z]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
devices=200
version=latest
while [ $# -gt 0 ]; do
    case "$1" in
        --devices) devices="$2"; shift 2 ;;
        --version) version="$2"; shift 2 ;;
        *) echo "usage: $0 [--devices N] [--version latest|X.Y.Z]" >&2; exit 2 ;;
    esac
done

eval "$("$repo/scripts/setup.sh")"
demo="$(mktemp -d "${TMPDIR:-/tmp}/fleetota-demo.XXXXXX")"
password="demo-$(date +%s)-$RANDOM"
cleanup() {
    if [ -n "${emulator_pid:-}" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$demo"
}
trap cleanup EXIT

python "$repo/tests/emulator" --devices "$devices" --seed 1 --upgrade-seconds 4 --magewell-password "$password" \
    --port-file "$demo/url" --lifetime 1800 --quiet > "$demo/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do [ -s "$demo/url" ] && break; sleep 0.1; done
[ -s "$demo/url" ] || { cat "$demo/emulator.log"; echo "the emulator did not start" >&2; exit 1; }
url="$(cat "$demo/url")"
echo "emulator: $devices Magewell devices at $url"

cat > "$demo/demo.fleetota.yml" <<YAML
plugin: fleetota.cloud.devices
platform: magewell
endpoint: $url
username: Admin
online_only: true
keyed_groups:
  - key: fleetota_product
    prefix: product
YAML

export FLEETOTA_PLATFORM=magewell FLEETOTA_ENDPOINT="$url" FLEETOTA_USERNAME=Admin FLEETOTA_PASSWORD="$password"
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}" ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_DISPLAY_SKIPPED_HOSTS=False

echo
echo "--- the fleet, as the inventory plugin sees it (online devices, grouped by product)"
ansible-inventory -i "$demo/demo.fleetota.yml" --graph | grep -v '^  |  |--' | head -20
curl -s -X POST "$url/_emulator/stats/reset" >/dev/null

echo
echo "--- the plan, wave by wave (check mode: nothing is sent)"
ansible-playbook -i "$demo/demo.fleetota.yml" fleetota.cloud.rollout --check -e "firmware_rollout_version=$version" \
    | sed -n '/Show the plan/,/^$/p'

echo
echo "--- rollout of '$version' with the collection's playbook (the firmware_rollout role: a canary, then waves)"
# The per-host lines (one per device) are summed up at the end instead of printed.
ansible-playbook -i "$demo/demo.fleetota.yml" fleetota.cloud.rollout -e "firmware_rollout_version=$version" \
    -e firmware_rollout_poll_interval=1 > "$demo/rollout.log" || status=$?
grep -vE '^(ok|changed|failed|fatal): \[|: ok=[0-9]+ ' "$demo/rollout.log" | sed '/^PLAY RECAP/,$d'
echo "PLAY RECAP, summed over the device hosts:"
grep -E ': ok=[0-9]+ ' "$demo/rollout.log" | grep -oE '(changed|failed)=[0-9]+' | sort | uniq -c | sed 's/^/  hosts with/'
[ "${status:-0}" = 0 ] || { echo "the rollout failed (exit $status)"; exit "$status"; }

echo
echo "--- API calls the rollout made (from the emulator's counters)"
curl -s "$url/_emulator/stats" | python -c '
import json, sys
stats = json.load(sys.stdin)
for key, count in sorted(stats["requests"].items()):
    print("  %5d  %s" % (count, key))
print("  %5d  in all" % stats["total"])'

echo
echo "--- a second run changes nothing"
ansible-playbook -i "$demo/demo.fleetota.yml" fleetota.cloud.rollout -e "firmware_rollout_version=$version" \
    | grep -E 'changed=' | awk '{print $4}' | sort | uniq -c | sed 's/^/  hosts with /' 
