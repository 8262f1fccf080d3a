#!/bin/sh
# check_kubeadm_fixture.sh AGENT FIXTURE DEFAULTS [OVERRIDES]
# Runs the real binary on a kubeadm config.conf (`--config=F --write-config-to=OUT`) and compares
# the written configuration, field by field, with what kube-proxy's v1alpha1 defaulting gives:
# DEFAULTS holds one "path: value" line per field, OVERRIDES replaces or adds lines for this
# fixture. A difference prints the fields that differ and fails.
set -eu
agent=$1 fixture=$2 defaults=$3 overrides=${4:-/dev/null}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Nested YAML as written by --write-config-to (2-space indentation, "- " list items) to
# "a.b.c: value" lines; list items become "a.b[]: item".
flatten() {
  awk '
    /^ *$/ { next }
    {
      match($0, /^ */); depth = RLENGTH / 2; line = substr($0, RLENGTH + 1)
      for (d = depth + 1; d in path; d++) delete path[d]
      prefix = ""
      for (d = 1; d <= depth; d++) prefix = prefix path[d] "."
      if (line ~ /^- /) { p = substr(prefix, 1, length(prefix) - 1); print p "[]: " substr(line, 3); next }
      key = line; sub(/:.*/, "", key); value = line; sub(/^[^:]*: ?/, "", value)
      if (value == "") { path[depth + 1] = key; next }
      print prefix key ": " value
    }'
}

"$agent" --config="$fixture" --write-config-to="$work/out.yaml" 2>"$work/stderr" || {
  cat "$work/stderr"; echo "FAIL: ipvs-agent rejected $fixture"; exit 1; }
flatten <"$work/out.yaml" | sort >"$work/actual"
# Overrides win: a key named there drops every default line of that key (lists included).
awk -F': ' 'NR == FNR { if ($0 != "" && $0 !~ /^#/) {
                             k = $1; over[k] = 1; sub(/\[\]$/, "", k); over[k] = 1; lines[++n] = $0 }
                           next }
            /^#/ || $0 == "" { next }
            !($1 in over) { print }
            END { for (i = 1; i <= n; i++) print lines[i] }' "$overrides" "$defaults" |
  sort >"$work/expected"
if ! diff -u "$work/expected" "$work/actual" >"$work/diff"; then
  echo "FAIL: $fixture: fields differ from kube-proxy's defaulting (- expected, + written)"
  grep '^[-+][^-+]' "$work/diff"
  exit 1
fi
echo "ok: $fixture ($(wc -l <"$work/actual") fields)"
