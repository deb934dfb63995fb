#!/usr/bin/env bash
# The README's test command: sets up, builds with warnings as errors, runs every test project
# and prints the closing line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/setup.sh

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build BpfMaps.sln -c Release -warnaserror -nologo -v q -clp:ErrorsOnly
set +e
dotnet test --solution BpfMaps.sln -c Release --no-build --report-trx --results-directory "$results" --ignore-exit-code 8 "$@"
status=$?
set -e

passed=0; failed=0; skipped=0
shopt -s nullglob
trx=("$results"/*.trx)
for f in "${trx[@]}"; do
  p=$( (grep -o '<UnitTestResult [^>]*outcome="Passed"' "$f" || true) | wc -l)
  x=$( (grep -o '<UnitTestResult [^>]*outcome="Failed"' "$f" || true) | wc -l)
  s=$( (grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$f" || true) | wc -l)
  passed=$((passed + p)); failed=$((failed + x)); skipped=$((skipped + s))
done

if [ "$skipped" -gt 0 ]; then
  # Each skipped test with its reason (xunit puts the reason in the result's StdOut).
  echo "Skipped tests and why:"
  awk '
    /<UnitTestResult / {
      skipped = ($0 ~ /outcome="NotExecuted"/); reason = ""
      if (skipped) { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11) }
      if (skipped && $0 ~ /\/>[[:space:]]*$/) { print "  " name; skipped = 0 }
    }
    skipped && /<StdOut>/ && reason == "" { reason = $0; sub(/.*<StdOut>/, "", reason); sub(/<\/StdOut>.*/, "", reason) }
    skipped && /<\/UnitTestResult>/ { print "  " name (reason == "" ? "" : ": " reason); skipped = 0 }
  ' "${trx[@]}" | sed -e "s/&apos;/'/g" -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
fi

# The tool package's install path: pack, install from a local folder, run the installed bpfmap against a real
# map (NativeAOT compile included: a few minutes). BPFMAPS_SKIP_TOOL_INSTALL=1 leaves it out.
if [ "${BPFMAPS_SKIP_TOOL_INSTALL:-0}" != 1 ]; then
  if bash scripts/tool-install-test.sh; then
    passed=$((passed + 1))
  else
    echo "Failed: scripts/tool-install-test.sh" >&2
    failed=$((failed + 1))
  fi
fi

if [ ${#trx[@]} -eq 0 ]; then
  echo "no test results found" >&2
  failed=$((failed + 1))
fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited $status without a failed test result" >&2
  failed=1
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
