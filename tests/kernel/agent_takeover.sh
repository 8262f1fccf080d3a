#!/bin/sh
# Taking over a node that kube-proxy's IPVS mode ran (issue #18 §5): the state kube-proxy leaves
# (data/takeover/kube-proxy-ipvs.*, written from upstream's code) is loaded, clients loop through
# the ClusterIP and the NodePort, and the real agent (--source) starts over it. Proven: no failed
# request, no virtual server re-created (its counters keep growing), and the end state equal to
# what the agent builds from a clean node, in the same boot.
. /test/lib/testlib.sh
net_init

NODE_ARGS="--hostname-override=demo-node --nodeport-addresses=192.168.100.0/24"
AGENT_ARGS="--source=/run/src $NODE_ARGS --ipvs-sync-period=3s
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249"
CIP=10.96.3.1:80
NP=192.168.100.10:30201

nocomment() { grep -v '^#' "$1"; }
# conns VS: the connection count of virtual server VS (exact).
conns() { $IPVSADM -Ln --stats --exact -t "$1" | awk '$1 == "TCP" {print $3}'; }
# syncs: the agent's completed syncs (its metrics), 0 while it does not answer.
syncs() {
  _n=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.1 10249 2>/dev/null |
    awk '$1 == "kubeproxy_sync_proxy_rules_duration_seconds_count" {print $2}')
  echo "${_n:-0}"
}
# start_agent: the agent in the background; waits for its second completed sync.
start_agent() {
  # shellcheck disable=SC2086
  ipvs-agent $AGENT_ARGS >>/tmp/agent.log 2>&1 &
  AGENT=$!
  retry 600 sh -c "[ \$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.1 10249 2>/dev/null |
    awk '\$1 == \"kubeproxy_sync_proxy_rules_duration_seconds_count\" {print \$2}') -ge 2 ] 2>/dev/null" ||
    t_die "the agent never completed two syncs: $(tail -30 /tmp/agent.log)"
}
# loop NAME IP PORT: GET / until /tmp/stop-loops exists; one line per request (body or FAIL).
loop() {
  while [ ! -f /tmp/stop-loops ]; do
    http_get c1 "$2" "$3" || echo FAIL
  done >"/tmp/loop-$1.log"
}
lines() { wc -l <"/tmp/loop-$1.log"; }
# dump: the node's proxy state, normalised: virtual servers, ipsets (without the per-set random
# initval), kube-ipvs0 addresses, and the KUBE rules of nat and filter (no counters, sorted: the
# jumps in the built-in chains may be in another order), the kubelet's KUBE-FIREWALL left out.
dump() {
  echo "# ipvs"
  $IPVSADM -Sn | sort
  echo "# ipset"
  $IPSET save | sed 's/ initval 0x[0-9a-f]*//' | sort
  echo "# kube-ipvs0"
  $IP -4 -o addr show dev kube-ipvs0 | awk '{print $4}' | sort
  for save in $IPTABLES_SAVE $IP6TABLES_SAVE; do
    for t in nat filter; do
      echo "# $save $t"
      $save -t $t | grep -E '^[:-]' | grep -- 'KUBE-' | grep -v -- 'KUBE-FIREWALL' |
        sed 's/ \[[0-9]*:[0-9]*\]$//' | sort
    done
  done
}

# clean_node: no KUBE chain, virtual server, ipset or kube-ipvs0 left.
clean_node() {
  $IPTABLES_SAVE | grep -v -- 'KUBE-' | $IPTABLES_RESTORE || t_fail "cannot clear the KUBE chains"
  $IP6TABLES_SAVE | grep -v -- 'KUBE-' | $IP6TABLES_RESTORE || t_fail "cannot clear the KUBE chains (v6)"
  $IPVSADM -C
  $IPSET destroy || t_fail "cannot destroy the ipsets"
  $IP link del kube-ipvs0 2>/dev/null
  [ -z "$($IPVSADM -Sn)$($IPSET save)$($IPTABLES_SAVE | grep KUBE-)" ] || t_fail "the node is not clean"
}
# samples: one line per look at the node while the agent takes over from the iptables mode:
# "<KUBE-SVC/SEP/EXT chains in nat> <IPVS real servers>", until /tmp/stop-loops exists.
samples() {
  while [ ! -f /tmp/stop-loops ]; do
    echo "$($IPTABLES_SAVE -t nat | grep -c '^:KUBE-\(SVC\|SEP\|EXT\)-') $($IPVSADM -Sn | grep -c '^-a')"
  done >/tmp/samples.log
}

