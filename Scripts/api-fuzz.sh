#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /v1/openapi.yaml on a live `tiaki serve`, once per role with that
# role's valid credential, checking that no response is a 5xx and every response matches the document
# (status code, content type, headers and body schema).
#
#   Scripts/api-fuzz.sh [EXAMPLES_PER_OPERATION]    (default 100; about 30 operations × 5 roles)
#
# Installs schemathesis into .venv-schemathesis on first use. Prints each role's summary and the total.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
venv="$PWD/.venv-schemathesis"
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
swift build -c release --product tiaki >/dev/null
tiaki=.build/release/tiaki
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT

$tiaki org add --data "$work/data" --id school-a --kind school --name "School A" >/dev/null
$tiaki org add --data "$work/data" --id rtlb --kind rtlb --name "RTLB" >/dev/null
$tiaki org add --data "$work/data" --id office --kind ministry-learning-support --name "Office" >/dev/null
declare -A tokens
for pair in member:school-a facilitator:office privacy-officer:office auditor:office admin:office; do
    role=${pair%%:*}
    tokens[$role]=$($tiaki credential add --data "$work/data" --org "${pair#*:}" --role "$role" | tail -1)
done
# Sign-in failures are part of what the checks send on purpose; the limit is raised so they are answered 401.
$tiaki serve --data "$work/data" --port "$port" --failed-sign-in-limit 1000000 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

# A child with a consent, a decision and a disclosure, so that path parameters can name things that exist.
post() { curl -sS -X POST "http://127.0.0.1:$port$1" -H "Authorization: Bearer ${tokens[member]}" \
    -H 'Content-Type: application/json' -d "$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
subject=$(post /v1/subjects '{"birthMonth":"2015-06","nsn":"100200300"}' | field subject)
consent=$(post "/v1/subjects/$subject/consents" '{"purposes":["referral"],"information":["register-entry"],
  "audience":{"kinds":["rtlb"]},"sharing":{"channels":["secure-email"],"storageRegions":["nz"],"protection":"encrypted"},
  "retention":{"until":"2027-12-31"},"accuracy":{"contact":"SENCO","method":"ask"},
  "withdrawal":{"effect":"sharing stops","how":"tell the school"},"consenters":[{"role":"parent","name":"P"}],
  "informed":{"date":"2026-02-10","noticeVersion":"v1","language":"en","method":"meeting"},"text":"We would like to share"}' \
    | field consent)
share='"purpose":"referral","information":["register-entry"],"recipient":"rtlb","channel":"secure-email","storageRegion":"nz"'
decision=$(post /v1/decisions "{\"subject\":\"$subject\",$share,\"date\":\"2026-03-01\"}" | field decision)
disclosure=$(post /v1/disclosures "{\"subject\":\"$subject\",\"decision\":$decision,$share}" | field disclosure)
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.subject" = "$subject"
"path.consent" = "$consent"
"path.disclosure" = "$disclosure"
TOML
echo "subject $subject, consent $consent, decision $decision, disclosure $disclosure"

total=0
failed=0
for role in member facilitator privacy-officer auditor admin; do
    echo "== $role"
    set +e
    "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/v1/openapi.yaml" --url "http://127.0.0.1:$port" \
        -H "Authorization: Bearer ${tokens[$role]}" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing --max-examples "$examples" --workers 2 --seed 2026 \
        --suppress-health-check all --no-color --report ndjson --report-dir "$work/report-$role" \
        >"$work/$role.txt" 2>&1
    status=$?
    set -e
    sed -n "/^Test Phases/,\$p" "$work/$role.txt" | head -60
    generated=$(sed -n 's/^ *\([0-9]*\) generated.*/\1/p' "$work/$role.txt" | head -1)
    total=$((total + ${generated:-0}))
    echo "exit $status"
    [ "$status" -eq 0 ] || failed=$((failed + 1))
done
if grep -q '"status": 5\|" 5[0-9][0-9] ' "$work/server.log"; then echo "the server logged a 5xx"; fi
echo "server \"unexpected error\" lines: $(grep -c "unexpected error" "$work/server.log" || true)"
echo "api-fuzz: $total generated requests across the five roles"
[ "$failed" -eq 0 ] && echo "api-fuzz: all roles passed" || { echo "api-fuzz: $failed role(s) failed"; exit 1; }
