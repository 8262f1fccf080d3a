#!/bin/sh
# Kernel test of the host-side adapters (netlink/ipset_*, link_*, iptables_*, sysctl_*), driven
# through hostnl_probe and checked with the real ipset, ip and iptables-save tools.
. /test/lib/testlib.sh
net_init
P=hostnl_probe

# kube_lines TEXT: the KUBE chain declarations and all rules of a save text (no dates).
kube_lines() { printf '%s\n' "$1" | grep -E '^(:KUBE-|-A )'; }

# ---- ipsets ----------------------------------------------------------------------------------

t_begin "ipset: all 17 sets per family, with kube-proxy's types and options"
assert_ok $P ipset-create-all 4
assert_ok $P ipset-create-all 6
assert_ok $P ipset-create-all 4  # -exist: a second create is a no-op
headers=$($IPSET save | grep '^create ' | sed 's/ bucketsize .*//')
assert_eq 34 "$(printf '%s\n' "$headers" | wc -l)" "set count"
for spec in \
  "KUBE-LOOP-BACK hash:ip,port,ip" "KUBE-CLUSTER-IP hash:ip,port" "KUBE-EXTERNAL-IP hash:ip,port" \
  "KUBE-EXTERNAL-IP-LOCAL hash:ip,port" "KUBE-LOAD-BALANCER hash:ip,port" \
  "KUBE-LOAD-BALANCER-FW hash:ip,port" "KUBE-LOAD-BALANCER-LOCAL hash:ip,port" \
  "KUBE-LOAD-BALANCER-SOURCE-IP hash:ip,port,ip" "KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net" \
  "KUBE-NODE-PORT-SCTP-HASH hash:ip,port" "KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port" \
  "KUBE-IPVS-IPS hash:ip"; do
  assert_contains "$headers" "create $spec family inet hashsize 1024 maxelem 65536"
done
for spec in "KUBE-6-LOOP-BACK hash:ip,port,ip" "KUBE-6-LOAD-BALANCER-SOURCE-CID hash:ip,port,net" \
  "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS hash:ip,port" "KUBE-6-IPVS-IPS hash:ip"; do
  assert_contains "$headers" "create $spec family inet6 hashsize 1024 maxelem 65536"
done
for n in NODE-PORT-TCP NODE-PORT-LOCAL-TCP NODE-PORT-UDP NODE-PORT-LOCAL-UDP \
  HEALTH-CHECK-NODE-PORT; do
  assert_contains "$headers" "create KUBE-$n bitmap:port range 0-65535"
  assert_contains "$headers" "create KUBE-6-$n bitmap:port range 0-65535"
done
assert_not_contains "$($IPSET save)" "comment"

t_begin "ipset: add and delete entries, idempotently"
assert_ok $P ipset-add KUBE-CLUSTER-IP 10.96.0.1,tcp:80
assert_ok $P ipset-add KUBE-CLUSTER-IP 10.96.0.1,tcp:80  # already added: success
assert_ok $P ipset-add KUBE-NODE-PORT-TCP 30001
assert_ok $P ipset-add KUBE-LOOP-BACK 10.244.1.1,tcp:8080,10.244.1.1
assert_ok $P ipset-add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,10.0.0.0/8
assert_ok $P ipset-add KUBE-6-CLUSTER-IP fd00:96::1,udp:53
assert_ok $P ipset-add KUBE-6-NODE-PORT-SCTP-HASH fd00:96::1,sctp:30002
assert_ok $P ipset-add KUBE-NODE-PORT-UDP 30003
assert_ok $P ipset-del KUBE-NODE-PORT-UDP 30003
assert_ok $P ipset-del KUBE-NODE-PORT-UDP 30003  # not added: success
assert_contains "$($IPSET list KUBE-CLUSTER-IP)" "10.96.0.1,tcp:80"
assert_eq "add KUBE-NODE-PORT-TCP 30001" "$($IPSET save KUBE-NODE-PORT-TCP | grep '^add')"
assert_eq "" "$($IPSET save KUBE-NODE-PORT-UDP | grep '^add')"
assert_eq "KUBE-LOOP-BACK 10.244.1.1,tcp:8080,10.244.1.1
KUBE-CLUSTER-IP 10.96.0.1,tcp:80
KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,10.0.0.0/8
KUBE-NODE-PORT-TCP 30001" "$($P ipset-list 4)" "probe's list of the v4 sets"
assert_eq "KUBE-6-CLUSTER-IP fd00:96::1,udp:53
KUBE-6-NODE-PORT-SCTP-HASH fd00:96::1,sctp:30002" "$($P ipset-list 6)" "v6 list"

