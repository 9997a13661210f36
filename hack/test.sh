#!/usr/bin/env bash
# Runs every test project, one after the other (they share one engine, one disk pool and one meta
# database), and ends with the line "tests: N passed, M failed".
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
results="$REPO_DIR/artifacts/test-results"
rm -rf "$results" && mkdir -p "$results"

filter=()
[ -n "${TEST_FILTER:-}" ] && filter=(--filter "$TEST_FILTER")

status=0
for proj in tests/*.Tests/*.Tests.csproj; do
  name="$(basename "$proj" .csproj)"
  log "testing $name"
  if ! dotnet test "$proj" -c Release --no-build --nologo "${filter[@]}" \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
      --results-directory "$results" --blame-hang-timeout 15m; then
    status=1
  fi
done

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters="$(grep -o -m 1 '<Counters [^>]*>' "$trx" || true)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
# The failed tests by name with the first lines of each message, just above the summary, so a log's last lines say
# what broke and why.
shopt -s nullglob
perl "$REPO_DIR/hack/failures.pl" "$results"/*.trx || true
# A project that crashed before writing its results counts as a failure.
[ "$status" = 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "tests: $passed passed, $failed failed" | tee "$results/summary.txt"
exit "$status"
