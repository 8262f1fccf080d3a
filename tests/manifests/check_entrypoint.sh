#!/bin/sh
# check_entrypoint.sh ENTRYPOINT
# Runs the image's entrypoint (manifests/image/entrypoint.sh) against fake iptables backends:
# fake xtables-nft-multi / xtables-legacy-multi print canned `*-save` output, and a fake agent
# reports which backend its iptables-restore resolves to and the arguments it got.
set -u
entrypoint=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fakebin" "$tmp/state"
for backend in nft legacy; do
  cat >"$tmp/fakebin/xtables-$backend-multi" <<EOF
#!/bin/sh
# fake: \$1 = iptables-save | ip6tables-save, then optionally -t TABLE
tool=\$1
table=all
[ "\${2:-}" = "-t" ] && table=\$3
f="$tmp/state/$backend.\$tool.\$table"
[ -f "\$f" ] && cat "\$f"
exit 0
EOF
  chmod +x "$tmp/fakebin/xtables-$backend-multi"
done
cat >"$tmp/fake-agent" <<'EOF'
#!/bin/sh
echo "backend=$(basename "$(readlink "$(command -v iptables-restore)")")"
for a in "$@"; do echo "arg=$a"; done
EOF
chmod +x "$tmp/fake-agent"

failures=0
cases=0
# run CASE EXPECTED_RC EXPECTED_LINE [MODE]: runs the entrypoint with the current state files.
run() {
  name=$1 want_rc=$2 want=$3 mode=${4:-auto}
  cases=$((cases + 1))
  out=$(env -i PATH="$tmp/fakebin:/usr/bin:/bin" IPVS_AGENT_IPTABLES_MODE="$mode" \
    IPVS_AGENT_BIN_DIR="$tmp/bin-$cases" IPVS_AGENT_BINARY="$tmp/fake-agent" \
    sh "$entrypoint" --config=/x.conf "--two words" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! printf '%s\n' "$out" | grep -qF -- "$want"; then
    echo "FAIL: $name: want exit $want_rc and \"$want\", got exit $rc:"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok: $name"
  fi
}
reset() { rm -f "$tmp"/state/*; }
put() { printf '%s\n' "$2" >>"$tmp/state/$1"; }

reset
run "fresh node: nft" 0 "backend=xtables-nft-multi"
run "arguments pass through" 0 "arg=--two words"

reset
put legacy.iptables-save.all "-A INPUT -j ACCEPT"
put legacy.iptables-save.all "-A FORWARD -j ACCEPT"
put nft.ip6tables-save.all "-A INPUT -j ACCEPT"
run "more legacy rules: legacy" 0 "backend=xtables-legacy-multi"

put nft.iptables-save.mangle ":KUBE-IPTABLES-HINT - [0:0]"
run "kubelet's hint in nft wins over rule counts" 0 "backend=xtables-nft-multi"

reset
put nft.iptables-save.all "-A INPUT -j ACCEPT"
put nft.iptables-save.all "-A FORWARD -j ACCEPT"
put legacy.ip6tables-save.mangle ":KUBE-KUBELET-CANARY - [0:0]"
run "kubelet's canary in legacy wins over rule counts" 0 "backend=xtables-legacy-multi"

reset
put nft.iptables-save.mangle ":KUBE-IPTABLES-HINT - [0:0]"
run "forced legacy" 0 "backend=xtables-legacy-multi" legacy
run "a bad mode is refused" 1 "must be auto, nft or legacy" iptables

rm "$tmp/fakebin/xtables-legacy-multi"
run "a missing backend is refused" 1 "xtables-legacy-multi not found" legacy

if [ "$failures" -gt 0 ]; then
  echo "FAILED: check_entrypoint ($failures problem(s))"
  exit 1
fi
echo "PASS: check_entrypoint"