t_begin "ipset: bad entries and missing sets are clear errors"
out=$($P ipset-add KUBE-NODE-PORT-TCP 70000 2>&1)
assert_ne 0 $? "out-of-range port accepted"
assert_contains "$out" "error: ipset 8: ipset add KUBE-NODE-PORT-TCP 70000: Syntax error"
$IPSET create KUBE-X hash:ip && $IPSET destroy KUBE-HEALTH-CHECK-NODE-PORT
out=$($P ipset-add KUBE-HEALTH-CHECK-NODE-PORT 30000 2>&1)
assert_contains "$out" "error: ipset 3:" "missing set is kSetMissing"
assert_contains "$out" "does not exist"
assert_ok $P ipset-create-all 4

t_begin "ipset: one batch with bad entries in the middle: the rest applied, each failure its own"
$IPSET destroy KUBE-HEALTH-CHECK-NODE-PORT
out=$($P ipset-apply add KUBE-CLUSTER-IP 10.96.1.1,tcp:80 add KUBE-HEALTH-CHECK-NODE-PORT 30100 \
  add KUBE-CLUSTER-IP 10.96.1.2,udp:53 add KUBE-NODE-PORT-TCP 70000 \
  add KUBE-CLUSTER-IP 10.96.0.1,tcp:80 del KUBE-CLUSTER-IP 10.96.9.9,tcp:80 \
  add KUBE-6-CLUSTER-IP fd00:96::7,tcp:443 del KUBE-NODE-PORT-TCP 30001 \
  add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,udp:53,10.1.0.0/16 2>/dev/null)
assert_ne 0 $? "a batch with failures reports them"
# set missing (kSetMissing 3), syntax (kSyntax 8, through libipset); present/absent are success
assert_eq "ok
error ipset 3
ok
error ipset 8
ok
ok
ok
ok
ok" "$out" "one result per change, in order"
assert_eq "add KUBE-CLUSTER-IP 10.96.0.1,tcp:80
add KUBE-CLUSTER-IP 10.96.1.1,tcp:80
add KUBE-CLUSTER-IP 10.96.1.2,udp:53" "$($IPSET save KUBE-CLUSTER-IP | grep '^add' | sort)"
assert_eq "add KUBE-6-CLUSTER-IP fd00:96::1,udp:53
add KUBE-6-CLUSTER-IP fd00:96::7,tcp:443" "$($IPSET save KUBE-6-CLUSTER-IP | grep '^add' | sort)"
assert_eq "" "$($IPSET save KUBE-NODE-PORT-TCP | grep '^add')" "30001 deleted"
assert_contains "$($IPSET save KUBE-LOAD-BALANCER-SOURCE-CIDR)" "1.2.3.4,udp:53,10.1.0.0/16"
assert_ok $P ipset-apply del KUBE-6-CLUSTER-IP fd00:96::7,tcp:443 add KUBE-NODE-PORT-TCP 30001 \
  del KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,udp:53,10.1.0.0/16
assert_eq "add KUBE-6-CLUSTER-IP fd00:96::1,udp:53" "$($IPSET save KUBE-6-CLUSTER-IP | grep '^add')"
assert_ok $P ipset-create-all 4

t_begin "ipset: a run of several pack windows (1,024 each): every result in its place"
$IPSET flush KUBE-CLUSTER-IP
$IPSET destroy KUBE-HEALTH-CHECK-NODE-PORT
# 5,000 adds; the 4,500th (in the fifth window) goes to that missing set.
args=$(awk 'BEGIN { for (i = 1; i <= 5000; i++)
  if (i == 4500) printf "add KUBE-HEALTH-CHECK-NODE-PORT 30100 "
  else printf "add KUBE-CLUSTER-IP 10.%d.%d.%d,tcp:80 ", 100 + int(i / 65536), int(i / 256) % 256, i % 256 }')
# shellcheck disable=SC2086
out=$($P ipset-apply $args 2>/dev/null)
assert_eq 5000 "$(echo "$out" | wc -l)" "one result per change"
assert_eq "4500:error ipset 3" "$(echo "$out" | grep -n -v '^ok$')" "the failure at its own place"
assert_eq 4999 "$($IPSET save KUBE-CLUSTER-IP | grep -c '^add')"
$IPSET flush KUBE-CLUSTER-IP
assert_ok $P ipset-create-all 4

