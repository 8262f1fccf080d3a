#!/bin/sh
# The real agent in standalone mode (--source, data/iptables/) and the iptables paths it renders,
# proven with packets between namespaces (issue #18 §4): source IP with externalTrafficPolicy
# Cluster and Local, masqueradeAll, hairpin (KUBE-LOOP-BACK), LoadBalancer source ranges, unknown
# ports on a ClusterIP (KUBE-IPVS-FILTER / KUBE-IPVS-IPS), a Service without endpoints. One boot.
. /test/lib/testlib.sh
net_init

NODE_ARGS="--hostname-override=demo-node --nodeport-addresses=192.168.100.0/24"
# A long sync period: each full sync rewrites the KUBE chains, which resets the rule counters the
# checks read (changes to the source files still sync at once).
AGENT_ARGS="--source=/run/src $NODE_ARGS --ipvs-sync-period=600s
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249"
CLIENT=10.250.0.5   # inside the LoadBalancer's source range
STRANGER=10.251.0.5 # outside it
BACKEND=10.244.2.1

# peer NS IP PORT: what the server behind IP:PORT answers (b1's port 9090 answers with the peer
# address it sees); nc's own error text when there is no answer.
peer() {
  case $1 in -) _x= ;; *) _x="$IP netns exec $1" ;; esac
  echo | $_x nc -w 5 "$2" "$3" 2>&1 | tr -d '\r'
}
# rule_packets TABLE CHAIN RULE-TAIL: the packet counter of the rule "-A CHAIN RULE-TAIL".
rule_packets() {
  $IPTABLES_SAVE -c -t "$1" | awk -v r="-A $2 $3" '
    { line = $0; sub(/^\[[0-9]+:[0-9]+\] /, "", line) }
    line == r { c = $1; sub(/^./, "", c); split(c, n, ":"); print n[1]; found = 1 }
    END { if (!found) print "missing" }'
}
# start_agent ARGS...: the agent in the background; waits until every virtual server is there.
start_agent() {
  # shellcheck disable=SC2086
  ipvs-agent $AGENT_ARGS "$@" >>/tmp/agent.log 2>&1 &
  AGENT=$!
  retry 300 sh -c "$IPVSADM -Sn | grep -q -- '-A -t 192.168.200.40:80' &&
    $IPVSADM -Sn | grep -q -- '-A -t 10.96.2.5:80' &&
    $IPTABLES_SAVE -t filter | grep -q -- '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP'" ||
    t_die "agent programmed nothing: $(tail -30 /tmp/agent.log)"
}

# The node (NodePorts listen on node0), one backend b1 on this node serving HTTP (8080, "b1") and
# its peer's address (9090), a client inside the LB source range and one outside it, and a
# listener of the node itself on port 9999 (a host service on 0.0.0.0, issue #72236's case).
$IP link add node0 type dummy && $IP link set node0 up
$IP addr add 192.168.100.10/24 dev node0
mk_backend b1 "$BACKEND" b1
# shellcheck disable=SC2016  # expanded by socat's shell for each connection
$IP netns exec b1 $SOCAT TCP-LISTEN:9090,fork,reuseaddr 'SYSTEM:echo $SOCAT_PEERADDR' &
# shellcheck disable=SC2016
$SOCAT TCP-LISTEN:9999,fork,reuseaddr 'SYSTEM:echo node' &
mk_client c1 "$CLIENT"
mk_client c2 "$STRANGER"
retry 50 sh -c "[ \"\$(echo | $IP netns exec b1 nc -w 5 $BACKEND 9090)\" = $BACKEND ]" ||
  t_die "the peer-address server in b1 does not answer"
# The address the node masquerades to when it sends to b1 (the source of its route to b1).
NODE_SRC=$($IP route get "$BACKEND" | sed -n 's/.* src \([0-9.]*\).*/\1/p')
echo "  node source address towards b1: $NODE_SRC"
[ -n "$NODE_SRC" ] && [ "$NODE_SRC" != "$CLIENT" ] || t_die "no node source address: $NODE_SRC"

