#!/usr/bin/env bash
# Host side of kernel.harness.hostfwd, and the pattern for tests that need a server on the host
# (the agent's end-to-end tests: a local API server). Started by ctest as
#   harness_hostfwd_wrapper.sh RUN_GUEST [run-guest options] -- SCRIPT ARGS
# it starts a server on a free 127.0.0.1 port, then runs run-guest with --hostfwd-apiserver PORT
# so the guest reaches it at 10.0.2.100:6443, and stops the server by its pid.
set -uo pipefail

run_guest=$1
shift
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null' EXIT
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo hello-from-host-$port" \
    2>/dev/null &
  server_pid=$!
  sleep 0.3
  kill -0 "$server_pid" 2>/dev/null && break
  server_pid=
done
[ -n "$server_pid" ] || { echo "hostfwd wrapper: no loopback server could start" >&2; exit 125; }
"$run_guest" --hostfwd-apiserver "$port" --env "EXPECT=hello-from-host-$port" "$@"
