#!/bin/sh
# check_rendered.sh MANIFEST_CHECK IPVS_AGENT KUSTOMIZATION_DIR API_PATHS
# Renders a kustomization with `kubectl kustomize` (offline) and runs manifest_check on the
# output, so overlays are checked as they would be applied. Exit 77 (ctest: skipped) when
# kubectl is not installed: nothing in scripts/setup installs it (Debian's kubectl 1.20 is too
# old for these kustomizations).
set -u
check=$1 agent=$2 dir=$3 apipaths=$4
if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIP: kubectl is not installed, so $dir is not rendered"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! kubectl kustomize "$dir" >"$tmp/rendered.yaml" 2>"$tmp/err"; then
  echo "FAIL: kubectl kustomize $dir: $(cat "$tmp/err")"
  exit 1
fi
status=0
"$check" objects "$tmp/rendered.yaml" || status=1
if grep -q '^kind: DaemonSet' "$tmp/rendered.yaml"; then
  "$check" policy "$tmp/rendered.yaml" || status=1
  "$check" rbac --api-paths "$apipaths" -- "$tmp/rendered.yaml" || status=1
  "$check" agent --agent "$agent" -- "$tmp/rendered.yaml" || status=1
fi
exit "$status"
