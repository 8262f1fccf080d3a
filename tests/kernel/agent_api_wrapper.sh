#!/usr/bin/env bash
# Host side of kernel.agent.api: starts the local API server (fake-apiserver, path in
# $FAKE_APISERVER) on a free loopback port with the example manifests, runs the guest with the
# port forwarded to 10.0.2.100:6443, and keeps the server's request log in $REQUEST_LOG.
# Then the RBAC check: the ClusterRole of manifests/base must grant exactly the requests the
# agent made in this run ($MANIFEST_CHECK rbac on the recorded log), no more and no less.
set -uo pipefail
run_guest=$1
shift
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
log=${REQUEST_LOG:-$work/requests.log}
"$FAKE_APISERVER" --port 0 --port-file "$work/port" --manifests "$MANIFESTS" \
  --request-log "$log" --bookmark-interval-ms 2000 >"$work/out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "fake-apiserver did not start: $(cat "$work/out")" >&2; exit 125; }
"$run_guest" --hostfwd-apiserver "$(cat "$work/port")" "$@"
status=$?
[ "$status" -eq 0 ] || exit "$status"
echo "RBAC: the ClusterRole against the $(wc -l <"$log") requests the agent made"
"$MANIFEST_CHECK" rbac --api-paths "$log" -- "$MANIFESTS_BASE"
