#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /v1/openapi.yaml on a live `tiaki serve`, once per role with that
# role's valid credential, in positive mode (data the document allows) and negative mode (data it does not),
# checking that no response is a 5xx, no connection is dropped, every response matches the document (status code,
# content type, headers and body schema), and in negative mode that data the document does not allow is refused.
#
#   Scripts/api-fuzz.sh [EXAMPLES_PER_OPERATION] [MODES]    (default 150; MODES "positive negative")
#
# One worker: with two, schemathesis on Python 3.11 now and then fails inside its own ast.parse (a CPython
# thread-safety bug, "AST constructor recursion depth mismatch"), which is not a finding about Tiaki.
# Installs schemathesis into .venv-schemathesis on first use. Prints each role's summary and the total.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-150}"
modes="${2:-positive negative}"
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

$tiaki init --data "$work/data" >/dev/null
$tiaki org add --data "$work/data" --id school-a --kind school --name "School A" >/dev/null
$tiaki org add --data "$work/data" --id rtlb --kind rtlb --name "RTLB" >/dev/null
$tiaki org add --data "$work/data" --id office --kind ministry-learning-support --name "Office" >/dev/null
declare -A tokens
for pair in member:school-a facilitator:office privacy-officer:office auditor:office admin:office; do
    role=${pair%%:*}
    tokens[$role]=$($tiaki credential add --data "$work/data" --org "${pair#*:}" --role "$role" --holder "fuzz $role" | tail -1)
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
# Negative mode: 413 (a list longer than its limit) is a refusal too. Path parameters are pinned to things that
# exist only in positive mode; pinned, a deliberately invalid value would be replaced by a valid one.
cat >"$work/negative.toml" <<TOML
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
TOML
cat "$work/negative.toml" - >"$work/positive.toml" <<TOML
[parameters]
"path.subject" = "$subject"
"path.consent" = "$consent"
"path.disclosure" = "$disclosure"
TOML
echo "subject $subject, consent $consent, decision $decision, disclosure $disclosure"

failed=0
for mode in $modes; do
    total=0
    checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
    [ "$mode" = negative ] && checks="$checks,negative_data_rejection"
    for role in member facilitator privacy-officer auditor admin; do
        echo "== $mode, $role"
        set +e
        "$venv/bin/schemathesis" --config-file "$work/$mode.toml" run "http://127.0.0.1:$port/v1/openapi.yaml" --url "http://127.0.0.1:$port" \
            -H "Authorization: Bearer ${tokens[$role]}" --mode "$mode" --checks "$checks" \
            --phases examples,coverage,fuzzing --max-examples "$examples" --workers 1 --seed 2026 \
            --suppress-health-check all --no-color --report ndjson --report-dir "$work/report-$mode-$role" \
            >"$work/$mode-$role.txt" 2>&1
        status=$?
        set -e
        [ "$status" -eq 0 ] || sed -n "/ FAILURES \\| ERRORS /,/^Test Phases/p" "$work/$mode-$role.txt" | cut -c1-400 | head -200
        sed -n "/^Test Phases/,\$p" "$work/$mode-$role.txt" | head -60
        generated=$(sed -n 's/^ *\([0-9]*\) generated.*/\1/p' "$work/$mode-$role.txt" | head -1)
        total=$((total + ${generated:-0}))
        echo "exit $status"
        [ "$status" -eq 0 ] || failed=$((failed + 1))
    done
    echo "api-fuzz: $total generated requests in $mode mode across the five roles"
done
kill -0 $server 2>/dev/null || { echo "api-fuzz: the server stopped"; failed=$((failed + 1)); }
if grep -q '"status": 5\|" 5[0-9][0-9] ' "$work/server.log"; then echo "the server logged a 5xx"; fi
echo "server \"unexpected error\" lines: $(grep -c "unexpected error" "$work/server.log" || true)"
[ "$failed" -eq 0 ] && echo "api-fuzz: every role passed in every mode" || { echo "api-fuzz: $failed run(s) failed"; exit 1; }