t_begin "ipset: full resync swaps in exactly the new members"
out=$($P ipset-resync KUBE-CLUSTER-IP 10.96.0.2,tcp:80 10.96.0.3,udp:53 bogus 10.96.0.2,tcp:80 2>&1)
assert_contains "$out" "added 3 skipped 1 first bogus"
assert_eq "add KUBE-CLUSTER-IP 10.96.0.2,tcp:80
add KUBE-CLUSTER-IP 10.96.0.3,udp:53" "$($IPSET save KUBE-CLUSTER-IP | grep '^add' | sort)"
assert_not_contains "$($IPSET list -n)" "KUBE-TMP"
assert_ok $P ipset-resync KUBE-6-IPVS-IPS fd00:96::1 fd00:96::2
assert_eq 2 "$($IPSET save KUBE-6-IPVS-IPS | grep -c '^add')"

t_begin "ipset: a set of the right type with other options is adopted, another type is not"
$IPSET destroy KUBE-EXTERNAL-IP
$IPSET create KUBE-EXTERNAL-IP hash:ip,port family inet hashsize 4096 maxelem 1000
assert_ok $P ipset-create-all 4
$IPSET destroy KUBE-EXTERNAL-IP
$IPSET create KUBE-EXTERNAL-IP hash:net family inet
out=$($P ipset-create-all 4 2>&1)
assert_contains "$out" "error: ipset 6:" "type mismatch"
$IPSET destroy KUBE-EXTERNAL-IP
assert_ok $P ipset-create-all 4

# ---- kube-ipvs0 ------------------------------------------------------------------------------

t_begin "link: kube-ipvs0 is a dummy, DOWN and NOARP, created once"
idx=$($P link-ensure)
assert_eq "$idx" "$($P link-ensure)" "same index twice"
link=$($IP -d link show kube-ipvs0)
assert_contains "$link" "NOARP"
assert_contains "$link" "state DOWN"
assert_contains "$link" "dummy"

t_begin "link: v4 and v6 addresses bind as host routes, scope global, idempotently"
assert_ok $P link-bind 10.96.0.1 10.96.0.2 fd00:96::1
assert_ok $P link-bind 10.96.0.1 fd00:96::1
addrs=$($IP addr show kube-ipvs0)
assert_contains "$addrs" "inet 10.96.0.1/32 scope global kube-ipvs0"
assert_contains "$addrs" "inet 10.96.0.2/32 scope global kube-ipvs0"
assert_contains "$addrs" "inet6 fd00:96::1/128 scope global"
assert_eq 3 "$(printf '%s\n' "$addrs" | grep -c 'inet')"
assert_eq "10.96.0.1
10.96.0.2
fd00:96::1" "$($P link-list)"
assert_contains "$($IP route show table local)" "local 10.96.0.1 dev kube-ipvs0"
assert_contains "$($IP -6 route show table local)" "local fd00:96::1 dev kube-ipvs0"

t_begin "link: thousands of addresses read whole in short dump replies, as a full resync reads them"
i=0
while [ "$i" -lt 3000 ]; do
  echo "address add 10.97.$((i / 250)).$((i % 250 + 1))/32 dev kube-ipvs0"
  i=$((i + 1))
done | $IP -batch - || t_die "ip -batch"
long=$($P link-list)
assert_eq 3003 "$(printf '%s\n' "$long" | wc -l)" "addresses read in full-size replies"
assert_eq "$long" "$($P link-list-short)" "the same in short replies"
printf '%s\n' "$long" | sed -n 's|^10\.97\..*|address del &/32 dev kube-ipvs0|p' | $IP -batch - ||
  t_die "ip -batch"

t_begin "link: unbind, idempotently"
assert_ok $P link-unbind 10.96.0.2 10.96.0.99 fd00:96::1
assert_ok $P link-unbind 10.96.0.2
assert_eq "10.96.0.1" "$($P link-list)"

t_begin "link: local addresses of the other interfaces"
$IP link add eth9 type dummy && $IP addr add 192.0.2.10/24 dev eth9 && $IP link set eth9 up
local=$($P link-local)
assert_contains "$local" "eth9 192.0.2.10/24"
assert_contains "$local" "lo 127.0.0.1/8"
assert_not_contains "$local" "10.96.0.1"

# ---- iptables --------------------------------------------------------------------------------

