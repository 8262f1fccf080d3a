#!/bin/sh
# The real agent in standalone mode (--source) with Services of every family and protocol
# (data/families/): dual-stack and IPv6-only TCP, UDP as DNS uses it, SCTP. Real traffic between
# namespaces, kernel state read back with the real tools. One boot for all of issue #18 §1-§3.
. /test/lib/testlib.sh
net_init
PROBE=/test/bin/families_probe
CONNTRACK=/usr/sbin/conntrack

NODE_ARGS="--hostname-override=demo-node --nodeport-addresses=192.168.100.0/24,fd00:100::/64"
AGENT_ARGS="--source=/run/src $NODE_ARGS --ipvs-sync-period=3s
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249"
# tally: "NAME=COUNT ..." of the lines on stdin, sorted by name (as http_tally prints).
tally() { sort | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1} END {print ""}'; }
# ns_run NS CMD...: CMD in namespace NS.
ns_run() {
  _ns=$1
  shift
  $IP netns exec "$_ns" "$@"
}
# udp_spread NS IP PORT N: N datagrams, each from a new socket (a new source port).
udp_spread() {
  _i=0
  while [ "$_i" -lt "$4" ]; do
    ns_run "$1" $PROBE udp-ask "$2" "$3" 1
    _i=$((_i + 1))
  done | tally
}
# drop_endpoint FILE SLICE ADDRESS: remove ADDRESS (its 3 lines) from SLICE; write and rename,
# as editors do, so the agent's inotify watch sees one complete new file.
drop_endpoint() {
  awk -v s="name: $2" -v a="\"$3\"" '$0 ~ s {in_s = 1} /^---/ {in_s = 0}
    in_s && index($0, a) {skip = 3} skip > 0 {skip--; next} {print}' "$1" >/run/edit.yaml
  mv /run/edit.yaml "$1"
}

# The node (both families; NodePorts listen here), three dual-stack backends each serving HTTP
# (8080), UDP (5353) and SCTP (7070), and an "outside" client with both families.
$IP link add node0 type dummy && $IP link set node0 up
$IP addr add 192.168.100.10/24 dev node0
$IP addr add fd00:100::10/64 dev node0 nodad
for n in 1 2 3; do
  mk_backend "b$n" "10.244.1.$n" "b$n"
  ns_add_ip "b$n" "fd00:244::$n"
  ns_run "b$n" $PROBE udp-serve 5353 "b$n" >>/tmp/servers.log 2>&1 &
  ns_run "b$n" $PROBE sctp-serve 7070 "b$n" >>/tmp/servers.log 2>&1 &