# The node, two backends (on "another node" as far as the Service is concerned) and a client.
$IP link add node0 type dummy && $IP link set node0 up
$IP addr add 192.168.100.10/24 dev node0
mk_backend b1 10.244.3.1 b1
mk_backend b2 10.244.3.2 b2
mk_client c1 10.250.0.5
mkdir -p /run/src && cp /test/m/*.yaml /run/src/

t_begin "kube-proxy's IPVS state loads and carries traffic (ClusterIP and NodePort)"
mk_kube_ipvs0
bind_vip 10.96.3.1
assert_ok sh -c "grep -v '^#' /test/takeover/kube-proxy-ipvs.ipset | $IPSET restore"
assert_ok $IPTABLES_RESTORE --noflush /test/takeover/kube-proxy-ipvs.iptables
assert_ok sh -c "grep -v '^#' /test/takeover/kube-proxy-ipvs.ipvsadm | $IPVSADM -R"
assert_eq "b1=2 b2=2" "$(http_tally c1 10.96.3.1 80 4)"
assert_eq "b1=2 b2=2" "$(http_tally c1 192.168.100.10 30201 4)"
FIREWALL=$($IPTABLES_SAVE -t filter | grep -- '-A KUBE-FIREWALL')
dump >/tmp/kube-proxy.state

t_begin "takeover under load: the agent starts while clients loop; no request fails"
loop cip 10.96.3.1 80 &
LOOPS=$!
loop np 192.168.100.10 30201 &
LOOPS="$LOOPS $!"
retry 600 sh -c "[ \$(wc -l </tmp/loop-cip.log) -ge 16 ] && [ \$(wc -l </tmp/loop-np.log) -ge 16 ]" ||
  t_fail "the loops do not run"
C0=$(conns $CIP)
N0=$(conns $NP)
L0=$(lines cip)
M0=$(lines np)
start_agent
# Enough requests after the agent's second sync to cover its steady state.
retry 600 sh -c "[ \$(wc -l </tmp/loop-cip.log) -ge $((L0 + 20)) ] && [ \$(wc -l </tmp/loop-np.log) -ge $((M0 + 20)) ]" ||
  t_fail "the loops stalled after the takeover"
touch /tmp/stop-loops
# shellcheck disable=SC2086
wait $LOOPS
C1=$(conns $CIP)
N1=$(conns $NP)
echo "  requests: ClusterIP $(lines cip), NodePort $(lines np); failed: $(grep -c FAIL /tmp/loop-cip.log), $(grep -c FAIL /tmp/loop-np.log)"
echo "  connections: ClusterIP $C0 -> $C1, NodePort $N0 -> $N1 (requests after: $(($(lines cip) - L0)), $(($(lines np) - M0)))"
assert_eq "0" "$(grep -c FAIL /tmp/loop-cip.log)" "failed requests through the ClusterIP"
assert_eq "0" "$(grep -c FAIL /tmp/loop-np.log)" "failed requests through the NodePort"
assert_eq "b1 b2" "$(sort -u /tmp/loop-cip.log | tr '\n' ' ' | sed 's/ $//')" "answers: both backends"

t_begin "no virtual server was re-created: connection counters kept the earlier connections"
# A re-created virtual server starts from zero, so it would count at most the requests made after
# the agent started. (The count can be a little below the number of requests: IPVS may reuse the
# entry of a TIME_WAIT connection for a new one from the same source port.)
R=$(($(lines cip) - L0))
S=$(($(lines np) - M0))
[ "$C1" -gt "$R" ] && [ "$C1" -gt "$C0" ] || t_fail "ClusterIP: $C0 -> $C1 for $R more requests"
[ "$N1" -gt "$S" ] && [ "$N1" -gt "$N0" ] || t_fail "NodePort: $N0 -> $N1 for $S more requests"
assert_eq "$FIREWALL" "$($IPTABLES_SAVE -t filter | grep -- '-A KUBE-FIREWALL')" "kubelet's KUBE-FIREWALL untouched"
dump >/tmp/takeover.state
for want in "-A -t 10.96.3.1:80 -s rr" "-a -t 192.168.100.10:30201 -r 10.244.3.2:8080 -m -w 1" \
  "add KUBE-CLUSTER-IP 10.96.3.1,tcp:80" "add KUBE-NODE-PORT-TCP 30201" "10.96.3.1/32" \
  "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT"; do
  assert_contains "$(cat /tmp/takeover.state)" "$want" "the end state misses it"
done
# For information: how the agent's state differs from the one kube-proxy left.
diff /tmp/kube-proxy.state /tmp/takeover.state | grep '^[-+]' | grep -v '^\(---\|+++\) ' | sed 's/^/  kube-proxy -> agent: /'

t_begin "the end state equals what the agent builds on a clean node"
kill "$AGENT" && wait "$AGENT"
clean_node
start_agent
dump >/tmp/scratch.state
assert_eq "$(cat /tmp/scratch.state)" "$(cat /tmp/takeover.state)"
diff /tmp/scratch.state /tmp/takeover.state | sed 's/^/  diff scratch takeover: /'
assert_eq "b1=2 b2=2" "$(http_tally c1 10.96.3.1 80 4)" "and it carries traffic"

t_begin "kube-proxy's iptables mode state loads and carries traffic (no IPVS)"
kill "$AGENT" && wait "$AGENT"
clean_node
assert_ok $IPTABLES_RESTORE --noflush /test/takeover/kube-proxy-iptables.iptables
assert_eq "" "$($IPVSADM -Sn)" "no virtual server"
assert_not_contains "$(http_tally c1 10.96.3.1 80 6)" "none"
assert_not_contains "$(http_tally c1 192.168.100.10 30201 6)" "none"

t_begin "--proxy-mode swap under load: no request fails, the leftovers go only after IPVS is in"
rm -f /tmp/stop-loops
loop cip 10.96.3.1 80 &
LOOPS=$!
loop np 192.168.100.10 30201 &
LOOPS="$LOOPS $!"
samples &
LOOPS="$LOOPS $!"
retry 600 sh -c "[ \$(wc -l </tmp/loop-cip.log) -ge 10 ] && [ \$(wc -l </tmp/loop-np.log) -ge 10 ]" ||
  t_fail "the loops do not run"
L0=$(lines cip)
M0=$(lines np)
start_agent
retry 600 sh -c "[ \$(wc -l </tmp/loop-cip.log) -ge $((L0 + 20)) ] && [ \$(wc -l </tmp/loop-np.log) -ge $((M0 + 20)) ]" ||
  t_fail "the loops stalled after the swap"
retry 300 sh -c "! $IPTABLES_SAVE -t nat | grep -q '^:KUBE-SVC-'" || t_fail "KUBE-SVC-* never removed"
touch /tmp/stop-loops
# shellcheck disable=SC2086
wait $LOOPS
echo "  requests: ClusterIP $(lines cip), NodePort $(lines np); failed: $(grep -c FAIL /tmp/loop-cip.log), $(grep -c FAIL /tmp/loop-np.log)"
echo "  samples (iptables-mode chains, IPVS real servers): $(uniq -c /tmp/samples.log | tr -s ' \n' ' ')"
assert_eq "0" "$(grep -c FAIL /tmp/loop-cip.log)" "failed requests through the ClusterIP"
assert_eq "0" "$(grep -c FAIL /tmp/loop-np.log)" "failed requests through the NodePort"
assert_eq "4 0" "$(head -1 /tmp/samples.log)" "the first look: iptables mode only"
assert_eq "0" "$(awk '$1 == 0 && $2 < 4' /tmp/samples.log | wc -l)" "leftovers removed before IPVS had every real server"
NAT=$($IPTABLES_SAVE -t nat)
for gone in KUBE-SVC- KUBE-SEP- KUBE-EXT- KUBE-NODEPORTS; do
  assert_not_contains "$NAT" "$gone" "an iptables-mode leftover stays"
done
assert_not_contains "$($IPTABLES_SAVE -t filter)" "KUBE-EXTERNAL-SERVICES" "an iptables-mode leftover stays"
[ "$(conns $CIP)" -gt 0 ] && [ "$(conns $NP)" -gt 0 ] || t_fail "IPVS carried no connection"
dump >/tmp/swap.state
assert_eq "$(cat /tmp/scratch.state)" "$(cat /tmp/swap.state)" "the end state differs from a clean-node build"

t_begin "the iptables mode's jumps into the shared KUBE-PROXY-FIREWALL are removed too"
# kube-proxy's iptables mode jumps to KUBE-PROXY-FIREWALL from INPUT, FORWARD and OUTPUT with
# "-m conntrack --ctstate NEW ... kubernetes load balancer firewall"; the IPVS mode keeps that chain
# with its own jumps (INPUT and FORWARD only). Left in place, LoadBalancer source ranges would also
# filter the node's own OUTPUT traffic, which kube-proxy's IPVS mode does not do.
FILTER=$($IPTABLES_SAVE -t filter)
assert_not_contains "$FILTER" "kubernetes load balancer firewall"
assert_contains "$FILTER" '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL'
assert_contains "$FILTER" '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL'

t_summary
