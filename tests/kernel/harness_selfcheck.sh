#!/usr/bin/env bash
# Host-side self-check of the harness: a kernel test must be able to fail. Boots the guest on small
# scripts and checks run-guest's exit status and output for each way a guest can end:
# success (with args, --file, --env, --bin), a plain exit code, a failed testlib assertion, a
# testlib script that never reaches t_summary, a guest that powers off without reporting, a hang,
# and files exported from the guest.
#
# Usage: harness_selfcheck.sh RUN_GUEST WORK_DIR
set -uo pipefail

run_guest=$1
work=$2
mkdir -p "$work"
tmp=$(mktemp -d "$work/selfcheck-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect NAME WANT_STATUS WANT_TEXT [RUN_GUEST_ARGS...] -- SCRIPT_BODY
expect() {
  local name=$1 want=$2 text=$3
  shift 3
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  local body=$2
  printf '%s\n' "$body" >"$tmp/$name.sh"
  local out rc
  out=$("$run_guest" --work "$work" "${args[@]}" -- "$tmp/$name.sh" "arg one" "it's" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$text" <<<"$out"; then
    echo "ok   - $name (status $rc)"
    passed=$((passed + 1))
  else
    echo "FAIL - $name: status $rc (want $want), want text '$text'; output:"
    sed 's/^/    | /' <<<"$out"
    failed=$((failed + 1))
  fi
}

echo "payload $$" >"$tmp/data.txt"

expect success 0 "kernel: 1 passed, 0 failed" \
  --file "$tmp/data.txt:data/in.txt" --env "GREETING=hi there" --bin /usr/bin/true -- '
. /test/lib/testlib.sh
t_begin "args, files, env, binaries"
assert_eq "arg one|it'"'"'s" "$1|$2" "arguments"
assert_eq "payload '"$$"'" "$(cat /test/data/in.txt)" "--file"
assert_eq "hi there" "$GREETING" "--env"
assert_ok /test/bin/true
t_summary'

# t_export + --out: a guest file (binary-safe) comes back to the host; the payload is not echoed.
expect export 0 "kernel: 1 passed, 0 failed" --out "$tmp/out" -- '
. /test/lib/testlib.sh
t_begin "export"
head -c 3000 /dev/urandom >/tmp/blob
sha256sum /tmp/blob | cut -d" " -f1 >/tmp/blob.sha
t_export /tmp/blob result.bin
t_export /tmp/blob.sha
t_summary'
if [ -f "$tmp/out/result.bin" ] && [ -f "$tmp/out/blob.sha" ] &&
  [ "$(sha256sum <"$tmp/out/result.bin" | cut -d' ' -f1)" = "$(cat "$tmp/out/blob.sha")" ]; then
  echo "ok   - export: files match"
  passed=$((passed + 1))
else
  echo "FAIL - export: exported files missing or different"
  ls -la "$tmp/out" 2>&1 | sed 's/^/    | /'
  failed=$((failed + 1))
fi

expect exit_code 7 "before exit" -- '
echo before exit
exit 7'

expect failed_assert 1 "kernel: 1 passed, 1 failed" -- '
. /test/lib/testlib.sh
t_begin good
assert_eq 1 1
t_begin bad
assert_eq 1 2 "one is not two"
t_summary'

expect no_summary 1 "before t_summary" -- '
. /test/lib/testlib.sh
t_begin started
exit 0'

expect no_checks 1 "kernel: 0 passed, 0 failed" -- '
. /test/lib/testlib.sh
t_summary'

expect no_marker 125 "never reported" -- '
poweroff -f'

expect hang 124 "TIMEOUT" --timeout 20 -- '
sleep 1000'

echo "harness self-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
