#!/bin/sh
# gen_flags_table.sh IPVS_AGENT [--update DOC]
# Prints docs/operations.md's flag table, generated from `ipvs-agent --help` so that it cannot
# drift (check_docs.sh compares); with --update, rewrites the table between the markers in DOC.
set -eu
agent=$1
begin='<!-- BEGIN GENERATED FLAGS: tests/manifests/gen_flags_table.sh -->'
end='<!-- END GENERATED FLAGS -->'
table() {
  echo "| Flag | Type | Default | Meaning |"
  echo "|---|---|---|---|"
  "$agent" --help | sed -n 's/^  --//p' | sed -E \
    -e 's/\|/\\|/g' \
    -e 's/^([^ ]+) ([a-zA-Z]+)  +(.*)$/\1\t\2\t\3/' \
    -e 's/^([^ \t]+)  +(.*)$/\1\tbool\t\2/' \
    -e 's/^([^\t]*\t[^\t]*\t.*) \(default (.*)\)$/\1\t\2/' |
    awk -F '\t' '{ printf "| `--%s` | %s | %s | %s |\n", $1, $2, ($4 == "" ? "" : "`" $4 "`"), $3 }'
}
if [ "${2:-}" = "--update" ]; then
  doc=$3
  tmp=$(mktemp)
  table >"$tmp.table"
  awk -v b="$begin" -v e="$end" -v t="$tmp.table" '
    $0 == b { print; while ((getline line < t) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" >"$tmp"
  mv "$tmp" "$doc"
  rm -f "$tmp.table"
else
  table
fi