mkdir -p /run/src && cp /test/m/*.yaml /run/src/
start_agent

t_begin "state: every Service programmed; the one without endpoints has no real server"
RULES=$($IPVSADM -Sn)
assert_contains "$RULES" "-a -t 192.168.100.10:30101 -r $BACKEND:9090 -m -w 1"
assert_contains "$RULES" "-a -t 192.168.100.10:30102 -r $BACKEND:9090 -m -w 1"
assert_contains "$RULES" "-a -t 192.168.200.40:80 -r $BACKEND:8080 -m -w 1"
assert_contains "$RULES" "-A -t 10.96.2.5:80 -s rr"
assert_not_contains "$RULES" "-a -t 10.96.2.5:80" "a real server behind the Service without endpoints"
assert_match "$($IPTABLES_SAVE -t nat)" \
  "-A KUBE-SERVICES .*--match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ"

t_begin "source IP, Cluster: through the NodePort the backend sees the node's address"
assert_eq "$NODE_SRC" "$(peer c1 192.168.100.10 30101)"

t_begin "source IP, Local: through the NodePort the backend sees the real client address"
assert_eq "$CLIENT" "$(peer c1 192.168.100.10 30102)"
assert_contains "$($IPSET save KUBE-NODE-PORT-LOCAL-TCP)" "add KUBE-NODE-PORT-LOCAL-TCP 30102"

t_begin "ClusterIP without masqueradeAll (no cluster CIDR): the backend sees the real client"
assert_eq "$CLIENT" "$(peer c1 10.96.2.1 80)"

t_begin "hairpin: b1 calling its own Service lands on itself and is answered (KUBE-LOOP-BACK)"
assert_contains "$($IPSET save KUBE-LOOP-BACK)" "add KUBE-LOOP-BACK $BACKEND,tcp:9090,$BACKEND"
BEFORE=$(rule_packets nat KUBE-POSTROUTING \
  '-m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE')
# Masqueraded to the node: without it b1 would get a packet from its own address and drop it.
assert_eq "$NODE_SRC" "$(peer b1 10.96.2.3 80)"
AFTER=$(rule_packets nat KUBE-POSTROUTING \
  '-m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE')
echo "  KUBE-LOOP-BACK MASQUERADE packets: $BEFORE -> $AFTER"
[ "$AFTER" != missing ] && [ "$AFTER" -gt "$BEFORE" ] ||
  t_fail "the hairpin MASQUERADE rule did not match ($BEFORE -> $AFTER)"

t_begin "LoadBalancer source ranges: an allowed source gets through, another is dropped"
assert_contains "$($IPSET save KUBE-LOAD-BALANCER-SOURCE-CIDR)" \
  "add KUBE-LOAD-BALANCER-SOURCE-CIDR 192.168.200.40,tcp:80,10.250.0.0/24"
assert_eq "b1=3" "$(http_tally c1 192.168.200.40 80 3)"
DROPS=$(rule_packets filter KUBE-SOURCE-RANGES-FIREWALL "-j DROP")
assert_eq "none=2" "$(HTTP_TIMEOUT=3 http_tally c2 192.168.200.40 80 2)"
DROPS2=$(rule_packets filter KUBE-SOURCE-RANGES-FIREWALL "-j DROP")
echo "  KUBE-SOURCE-RANGES-FIREWALL DROP packets: $DROPS -> $DROPS2"
[ "$DROPS2" != missing ] && [ "$DROPS2" -gt "$DROPS" ] ||
  t_fail "the stranger's packets were not dropped by the source-range firewall"
assert_not_contains "$(peer c2 192.168.200.40 80)" "refused" "dropped, not rejected"
assert_eq "b1=2" "$(http_tally c2 10.96.2.4 80 2)" "the ClusterIP has no source ranges"

t_begin "unknown port: a ClusterIP port without a Service does not reach the node's listener"
assert_eq "node" "$(peer c1 192.168.100.10 9999)" "the node's own listener answers on its address"
assert_contains "$($IPSET save KUBE-IPVS-IPS)" "add KUBE-IPVS-IPS 10.96.2.1"
REJ_RULE="-m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable"
REJ=$(rule_packets filter KUBE-IPVS-FILTER "$REJ_RULE")
OUT=$(peer c1 10.96.2.1 9999)
REJ2=$(rule_packets filter KUBE-IPVS-FILTER "$REJ_RULE")
echo "  10.96.2.1:9999 -> '$OUT'; KUBE-IPVS-FILTER REJECT packets: $REJ -> $REJ2"
assert_not_contains "$OUT" "node" "the node's listener answered on a ClusterIP"
assert_contains "$OUT" "refused" "rejected (kube-proxy REJECTs, the client sees a refusal)"
[ "$REJ2" != missing ] && [ "$REJ2" -gt "$REJ" ] || t_fail "KUBE-IPVS-FILTER did not reject it"
assert_eq "$CLIENT" "$(peer c1 10.96.2.1 80)" "the Service's own port on that ClusterIP still works"

t_begin "no endpoints: connections to the Service are refused, not black-holed"
# The Service's port passes KUBE-IPVS-FILTER (it is in KUBE-CLUSTER-IP); IPVS finds no real server
# and the kernel refuses the connection (kube-proxy leaves the virtual server empty the same way).
assert_contains "$($IPSET save KUBE-CLUSTER-IP)" "add KUBE-CLUSTER-IP 10.96.2.5,tcp:80"
REJ=$(rule_packets filter KUBE-IPVS-FILTER "$REJ_RULE")
OUT=$(peer c1 10.96.2.5 80)
echo "  10.96.2.5:80 -> '$OUT'"
assert_contains "$OUT" "refused"
assert_eq "$REJ" "$(rule_packets filter KUBE-IPVS-FILTER "$REJ_RULE")" "refused by the filter, not by IPVS"

t_begin "masqueradeAll: after a restart with --masquerade-all the backend sees the node address"
kill "$AGENT" && wait "$AGENT"
start_agent --masquerade-all
retry 150 sh -c "$IPTABLES_SAVE -t nat | grep -q -- '--match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ'" ||
  t_fail "no masquerade-all rule: $($IPTABLES_SAVE -t nat | grep KUBE-CLUSTER-IP)"
assert_eq "$NODE_SRC" "$(peer c1 10.96.2.1 80)"
assert_eq "$NODE_SRC" "$(peer c1 10.96.2.3 80)" "every ClusterIP"

t_summary
