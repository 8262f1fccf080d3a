#!/usr/bin/env bash
# check_docs.sh IPVS_AGENT REPO_ROOT [DOC]
# docs/operations.md cannot drift from the binary:
#  - every flag of `ipvs-agent --help` is documented (as `--flag`);
#  - the generated flag table is what gen_flags_table.sh prints today;
#  - every field of the effective configuration (`--write-config-to`, all defaults) is
#    documented (as `path.to.field`);
#  - every metric name declared in agent/ (next to the adapter that counts it) is documented.
set -euo pipefail
agent=$1
root=$2
doc=${3:-$root/docs/operations.md}
here=$(cd "$(dirname "$0")" && pwd)
failures=0
fail() {
  echo "FAIL: $doc: $*"
  failures=$((failures + 1))
}
[ -f "$doc" ] || { fail "does not exist"; exit 1; }

flags=$("$agent" --help | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p')
[ -n "$flags" ] || fail "ipvs-agent --help lists no flag"
for f in $flags; do
  grep -qF -- "\`--$f\`" "$doc" || fail "--$f is not documented (\`--$f\`)"
done

begin='<!-- BEGIN GENERATED FLAGS: tests/manifests/gen_flags_table.sh -->'
end='<!-- END GENERATED FLAGS -->'
current=$(awk -v b="$begin" -v e="$end" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$doc")
if [ "$current" != "$("$here/gen_flags_table.sh" "$agent")" ]; then
  fail "the flag table between the GENERATED FLAGS markers is stale: run" \
    "tests/manifests/gen_flags_table.sh BUILD/agent/ipvs-agent --update docs/operations.md"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$agent" --write-config-to="$tmp/defaults.yaml" >/dev/null 2>&1 || fail "ipvs-agent --write-config-to failed"
paths=$(awk '
  /^[[:space:]]*(#|$)/ || /^[[:space:]]*- / { next }
  {
    match($0, /^ */); depth = RLENGTH / 2
    key = substr($0, RLENGTH + 1); sub(/:.*/, "", key)
    stack[depth] = key
    path = stack[0]
    for (i = 1; i <= depth; i++) path = path "." stack[i]
    print path
  }' "$tmp/defaults.yaml")
[ -n "$paths" ] || fail "no configuration field found in the --write-config-to output"
for p in $paths; do
  grep -q "^${p//./\\.}\\." <<<"$paths" && continue  # not a leaf
  grep -qF -- "\`$p\`" "$doc" || fail "config field $p is not documented (\`$p\`)"
done

# Metric names are declared next to the adapter that counts them, so read all of agent/.
metrics=$(grep -ohE '"(kubeproxy|ipvs_agent)_[a-z_]+"' "$root"/agent/*.h "$root"/agent/*.cpp | tr -d '"' | sort -u)
[ "$(wc -w <<<"$metrics")" -ge 20 ] || fail "found only $(wc -w <<<"$metrics") metric names in agent/"
for m in $metrics; do
  grep -qF -- "$m" "$doc" || fail "metric $m is not documented"
done

if [ "$failures" -gt 0 ]; then
  echo "FAILED: check_docs ($failures problem(s))"
  exit 1
fi
echo "PASS: check_docs: $(wc -w <<<"$flags") flags, every config field and metric documented"
