#!/bin/sh
# The real agent in standalone mode (--source) programs the kernel for the example manifests;
# everything is read back with the real tools and exercised with real traffic.
. /test/lib/testlib.sh
net_init

# NodePorts listen on the node network only (the harness's veths carry 169.254.1.1 too).
NODE_ARGS="--hostname-override=demo-node --nodeport-addresses=192.168.100.0/24"
AGENT_ARGS="--source=/run/src $NODE_ARGS --ipvs-sync-period=3s
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249"
start_agent() {
  # shellcheck disable=SC2086
  ipvs-agent $AGENT_ARGS >>/tmp/agent.log 2>&1 &
  AGENT=$!
}
ipvsadm_rules() { $IPVSADM -Sn | sort; }
rs_count() { $IPVSADM -Sn | grep -c -- "-a -t $1 "; }
http_status() { printf 'GET %s HTTP/1.0\r\n\r\n' "$2" | busybox nc 127.0.0.1 "$1" | head -1; }

# The node's own address (NodePorts listen here), backends, a client, and routes that make the
# UDP Service's backends unicast-routable.
$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
route_cover 10.244.2.0/24
mk_backend b1 10.244.1.1 b1
mk_backend b2 10.244.1.2 b2
mk_backend b3 10.244.1.3 b3
mk_client c1 10.250.0.5
mkdir -p /run/src && cp /test/m/*.yaml /run/src/

# Another tool's virtual server: the agent must never touch it.
$IPVSADM -A -t 192.0.2.1:443 -s wlc
$IPVSADM -a -t 192.0.2.1:443 -r 10.244.9.9:443 -m -w 3 2>/dev/null || true
FOREIGN=$($IPVSADM -Sn | grep 192.0.2.1 | sort)

# Leftovers of kube-proxy's iptables mode (a node taken over), and a chain of another owner.
$IPTABLES_RESTORE --noflush <<'RULES'
*nat
:KUBE-SVC-LEGACYTEST - [0:0]
:KUBE-SEP-LEGACYTEST - [0:0]
:OTHER-OWNER - [0:0]
-A OUTPUT -d 10.96.99.1/32 -p tcp --dport 80 -j KUBE-SVC-LEGACYTEST
-A KUBE-SVC-LEGACYTEST -j KUBE-SEP-LEGACYTEST
-A KUBE-SEP-LEGACYTEST -p tcp -j DNAT --to-destination 10.244.1.1:8080
-A OTHER-OWNER -p tcp --dport 9999 -j RETURN
COMMIT
RULES

start_agent
retry 150 sh -c "$IPVSADM -Sn | grep -q 192.168.100.10:30080" || t_die "agent programmed nothing: $(cat /tmp/agent.log)"

t_begin "every example Service has its virtual server, scheduler and flags"
RULES=$(ipvsadm_rules)
assert_contains "$RULES" "-A -t 10.96.0.10:80 -s rr"
assert_contains "$RULES" "-A -t 10.96.0.11:80 -s lc"
assert_contains "$RULES" "-A -t 10.96.0.12:80 -s sh -b sh-fallback,sh-port"
assert_contains "$RULES" "-A -t 10.96.0.20:80 -s rr -p 600"
assert_contains "$RULES" "-A -u 10.96.0.53:53 -s mh -b mh-port"
assert_contains "$RULES" "-A -t 192.168.100.10:30080 -s lc"
assert_contains "$RULES" "-a -t 10.96.0.10:80 -r 10.244.1.3:8080 -m -w 1"
assert_not_contains "$RULES" "-a -t 10.96.0.12:80 -r 10.244.1.3:8080"

t_begin "the kernel holds exactly the dry-run plan (plus the foreign service)"
# shellcheck disable=SC2086
ipvs-agent --source=/run/src --dry-run $NODE_ARGS 2>/dev/null |
  sed -n '/^# IPVS/,/^# ipsets/p' | grep '^-' >/tmp/plan
{ cat /tmp/plan; echo "$FOREIGN"; } | sort >/tmp/expected
assert_eq "$(cat /tmp/expected)" "$(ipvsadm_rules)"

t_begin "ipsets, kube-ipvs0 addresses and iptables chains"
SETS=$($IPSET save)
assert_contains "$SETS" "add KUBE-CLUSTER-IP 10.96.0.10,tcp:80"
assert_contains "$SETS" "add KUBE-NODE-PORT-TCP 30080"
assert_contains "$SETS" "add KUBE-LOOP-BACK 10.244.1.1,tcp:8080,10.244.1.1"
ADDRS=$($IP -4 addr show dev kube-ipvs0)
for vip in 10.96.0.10 10.96.0.11 10.96.0.12 10.96.0.20 10.96.0.53; do
  assert_contains "$ADDRS" "inet $vip/32"
done
NAT=$($IPTABLES_SAVE -t nat)
assert_contains "$NAT" "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ"
assert_contains "$NAT" "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"

t_begin "kube-proxy iptables-mode chains are gone once the IPVS rules are in; others stay"
retry 50 sh -c "! $IPTABLES_SAVE -t nat | grep -q LEGACYTEST" || t_fail "KUBE-SVC-LEGACYTEST still there"
assert_contains "$($IPTABLES_SAVE -t nat)" "-A OTHER-OWNER -p tcp -m tcp --dport 9999 -j RETURN"

t_begin "round robin through the ClusterIP splits 30 requests 10/10/10"
assert_eq "b1=10 b2=10 b3=10" "$(http_tally c1 10.96.0.10 80 30)"

t_begin "the NodePort answers through the node address"
TALLY=$(http_tally c1 192.168.100.10 30080 6)
assert_not_contains "$TALLY" "none"

t_begin "a persistent Service keeps a client on one backend"
assert_match "$(http_tally c1 10.96.0.20 80 6)" '^b[12]=6$'

t_begin "health and metrics endpoints answer"
assert_contains "$(http_status 10256 /healthz)" "200"
METRICS=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249)
assert_contains "$METRICS" "kubeproxy_sync_proxy_rules_duration_seconds_count"
assert_contains "$METRICS" 'ipvs_agent_virtual_servers{scheduler="lc"} 2'

t_begin "editing the manifest scales the endpoints: the agent converges"
# Drop 10.244.1.3 (3 lines) from web-rr's slice; write a new file and rename it, as editors do.
awk '/name: web-rr-abcde/ {rr = 1} /^---/ {rr = 0} rr && /10.244.1.3/ {skip = 3}
     skip > 0 {skip--; next} {print}' /run/src/endpointslices.yaml >/run/new.yaml
mv /run/new.yaml /run/src/endpointslices.yaml
# 10.244.1.3 served requests a moment ago: its closed connections still count as inactive, so
# graceful termination keeps it at weight 0 (no new connections) until they expire.
retry 100 sh -c "$IPVSADM -Sn | grep -q -- '-a -t 10.96.0.10:80 -r 10.244.1.3:8080 -m -w 0'" ||
  t_fail "10.244.1.3 not drained: $($IPVSADM -Sn | grep 10.96.0.10:80)"
assert_eq "b1=10 b2=10" "$(http_tally c1 10.96.0.10 80 20)"

t_begin "drift made by hand is repaired within the sync period"
$IPVSADM -d -t 10.96.0.11:80 -r 10.244.1.1:8080
$IPVSADM -e -t 10.96.0.11:80 -r 10.244.1.2:8080 -m -w 9
$IPSET del KUBE-CLUSTER-IP 10.96.0.11,tcp:80
retry 150 sh -c "$IPVSADM -Sn | grep -q -- '-a -t 10.96.0.11:80 -r 10.244.1.1:8080 -m -w 1'" ||
  t_fail "deleted real server not restored"
retry 50 sh -c "$IPVSADM -Sn | grep -q -- '-a -t 10.96.0.11:80 -r 10.244.1.2:8080 -m -w 1'" ||
  t_fail "weight not restored"
retry 50 sh -c "$IPSET test KUBE-CLUSTER-IP 10.96.0.11,tcp:80 2>/dev/null" ||
  t_fail "ipset entry not restored"

t_begin "a resync compares the dump with what the agent wrote: the hand-made drift, then none"
# The resync's dump is compared with the agent's mirror as it is read; only what differs is
# replanned. Both edits of 10.96.0.11's real servers are one virtual server; the ipset entry is
# the other. Nothing the agent wrote itself (any family, protocol or scheduler of the example
# manifests, the foreign virtual server) may read back as different from what it sent.
metric() {
  printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249 | awk -v m="$1" '$1 == m {print $2}'
}
syncs_reach() { [ "$(metric kubeproxy_sync_proxy_rules_duration_seconds_count)" -ge "$1" ]; }
drift_reaches() { [ "$(metric ipvs_agent_resync_drift_total)" -ge "$1" ]; }
# The three edits may fall either side of a resync's read, so 2 or more; the metrics are
# published just after the kernel is repaired.
retry 50 drift_reaches 2 || t_fail "drift counted: '$(metric ipvs_agent_resync_drift_total)'"
DRIFT=$(metric ipvs_agent_resync_drift_total)
# Three more full resyncs (each completing one is a reported sync) find nothing.
SYNCS=$(metric kubeproxy_sync_proxy_rules_duration_seconds_count)
retry 150 syncs_reach $((SYNCS + 3)) || t_fail "no further full resync"
assert_eq "$DRIFT" "$(metric ipvs_agent_resync_drift_total)" "drift found where nothing changed"

t_begin "kill -9 and restart: nothing owned is deleted, traffic never fails"
BEFORE=$(ipvsadm_rules)
(
  i=0
  while [ ! -e /tmp/stop-loop ]; do
    http_get c1 10.96.0.10 80 >/dev/null || echo fail >>/tmp/loop-failures
    i=$((i + 1))
  done
  echo "$i" >/tmp/loop-count
) &
LOOP=$!
sleep 1
kill -9 "$AGENT"
sleep 1
start_agent
retry 100 sh -c "grep -q 'sync done\|started' /tmp/agent.log" || true
sleep 4
touch /tmp/stop-loop
wait "$LOOP"
assert_eq "$BEFORE" "$(ipvsadm_rules)"
assert_eq "0" "$(cat /tmp/loop-failures 2>/dev/null | wc -l)" "requests failed across the restart"
assert_ne "0" "$(cat /tmp/loop-count)"

t_begin "the foreign virtual server was never touched"
assert_eq "$FOREIGN" "$($IPVSADM -Sn | grep 192.0.2.1 | sort)"

t_begin "SIGTERM stops the agent and leaves the kernel state in place"
BEFORE=$(ipvsadm_rules)
kill "$AGENT"
wait "$AGENT"
assert_eq "0" "$?" "exit status after SIGTERM"
assert_eq "$BEFORE" "$(ipvsadm_rules)"

t_begin "--cleanup removes only what the agent owns"
# shellcheck disable=SC2086
assert_ok ipvs-agent --cleanup $NODE_ARGS --ipvs-exclude-cidrs=10.96.0.53/32
LEFT=$(ipvsadm_rules)
assert_contains "$LEFT" "-A -t 192.0.2.1:443 -s wlc"
assert_contains "$LEFT" "-A -u 10.96.0.53:53 -s mh -b mh-port" "an excluded VS must survive"
assert_not_contains "$LEFT" "10.96.0.10"
assert_not_contains "$LEFT" "30080"
assert_fails $IP link show kube-ipvs0
assert_not_contains "$($IPSET list -n)" "KUBE-"
assert_not_contains "$($IPTABLES_SAVE)" "KUBE-"
assert_contains "$($IPTABLES_SAVE -t nat)" "OTHER-OWNER"

t_summary