SYNC4="ipt-sync 4 --set KUBE-CLUSTER-IP --set KUBE-IPVS-IPS --set KUBE-LOAD-BALANCER
  --set KUBE-LOAD-BALANCER-LOCAL --set KUBE-NODE-PORT-TCP --set KUBE-LOOP-BACK
  --cluster-cidr 10.244.0.0/16 --random-fully --lb-drop 1.2.3.4,tcp,80"

t_begin "iptables: the rendered chains apply, next to foreign rules"
printf '*nat\n:MY-CHAIN - [0:0]\n-A OUTPUT -j MY-CHAIN\n-A MY-CHAIN -d 192.0.2.99/32 -j RETURN\nCOMMIT\n*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n' |
  $IPTABLES_RESTORE --noflush || t_die "cannot prepare foreign rules"
assert_ok $P $SYNC4
save1=$($IPTABLES_SAVE)
assert_eq ':KUBE-FORWARD - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable
-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4/32 -m ipvs --vproto 6 --vaddr 1.2.3.4 --vport 80 -j DROP
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j MY-CHAIN
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-LOAD-BALANCER -m comment --comment "Kubernetes service load balancer ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER
-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-SERVICES -m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT
-A MY-CHAIN -d 192.0.2.99/32 -j RETURN' "$(kube_lines "$save1")" "iptables-save after the first sync"

t_begin "iptables: a second sync changes nothing (no duplicate jumps)"
assert_ok $P $SYNC4
save2=$($IPTABLES_SAVE)
assert_eq "$(kube_lines "$save1")" "$(kube_lines "$save2")" "second sync"
assert_eq 1 "$(printf '%s\n' "$save2" | grep -c -- '-A OUTPUT -m comment --comment "kubernetes service portals"')"

t_begin "iptables: a sync with other inputs replaces the chains' contents"
assert_ok $P ipt-sync 4 --set KUBE-CLUSTER-IP --masq-all
save3=$($IPTABLES_SAVE -t nat)
assert_contains "$save3" '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ'
assert_not_contains "$save3" "KUBE-LOAD-BALANCER-LOCAL"
assert_not_contains "$save3" "random-fully"
assert_ok $P $SYNC4

t_begin "iptables: IPv6 chains through ip6tables-restore"
assert_ok $P ipt-sync 6 --set KUBE-6-CLUSTER-IP --set KUBE-6-IPVS-IPS
save6=$($IP6TABLES_SAVE)
assert_contains "$save6" "-A KUBE-SERVICES -s ::1/128 -j RETURN"
assert_contains "$save6" "-m set --match-set KUBE-6-CLUSTER-IP src,dst -j KUBE-MARK-MASQ"
assert_contains "$save6" "--match-set KUBE-6-IPVS-IPS dst -j REJECT --reject-with icmp6-port-unreachable"
assert_eq 1 "$(printf '%s\n' "$save6" | grep -c -- '-A PREROUTING -m comment --comment "kubernetes service portals"')"

t_begin "iptables + ipset: a referenced set is busy, and resyncs keep the references"
out=$($P ipset-destroy KUBE-CLUSTER-IP 2>&1)
assert_contains "$out" "error: ipset 4:" "destroy of a referenced set is kSetInUse"
assert_contains "$out" "in use"
assert_ok $P ipset-resync KUBE-CLUSTER-IP 10.96.0.7,tcp:443
assert_match "$($IPSET list -t KUBE-CLUSTER-IP)" "^References: [1-9]"
assert_eq "add KUBE-CLUSTER-IP 10.96.0.7,tcp:443" "$($IPSET save KUBE-CLUSTER-IP | grep '^add')"

t_begin "iptables: a failed restore reports the tool's message and changes nothing"
$IPSET destroy KUBE-NODE-PORT-UDP || t_fail "cannot destroy an unreferenced set"
out=$($P ipt-sync 4 --set KUBE-NODE-PORT-UDP 2>&1)
assert_ne 0 $? "restore referencing a missing set succeeded"
assert_contains "$out" "error: iptables 1: iptables-restore -w 5 --noflush --counters: exit status"
assert_contains "$out" "KUBE-NODE-PORT-UDP"
assert_eq "$(kube_lines "$save1")" "$(kube_lines "$($IPTABLES_SAVE)")" "restore is all or nothing"
out=$(PATH=/nonexistent /test/bin/$P ipt-sync 4 2>&1)
assert_contains "$out" "error: generic 2:" "a missing iptables-save is ENOENT"
assert_ok $P ipset-create-all 4

