#!/bin/sh
# expect_fail.sh -e REGEX [-e REGEX]... -- COMMAND [ARG]...
# Passes when COMMAND fails (exit 1: a check's failure, not 2 = bad usage or 77 = skipped) and
# its output matches every REGEX (grep -E): the negative twin of a check, proving it can fail
# and fails for the expected reason.
set -u
regexes=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [ "$1" = "-e" ] || { echo "usage: expect_fail.sh -e REGEX... -- COMMAND..." >&2; exit 2; }
  regexes="$regexes$2
"
  shift 2
done
[ $# -gt 1 ] || { echo "usage: expect_fail.sh -e REGEX... -- COMMAND..." >&2; exit 2; }
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
status=0
if [ "$rc" -ne 1 ]; then
  echo "expect_fail: the command exited $rc; a failing check exits 1"
  status=1
fi
printf '%s' "$regexes" | while IFS= read -r re; do
  if ! printf '%s\n' "$out" | grep -Eq -- "$re"; then
    echo "expect_fail: no line matches: $re"
    exit 1
  fi
done || status=1
[ "$status" -eq 0 ] && echo "expect_fail: failed as expected"
exit "$status"
