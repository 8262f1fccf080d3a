#!/bin/sh
# check_overlay_config.sh BASE_CONFIGMAP OVERLAY_CONF KEY...
# An overlay that replaces the base's config.conf must differ from it only in the lines of the
# named top-level KEYs (comments and blank lines aside), so a change to the base cannot be lost
# in an overlay's copy.
set -u
base_cm=$1 overlay=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The base's config.conf: the block under "  config.conf: |", four spaces of indent removed.
awk '/^  config.conf: \|/{on=1; next} on && /^  [^ ]/{on=0} on{sub(/^    /, ""); print}' \
  "$base_cm" >"$tmp/base"
keys=$(echo "$*" | tr ' ' '|')
# Comments, blank lines and the named keys' own lines left out.
strip() { grep -vE '^[[:space:]]*(#|$)' "$1" | grep -vE "^($keys):"; }
strip "$tmp/base" >"$tmp/b"
strip "$overlay" >"$tmp/o"
if ! diff -u "$tmp/b" "$tmp/o" >"$tmp/diff"; then
  echo "FAIL: $overlay differs from the base's config.conf beyond the keys $*:"
  cat "$tmp/diff"
  exit 1
fi
[ -s "$tmp/o" ] || { echo "FAIL: nothing read from $overlay"; exit 1; }
echo "ok: $overlay = the base's config.conf but for $*"
