#!/bin/sh
# check_rendered.sh MANIFEST_CHECK IPVS_AGENT KUSTOMIZATION_DIR API_PATHS [KUBEADM_CONF]
# Renders a kustomization with `kubectl kustomize` (offline) and runs manifest_check on the
# output, so overlays are checked as they would be applied. KUBEADM_CONF, for the overlays that
# read kubeadm's kube-proxy ConfigMap, is a config.conf as kubeadm writes it: the check adds that
# ConfigMap (kube-system/kube-proxy, with a kubeconfig.conf) to the rendered objects. Exit 77 (ctest: skipped) when
# kubectl is not installed: nothing in scripts/setup installs it (Debian's kubectl 1.20 is too
# old for these kustomizations).
set -u
check=$1 agent=$2 dir=$3 apipaths=$4 kubeadm_conf=${5:-}
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
if [ -n "$kubeadm_conf" ]; then
  {
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-proxy\n'
    printf '  namespace: kube-system\ndata:\n  config.conf: |\n'
    sed 's/^/    /' "$kubeadm_conf"
    printf '  kubeconfig.conf: |\n    apiVersion: v1\n    kind: Config\n'
    printf '    clusters:\n    - cluster: {server: "https://10.0.0.1:6443"}\n      name: default\n'
  } >>"$tmp/rendered.yaml"
fi
status=0
"$check" objects "$tmp/rendered.yaml" || status=1
if grep -q '^kind: DaemonSet' "$tmp/rendered.yaml"; then
  "$check" policy "$tmp/rendered.yaml" || status=1
  "$check" rbac --api-paths "$apipaths" -- "$tmp/rendered.yaml" || status=1
  "$check" agent --agent "$agent" -- "$tmp/rendered.yaml" || status=1
fi
exit "$status"