done
mk_client c1 10.250.0.5
ns_add_ip c1 fd00:250::5
mkdir -p /run/src && cp /test/m/*.yaml /run/src/

# The agent must set these itself (kube-proxy's IPVS sysctls; they cover both families).
sysctl -qw net.ipv4.vs.expire_nodest_conn=0
sysctl -qw net.ipv4.vs.expire_quiescent_template=0

# shellcheck disable=SC2086
ipvs-agent $AGENT_ARGS >>/tmp/agent.log 2>&1 &
retry 300 sh -c "$IPVSADM -Sn | grep -q 'fd00:100::10\]:30082'" ||
  t_die "agent programmed nothing: $(cat /tmp/agent.log)"
retry 50 sh -c "$IPVSADM -Sn | grep -q '192.168.100.10:30070'" || true

# ---- §1 dual-stack and IPv6 ----------------------------------------------------------------

t_begin "v6: the kernel holds exactly the dry-run plan, both families"
# shellcheck disable=SC2086
ipvs-agent --source=/run/src --dry-run $NODE_ARGS 2>/dev/null |
  sed -n '/^# IPVS/,/^# ipsets/p' | grep '^-' | sort >/tmp/plan
assert_eq "$(cat /tmp/plan)" "$($IPVSADM -Sn | sort)"
RULES=$($IPVSADM -Sn)
assert_contains "$RULES" "-A -t 10.96.1.10:80 -s rr"
assert_contains "$RULES" "-A -t [fd00:96::10]:80 -s rr"
assert_contains "$RULES" "-a -t [fd00:96::10]:80 -r [fd00:244::3]:8080 -m -w 1"
assert_contains "$RULES" "-A -t [fd00:96::20]:80 -s rr -p 10800"
assert_contains "$RULES" "-A -t [fd00:100::10]:30081 -s rr"

t_begin "v6: KUBE-6-* ipsets are family inet6 and hold the IPv6 entries"
SETS=$($IPSET save)
# (bitmap:port sets such as KUBE-6-NODE-PORT-TCP have no family, as with kube-proxy.)
for s in KUBE-6-CLUSTER-IP KUBE-6-LOOP-BACK KUBE-6-EXTERNAL-IP KUBE-6-LOAD-BALANCER \
  KUBE-6-LOAD-BALANCER-LOCAL KUBE-6-IPVS-IPS KUBE-6-NODE-PORT-SCTP-HASH; do
  assert_match "$SETS" "^create $s .*family inet6"
done
assert_match "$SETS" "^create KUBE-CLUSTER-IP .*family inet( |$)"
assert_contains "$SETS" "add KUBE-6-CLUSTER-IP fd00:96::10,tcp:80"
assert_contains "$SETS" "add KUBE-6-CLUSTER-IP fd00:96::20,tcp:80"
assert_contains "$SETS" "add KUBE-6-NODE-PORT-TCP 30081"
assert_contains "$SETS" "add KUBE-6-EXTERNAL-IP fd00:99::20,tcp:80"
assert_contains "$SETS" "add KUBE-6-LOAD-BALANCER-LOCAL fd00:98::30,tcp:80"
assert_contains "$SETS" "add KUBE-6-LOOP-BACK fd00:244::1,tcp:8080,fd00:244::1"
assert_contains "$SETS" "add KUBE-CLUSTER-IP 10.96.1.10,tcp:80"
assert_not_contains "$SETS" "add KUBE-CLUSTER-IP fd00" "IPv6 entry in an IPv4 set"

t_begin "v6: /128 addresses on kube-ipvs0 (ClusterIPs, external IP, LB ingress), /32 for IPv4"
ADDR6=$($IP -6 addr show dev kube-ipvs0)
for vip in fd00:96::10 fd00:96::20 fd00:96::30 fd00:99::20 fd00:98::30; do
  assert_contains "$ADDR6" "inet6 $vip/128"
done
assert_contains "$($IP -4 addr show dev kube-ipvs0)" "inet 10.96.1.10/32"

t_begin "v6: ip6tables holds the IPv6 chains over the KUBE-6-* sets"
NAT6=$($IP6TABLES_SAVE -t nat)
FILTER6=$($IP6TABLES_SAVE -t filter)
assert_contains "$NAT6" "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
assert_match "$NAT6" "^-A KUBE-SERVICES .*--match-set KUBE-6-CLUSTER-IP src,dst -j KUBE-MARK-MASQ"
assert_match "$NAT6" "--match-set KUBE-6-NODE-PORT-TCP dst"
assert_match "$NAT6" "--match-set KUBE-6-LOAD-BALANCER-LOCAL dst,dst -j RETURN"
assert_not_contains "$NAT6" "KUBE-CLUSTER-IP " "ip6tables refers to an IPv4 set"
assert_contains "$FILTER6" ":KUBE-FORWARD"
echo "$NAT6" | grep -c -- '^-A KUBE' | sed 's/^/  ip6tables nat KUBE rules: /'

t_begin "sysctls: the agent sets kube-proxy's IPVS sysctls (net.ipv4.vs.* also govern IPv6)"
assert_eq "1" "$(sysctl -n net.ipv4.vs.conntrack)"
assert_eq "1" "$(sysctl -n net.ipv4.vs.expire_nodest_conn)"
assert_eq "1" "$(sysctl -n net.ipv4.vs.expire_quiescent_template)"
assert_eq "1" "$(sysctl -n net.ipv4.ip_forward)"

t_begin "v6: rr through the IPv6 ClusterIP splits 9 requests 3/3/3"
assert_eq "b1=3 b2=3 b3=3" "$(http_tally c1 fd00:96::10 80 9)"

t_begin "dual-stack: the same Service's IPv4 ClusterIP splits 9 requests 3/3/3"
assert_eq "b1=3 b2=3 b3=3" "$(http_tally c1 10.96.1.10 80 9)"

t_begin "v6: the NodePort answers from an outside namespace over IPv6, 3/3/3"
assert_eq "b1=3 b2=3 b3=3" "$(http_tally c1 fd00:100::10 30081 9)"

t_begin "v6: ClientIP affinity keeps the client on one backend (ClusterIP and external IP)"
assert_match "$(http_tally c1 fd00:96::20 80 6)" '^b[123]=6$'
assert_match "$(http_tally c1 fd00:99::20 80 4)" '^b[123]=4$'

t_begin "v6: LoadBalancer ingress and NodePort with externalTrafficPolicy Local reach only the local endpoint"
assert_eq "b1=4" "$(http_tally c1 fd00:98::30 80 4)"
assert_eq "b1=4" "$(http_tally c1 fd00:100::10 30082 4)"
assert_eq "b1=2 b2=2 b3=2" "$(http_tally c1 fd00:96::30 80 6)" "the ClusterIP keeps every endpoint"

t_begin "v6: a scale-down drains: weight 0 while connections are open, they still get answers"
# Three held connections through rr land on the three backends; each waits on a fifo for its
# request, so fd00:244::3 has an open connection when it leaves the EndpointSlice.
for h in 1 2 3; do
  mkfifo "/tmp/held$h"
  (ns_run c1 nc -w 60 fd00:96::10 80 <"/tmp/held$h" >"/tmp/held$h.out" 2>&1) &
done
exec 7>/tmp/held1 8>/tmp/held2 9>/tmp/held3
retry 100 sh -c "[ \$($IPVSADM -Ln -t [fd00:96::10]:80 | awk '\$1 == \"->\" && \$5 ~ /^[1-9]/' | wc -l) -eq 3 ]" ||
  t_fail "held connections not on 3 backends: $($IPVSADM -Ln -t '[fd00:96::10]:80')"
drop_endpoint /run/src/endpointslices.yaml web-ds-v6 fd00:244::3
retry 150 sh -c "$IPVSADM -Sn | grep -q -- '-a -t \[fd00:96::10\]:80 -r \[fd00:244::3\]:8080 -m -w 0'" ||
  t_fail "fd00:244::3 not drained: $($IPVSADM -Sn | grep 'fd00:96::10')"
assert_eq "b1=3 b2=3" "$(http_tally c1 fd00:96::10 80 6)" "new connections avoid the draining backend"
assert_contains "$($IPVSADM -Sn)" "-a -t 10.96.1.10:80 -r 10.244.1.3:8080 -m -w 1" "IPv4 side untouched"
printf 'GET / HTTP/1.0\r\n\r\n' >&7
printf 'GET / HTTP/1.0\r\n\r\n' >&8
printf 'GET / HTTP/1.0\r\n\r\n' >&9
exec 7>&- 8>&- 9>&-
wait_held() { for h in 1 2 3; do grep -q '^b[123]' "/tmp/held$h.out" || return 1; done; }
retry 150 wait_held || t_fail "held connections unanswered: $(cat /tmp/held*.out)"
assert_eq "b1 b2 b3" "$(cat /tmp/held1.out /tmp/held2.out /tmp/held3.out | grep '^b[123]$' | sort | tr '\n' ' ' | sed 's/ $//')" \
  "the draining backend still answers its open connection"

# ---- §2 UDP ----------------------------------------------------------------------------------

t_begin "udp: the UDP ClusterIP is programmed and splits 9 datagrams (new source ports) 3/3/3"
assert_contains "$($IPVSADM -Sn)" "-A -u 10.96.1.53:53 -s rr"
assert_contains "$($IPSET save)" "add KUBE-CLUSTER-IP 10.96.1.53,udp:53"
assert_eq "b1=3 b2=3 b3=3" "$(udp_spread c1 10.96.1.53 53 9)"

t_begin "udp: one source port (the DNS pattern) stays on one backend"
# The client keeps asking from source port 40053 (1 s wait per answer) until /tmp/stop-udp.
ns_run c1 $PROBE udp-ask 10.96.1.53 53 100000 40053 /tmp/stop-udp >/tmp/udp.log 2>&1 &
UDP_CLIENT=$!
udp_lines() { wc -l </tmp/udp.log; }
retry 300 sh -c "[ \$(wc -l </tmp/udp.log) -ge 5 ]" || t_fail "UDP client got no answers: $(cat /tmp/udp.log)"
FIRST=$(head -5 /tmp/udp.log | sort -u)
assert_match "$FIRST" '^b[123]$' "the first answers come from a backend"
assert_eq "1" "$(printf '%s\n' "$FIRST" | wc -l)" "one source port, one backend: $FIRST"

t_begin "udp: the client pauses; its conntrack entry points at its backend"
GONE=$(printf '%s\n' "$FIRST" | head -1)
GONE_IP="10.244.1.${GONE#b}"
touch /tmp/stop-udp
wait "$UDP_CLIENT"
# ct_gone: the UDP conntrack entries to the ClusterIP answered by the backend to be removed.
ct_gone() { $CONNTRACK -L -p udp --orig-dst 10.96.1.53 --dport 53 --reply-src "$GONE_IP" 2>/dev/null; }
echo "  before the removal: $(ct_gone | tr -s ' ' | head -2)"
assert_match "$(ct_gone | wc -l)" '^[1-9]' "no conntrack entry with reply src $GONE_IP"
assert_contains "$(ct_gone)" "sport=40053"

t_begin "udp: the endpoint is removed: the agent deletes its conntrack entries"
# Since Linux 5.9, expire_nodest_conn=1 also makes the kernel expire a removed real server's
# IPVS connections, with their conntrack entries, one jiffy after the removal. Turned off here
# for the removal, as on older kernels, so that only the agent can delete them: no datagram is
# sent meanwhile either (the kernel also expires a connection when its next datagram arrives).
sysctl -qw net.ipv4.vs.expire_nodest_conn=0
drop_endpoint /run/src/endpointslices.yaml dns-udp-v4 "$GONE_IP"
retry 150 sh -c "! $IPVSADM -Sn | grep -q -- '-a -u 10.96.1.53:53 -r $GONE_IP:5353'" ||
  t_fail "UDP real server of $GONE not removed: $($IPVSADM -Sn | grep 10.96.1.53)"
retry 10 sh -c "[ \$($CONNTRACK -L -p udp --orig-dst 10.96.1.53 --reply-src $GONE_IP 2>/dev/null | wc -l) -eq 0 ]" ||
  t_fail "stale conntrack entries left: $(ct_gone)"
assert_eq "0" "$(ct_gone | wc -l)" "conntrack entries with reply src $GONE_IP after the removal"
sysctl -qw net.ipv4.vs.expire_nodest_conn=1

t_begin "udp: the same source port resumes and reaches the remaining backends, no datagram lost"
rm -f /tmp/stop-udp
ns_run c1 $PROBE udp-ask 10.96.1.53 53 12 40053 >/tmp/udp2.log 2>&1
echo "  datagrams after the removal: $(tally </tmp/udp2.log) (removed: $GONE)"
assert_eq "12" "$(wc -l </tmp/udp2.log)" "answers after the removal"
assert_eq "0" "$(grep -cx "$GONE" /tmp/udp2.log)" "the removed backend still gets datagrams"
# With its conntrack entry gone, the first datagram is a new flow: IPVS expires the old
# connection (expire_nodest_conn=1) and reschedules the datagram. Had the entry stayed, IPVS
# would drop that datagram (it still belongs to the old conntrack entry) before rescheduling.
LOST=$(grep -cx none /tmp/udp2.log)
assert_eq "0" "$LOST" "datagrams lost after the removal"
assert_match "$(head -1 /tmp/udp2.log)" '^b[123]$' "the first datagram after the removal"

# ---- §3 SCTP ---------------------------------------------------------------------------------

t_begin "sctp: rr through the ClusterIP over real SCTP associations splits 9 3/3/3"
assert_contains "$($IPVSADM -Sn)" "-A --sctp-service 10.96.1.70:7070 -s rr"
assert_contains "$($IPSET save)" "add KUBE-CLUSTER-IP 10.96.1.70,sctp:7070"
assert_eq "b1=3 b2=3 b3=3" "$(ns_run c1 $PROBE sctp-ask 10.96.1.70 7070 9 | tally)" ||
  cat /tmp/servers.log

t_begin "sctp: the NodePort from an outside namespace splits 6 2/2/2; its ipset entry"
assert_contains "$($IPVSADM -Sn)" "-A --sctp-service 192.168.100.10:30070 -s rr"
assert_eq "b1=2 b2=2 b3=2" "$(ns_run c1 $PROBE sctp-ask 192.168.100.10 30070 6 | tally)"
assert_eq "add KUBE-NODE-PORT-SCTP-HASH 192.168.100.10,sctp:30070" \
  "$($IPSET save KUBE-NODE-PORT-SCTP-HASH | grep '^add')"
assert_match "$($IPTABLES_SAVE -t nat)" "--match-set KUBE-NODE-PORT-SCTP-HASH dst,dst"

t_summary
