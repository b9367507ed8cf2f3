#!/usr/bin/env bash
# Simulates a cluster year, exports every consent and refusal as FHIR R4, and validates the Bundle with PyPI's
# fhir.resources (Scripts/fhir-validate.py). Installs fhir.resources into .venv-fhir on first use.
#
#   Scripts/fhir-check.sh            # 300 children, 120 days, the release build
#   CONFIGURATION=debug SUBJECTS=60 Scripts/fhir-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${CONFIGURATION:-release}
subjects=${SUBJECTS:-300}
days=${DAYS:-120}
tiaki=.build/$configuration/tiaki
[ -x "$tiaki" ] || swift build -c "$configuration" --product tiaki

if [ ! -x .venv-fhir/bin/python ]; then
    if ! python3 -m venv .venv-fhir 2>/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv
        python3 -m venv .venv-fhir
    fi
    .venv-fhir/bin/pip install -q 'fhir.resources>=8,<9'
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tiaki" simulate --data "$work/data" --policies Policies --subjects "$subjects" --days "$days" >/dev/null 2>&1
"$tiaki" export --data "$work/data" --consents --format fhir-r4 --out "$work/consents.fhir.json"
"$tiaki" export --data "$work/data" --consents --format iso27560 --out "$work/consents.iso27560.json"
.venv-fhir/bin/python Scripts/fhir-validate.py "$work/consents.fhir.json"
