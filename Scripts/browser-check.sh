#!/usr/bin/env bash
# The pages in a real browser: installs Debian's chromium and chromium-driver if missing, Selenium and
# axe-selenium-python from PyPI into .venv-browser, starts tiaki serve on a fresh data directory with a cluster's
# organisations and credentials, and walks the whole day (Scripts/browser-test.py). Screenshots go to
# docs/screenshots (TIAKI_SCREENSHOTS to put them elsewhere).
#
#   Scripts/browser-check.sh          (CONFIGURATION=debug uses a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
configuration="${CONFIGURATION:-release}"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "installing chromium and chromium-driver"
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ ! -x .venv-browser/bin/python ] || ! .venv-browser/bin/python -c 'import selenium, axe_selenium_python' 2>/dev/null; then
    python3 -m venv .venv-browser
    .venv-browser/bin/pip install -q selenium axe-selenium-python
fi
swift build -c "$configuration" --product tiaki >/dev/null
tiaki="$(swift build -c "$configuration" --show-bin-path)/tiaki"
work=$(mktemp -d)
trap '[ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
chmod 700 "$work"
data="$work/data"
"$tiaki" init --data "$data" >/dev/null
add() { "$tiaki" org add --data "$data" --id "$1" --kind "$2" --name "$3" --contact "$4" >/dev/null; }
add school-kowhai school "Kōwhai School" "office@kowhai.school.nz"
add school-rimu school "Rimu Intermediate" "office@rimu.school.nz"
add rtlb-north rtlb "RTLB North" "privacy@rtlb-north.example.nz"
add cluster-office ministry-learning-support "Cluster office" "privacy@cluster.example.nz"
token() { "$tiaki" credential add --data "$data" --org "$1" --role "$2" --holder "browser test: $2 of $1" | tail -1; }
tokens=$(printf '{"school":"%s","other":"%s","privacy":"%s","facilitator":"%s","auditor":"%s","admin":"%s"}' \
    "$(token school-kowhai member)" "$(token school-rimu member)" "$(token cluster-office privacy-officer)" \
    "$(token cluster-office facilitator)" "$(token cluster-office auditor)" "$(token cluster-office admin)")
port=$((20000 + RANDOM % 20000))
"$tiaki" serve --data "$data" --port "$port" >"$work/serve.log" 2>&1 & server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
TIAKI_URL="http://127.0.0.1:$port" TIAKI_TOKENS="$tokens" .venv-browser/bin/python Scripts/browser-test.py || { tail -20 "$work/serve.log"; exit 1; }
