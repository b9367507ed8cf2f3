#!/usr/bin/env bash
# Fuzzes every input surface (JSON reader, signed notes, policy loader, bundle reader, request bodies, the witness's
# add-checkpoint bodies, request paths and query strings) for SECONDS each (default 600), one after another, with
# a fresh random seed unless TIAKI_FUZZ_SEED is set.
# Failing inputs are written to ./fuzz-failures/ to be kept in Tests/TiakiServerTests/FuzzCorpus/<surface>/;
# the whole test output is in ./fuzz-failures/fuzz.log.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
seed="${TIAKI_FUZZ_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
mkdir -p fuzz-failures
swift build --build-tests >fuzz-failures/build.log 2>&1 || { tail -30 fuzz-failures/build.log; exit 1; }
echo "fuzzing each surface for ${seconds} s with seed ${seed}"
set +e
TIAKI_FUZZ_SECONDS="$seconds" TIAKI_FUZZ_SEED="$seed" TIAKI_FUZZ_FAILURES="$PWD/fuzz-failures" \
    swift test --skip-build --filter FuzzTests >fuzz-failures/fuzz.log 2>&1
status=$?
set -e
grep -E "^fuzz |kept failing|✘|✔ Suite|Test run" fuzz-failures/fuzz.log || tail -30 fuzz-failures/fuzz.log
exit $status
