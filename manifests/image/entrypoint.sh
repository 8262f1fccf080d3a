#!/bin/sh
# The image's entrypoint: point iptables at the backend the node already uses (nft or legacy),
# then exec ipvs-agent with the container's arguments.
#
# Why: Debian's iptables package ships both backends, and rules written through the other
# backend than the kubelet's and the CNI plugin's land in a separate rule set that the kernel
# also runs: two half rule sets, hard to debug. The choice:
#   1. IPVS_AGENT_IPTABLES_MODE=nft|legacy forces it (auto, the default, detects);
#   2. the backend holding the kubelet's marker chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY
#      in the mangle table), nft first;
#   3. else the backend holding more rules; nft on a tie (a fresh node).
# The tool names (iptables-restore, ...) go as symlinks into IPVS_AGENT_BIN_DIR, which is put
# first in PATH, so the root filesystem can stay read-only.
# Errors: a bad mode or a missing backend exits 1 before the agent starts.
set -eu

bin_dir=${IPVS_AGENT_BIN_DIR:-/run/ipvs-agent/bin}
mode=${IPVS_AGENT_IPTABLES_MODE:-auto}
agent=${IPVS_AGENT_BINARY:-/usr/local/bin/ipvs-agent}
me=ipvs-agent-entrypoint

# save BACKEND TOOL [TABLE]: the rules of one family through one backend; nothing on error
# (no such backend, no permission).
save() {
  if [ $# -gt 2 ]; then
    "xtables-$1-multi" "$2-save" -t "$3" 2>/dev/null || true
  else
    "xtables-$1-multi" "$2-save" 2>/dev/null || true
  fi
}

has_marker() {
  for family in iptables ip6tables; do
    if save "$1" "$family" mangle | grep -qE '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) '; then
      return 0
    fi
  done
  return 1
}

count_rules() {
  { save "$1" iptables; save "$1" ip6tables; } | grep -c '^-' || true
}

detect() {
  if has_marker nft; then echo nft; return; fi
  if has_marker legacy; then echo legacy; return; fi
  legacy_rules=$(count_rules legacy)
  nft_rules=$(count_rules nft)
  if [ "$legacy_rules" -gt "$nft_rules" ]; then echo legacy; else echo nft; fi
}

case "$mode" in
  auto) mode=$(detect) ;;
  nft | legacy) ;;
  *)
    echo "$me: IPVS_AGENT_IPTABLES_MODE must be auto, nft or legacy, not \"$mode\"" >&2
    exit 1
    ;;
esac

multi=$(command -v "xtables-$mode-multi" || true)
if [ -z "$multi" ]; then
  echo "$me: xtables-$mode-multi not found: the image needs Debian's iptables package" >&2
  exit 1
fi
mkdir -p "$bin_dir"
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sf "$multi" "$bin_dir/$tool"
done
PATH="$bin_dir:$PATH"
export PATH
echo "$me: iptables backend: $mode" >&2
exec "$agent" "$@"
