#!/usr/bin/env bash
# Runs the walk-throughs as a new user would paste them: every ```sh block under the README's "A first walk through
# with curl", then docs/walkthroughs.md's "A simulated cluster year", "A privacy officer handles a mis-sent email"
# and "Several instances on one PostgreSQL ledger" (which starts a throw-away PostgreSQL: run it as root), in order, in one bash with -e -u -o pipefail, so the first command
# that fails stops it. Then checks that the answers the README promises were given (a permit, a denial with its
# reasons, a refused misspelt field, a valid ledger, the policy tests passing).
#
#   Scripts/readme-check.sh          (CONFIGURATION=debug uses a debug build instead of the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
configuration="${CONFIGURATION:-release}"
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

python3 - "$configuration" >"$work/walk.sh" <<'PY'
import re, sys
configuration = sys.argv[1]
texts = {"README.md": open("README.md", encoding="utf-8").read(),
         "docs/walkthroughs.md": open("docs/walkthroughs.md", encoding="utf-8").read()}
sections = [("README.md", "A first walk through with curl"), ("docs/walkthroughs.md", "A simulated cluster year"),
            ("docs/walkthroughs.md", "A privacy officer handles a mis-sent email"),
            ("docs/walkthroughs.md", "Several instances on one PostgreSQL ledger")]
print('trap \'for p in ${SERVER:-} ${SERVER_A:-} ${SERVER_B:-}; do kill "$p" 2>/dev/null || true; done; '
      'if [ -n "${PG:-}" ] && [ -d "$(echo "$PG" | sed -n 1p)" ]; then '
      'Scripts/postgres-start.sh --stop "$(echo "$PG" | sed -n 1p)" >/dev/null 2>&1 || true; fi\' EXIT')
for name, title in sections:
    match = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", texts[name], re.S | re.M)
    if not match:
        sys.exit(f"{name} has no section '## {title}'")
    blocks = re.findall(r"^```sh\n(.*?)^```", match.group(1), re.S | re.M)
    if not blocks:
        sys.exit(f"the section '{title}' has no sh block")
    for block in blocks:
        print(f"echo '>>> {title}'")
        print(block.replace("-c release", f"-c {configuration}").replace(".build/release", f".build/{configuration}"))
PY

echo "readme-check: running $(grep -c '' "$work/walk.sh") lines from README.md and docs/walkthroughs.md ($configuration build)"
set +e
bash -euo pipefail -x "$work/walk.sh" >"$work/out.log" 2>&1
status=$?
set -e
if [ "$status" -ne 0 ]; then
    tail -40 "$work/out.log"
    echo "readme-check: the walk-through stopped (exit $status) at the command above"
    exit 1
fi
failed=0
expect() {
    if grep -aq -- "$1" "$work/out.log"; then echo "  ok: $2"; else echo "  MISSING: $2 ($1)"; failed=1; fi
}
expect '"effect":"permit"' "a referral to the RTLB service is permitted"
expect '"effect":"deny"' "a transition, and the request after the withdrawal, are denied"
expect 'urn:tiaki:problem:unknown-field' "a misspelt field is refused with a problem"
expect 'did you mean storageRegion?' "the problem names the field meant"
expect 'receipt valid: ' "the consent receipt verifies offline"
expect '"resourceType":"Consent"' "the consent is served as a FHIR Consent"
expect '"status":"inactive"' "which is inactive after the withdrawal"
expect '"consentStatus":"dpv:ConsentWithdrawn"' "and as an ISO 27560 record, withdrawn"
expect 'Exported 1 consent and 0 refusals as fhir-r4' "tiaki export --consents writes the Bundle"
expect '35 passed, 0 failed' "the policy tests pass"
expect 'PERMIT' "tiaki decide permits the simulated request"
expect 'DENY' "tiaki decide denies it when the storage is overseas"
expect 'Privacy breach report' "the breach report prints"
expect 'He whati matatapu' "each whānau's notice is in te reo Māori too"
expect '"status":"notified"' "the breach ends notified"
expect 'one log: the same checkpoint from both instances' "two instances on PostgreSQL serve one log"
expect 'no breach findings' "and no breach finding remains"
[ "$(grep -ac '^VALID: ' "$work/out.log")" -ge 2 ] && echo "  ok: both exports verify" \
    || { echo "  MISSING: both exports verify"; failed=1; }
[ "$failed" -eq 0 ] && echo "readme-check: the README's walk-throughs ran as written" || exit 1