t_begin "cleanup: our chains and kube-proxy iptables-mode leftovers go, others stay"
printf '%s\n' '*mangle' ':KUBE-PROXY-CANARY - [0:0]' ':KUBE-KUBELET-CANARY - [0:0]' 'COMMIT' \
  '*nat' ':KUBE-NODEPORTS - [0:0]' ':KUBE-SVC-ABCDEFGHIJKLMNOP - [0:0]' \
  ':KUBE-SEP-QRSTUVWXYZ234567 - [0:0]' ':KUBE-EXT-ABCDEFGHIJKLMNOP - [0:0]' \
  ':KUBE-PROXY-CANARY - [0:0]' ':KUBE-MARK-DROP - [0:0]' ':KUBE-KUBELET-CANARY - [0:0]' \
  '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-ABCDEFGHIJKLMNOP' \
  '-A KUBE-SVC-ABCDEFGHIJKLMNOP -j KUBE-SEP-QRSTUVWXYZ234567' \
  '-A KUBE-SEP-QRSTUVWXYZ234567 -p tcp -m tcp -j DNAT --to-destination 10.244.1.1:8080' \
  '-A KUBE-EXT-ABCDEFGHIJKLMNOP -j KUBE-SVC-ABCDEFGHIJKLMNOP' \
  '-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-EXT-ABCDEFGHIJKLMNOP' \
  '-A MY-CHAIN -j KUBE-SVC-ABCDEFGHIJKLMNOP' 'COMMIT' \
  '*filter' ':KUBE-EXTERNAL-SERVICES - [0:0]' ':KUBE-FIREWALL - [0:0]' \
  ':KUBE-PROXY-CANARY - [0:0]' ':KUBE-NODEPORTS - [0:0]' \
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES' \
  '-A INPUT -j KUBE-FIREWALL' \
  '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS' \
  'COMMIT' | $IPTABLES_RESTORE --noflush || t_die "cannot prepare iptables-mode leftovers"
$IPTABLES -t nat -N KUBE-BROKEN  # a KUBE- chain that is nobody's we know: left alone
assert_ok $P ipt-cleanup 4 all
assert_ok $P ipt-cleanup 6 all
after=$($IPTABLES_SAVE)
assert_eq ":KUBE-BROKEN :KUBE-FIREWALL :KUBE-KUBELET-CANARY :KUBE-KUBELET-CANARY :KUBE-MARK-DROP " \
  "$(printf '%s\n' "$after" | grep -o '^:KUBE-[A-Z0-9-]*' | sort | tr '\n' ' ')" "chains left"
assert_eq '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j KUBE-FIREWALL
-A OUTPUT -j MY-CHAIN
-A MY-CHAIN -d 192.0.2.99/32 -j RETURN' "$(printf '%s\n' "$after" | grep '^-A ')" "rules left"
assert_eq "" "$(kube_lines "$($IP6TABLES_SAVE)")" "ip6tables cleaned"
assert_ok $P ipt-cleanup 4 all  # nothing left of ours: a no-op

t_begin "cleanup: sets can be destroyed once iptables no longer references them"
assert_ok $P ipset-destroy-all 4
assert_ok $P ipset-destroy-all 6
assert_ok $P ipset-destroy-all 4  # missing sets: success
assert_eq "KUBE-X" "$($IPSET list -n)" "only the foreign set is left"

t_begin "cleanup: kube-ipvs0 is deleted, twice without error"
assert_ok $P link-delete
assert_ok $P link-delete
assert_fails $IP link show kube-ipvs0
assert_contains "$($IP link show eth9)" "eth9"

# ---- sysctls ---------------------------------------------------------------------------------

t_begin "sysctl: kube-proxy's IPVS settings, conn_reuse_mode left alone on 6.1"
echo 0 > /proc/sys/net/ipv4/vs/conntrack
echo 0 > /proc/sys/net/ipv4/vs/conn_reuse_mode
echo 0 > /proc/sys/net/ipv4/ip_forward
assert_ok $P sysctl-apply --strict-arp
for kv in vs/conntrack=1 vs/expire_nodest_conn=1 vs/expire_quiescent_template=1 ip_forward=1 \
  conf/all/arp_ignore=1 conf/all/arp_announce=2 vs/conn_reuse_mode=0; do
  assert_eq "${kv#*=}" "$(cat /proc/sys/net/ipv4/${kv%=*})" "${kv%=*}"
done
out=$($P sysctl-apply 2>&1)
assert_contains "$out" "counters: writes 0 unchanged 4"

t_summary
