#!/bin/sh
# Kernel and process faults against the real agent (issue #14 §4), one boot, --source mode with a
# generated manifest of FAULT_SERVICES bulk Services (default 2,000) plus two fixed ones:
# - another writer (ipvsadm) changes the agent's rules before and during its syncs;
# - the xtables lock is held (legacy-iptables semantics: see the /run/lockbin wrapper below);
# - a rule outside the agent references a KUBE-* set the agent fills and --cleanup destroys;
# - kill -9 at random points of a 2,000-Service sync, FAULT_KILLS times (default 20), with a
#   client looping through a ClusterIP the whole time.
# Every check reads the kernel back and compares it with the agent's own --dry-run plan.
. /test/lib/testlib.sh
net_init

N=${FAULT_SERVICES:-2000}
KILLS=${FAULT_KILLS:-20}
NODE_ARGS="--hostname-override=demo-node --nodeport-addresses=192.168.100.0/24"
# 10 s: the full resync that repairs another writer's deletions comes round quickly, while the
# 2,000-Service dump it needs stays a small share of the guest's time.
AGENT_ARGS="--source=/run/src $NODE_ARGS --ipvs-sync-period=10s
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 --v=2"
PROBE=10.96.0.10 # the ClusterIP the client loop goes through
FOREIGN_VS=192.0.2.1:443

start_agent() {
  # shellcheck disable=SC2086
  PATH=/run/lockbin:$PATH ipvs-agent $AGENT_ARGS >>/tmp/agent.log 2>&1 &
  AGENT=$!
}
metrics() { printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249; }
# rules: the agent's IPVS rules (everything but the foreign virtual server), sorted.
rules() { $IPVSADM -Sn | grep -v "$FOREIGN_VS" | sort; }
sets() { $IPSET save | grep '^add KUBE-' | sort; }
# plan VARIANT: writes /run/plan-VARIANT.{ipvs,sets} from --dry-run over that variant's files.
plan() {
  mkdir -p "/run/p$1" && cp /run/src/node.yaml /run/src/fixed.yaml "/run/p$1/"
  gen "$1" >"/run/p$1/bulk.json"
  # shellcheck disable=SC2086
  ipvs-agent --source="/run/p$1" --dry-run $NODE_ARGS 2>/dev/null >"/run/plan-$1.txt"
  sed -n '/^# IPVS/,/^# ipsets/p' "/run/plan-$1.txt" | grep '^-' | sort >"/run/plan-$1.ipvs"
  grep '^add KUBE-' "/run/plan-$1.txt" | sort >"/run/plan-$1.sets"
}
matches() { [ "$(rules)" = "$(cat "/run/plan-$1.ipvs")" ]; }
# wait_plan VARIANT SECONDS: until the IPVS rules equal the plan; prints the seconds it took.
wait_plan() {
  _w0=$(date +%s)
  while ! matches "$1"; do
    [ $(($(date +%s) - _w0)) -ge "$2" ] && { echo "timeout"; return 1; }
    sleep 0.5
  done
  echo $(($(date +%s) - _w0))
}
# gen VARIANT: the bulk Services as one JSON List. Variant a: one endpoint each (10.244.5.1);
# variant b: a second one (10.244.5.2), so switching variants changes every bulk Service.
gen() {
  awk -v n="$N" -v v="$1" 'BEGIN {
    printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
    for (i = 0; i < n; i++) {
      ip = sprintf("10.96.%d.%d", 1 + int(i / 250), 1 + i % 250)
      eps = "{\"addresses\":[\"10.244.5.1\"],\"conditions\":{\"ready\":true},\"nodeName\":\"x\"}"
      if (v == "b") eps = eps ",{\"addresses\":[\"10.244.5.2\"],\"conditions\":{\"ready\":true},\"nodeName\":\"x\"}"
      printf "%s{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s%d\",\"namespace\":\"bulk\"},", (i ? "," : ""), i
      printf "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],\"ipFamilies\":[\"IPv4\"],", ip, ip
      printf "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}]}},"
      printf "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"s%d-x\",\"namespace\":\"bulk\",", i
      printf "\"labels\":{\"kubernetes.io/service-name\":\"s%d\"}},\"addressType\":\"IPv4\",", i
      printf "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}],\"endpoints\":[%s]}", eps
    }
    print "]}"
  }'
}
# svc NAME VIP [TYPE] / slice NAME ADDRESS...: one fixed Service (port 80 -> 8080) and its slice.
svc() {
  printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: demo}\n' "$1"
  printf 'spec:\n  type: %s\n  clusterIP: %s\n  clusterIPs: [%s]\n  ipFamilies: [IPv4]\n' \
    "${3:-ClusterIP}" "$2" "$2"
  printf '  ports:\n    - {name: http, protocol: TCP, port: 80, targetPort: 8080'
  [ "$3" = NodePort ] && printf ', nodePort: 30080'
  printf '}\n'
}
slice() {
  printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: %s-x\n' "$1"
  printf '  namespace: demo\n  labels: {kubernetes.io/service-name: %s}\n' "$1"
  printf 'addressType: IPv4\nports: [{name: http, protocol: TCP, port: 8080}]\nendpoints:\n'
  _s=$1
  shift
  for a in "$@"; do printf '  - {addresses: [%s], conditions: {ready: true}, nodeName: x}\n' "$a"; done
  [ "$_s" ] # keeps the status 0
}
# write FILE: stdin to /run/src/FILE through a rename, as editors do.
write() { cat >"/run/$1.new" && mv "/run/$1.new" "/run/src/$1"; }

$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
route_cover 10.244.5.0/24
mk_backend b1 10.244.1.1 b1
mk_backend b2 10.244.1.2 b2
mk_client c1 10.250.0.5
mkdir -p /run/src && cp /test/m/node.yaml /run/src/
{ svc probe $PROBE; svc still 10.96.0.11; slice probe 10.244.1.1 10.244.1.2; slice still 10.244.1.1; } |
  write fixed.yaml

# iptables in the guest is the nft variant, which ignores the xtables lock (-w is accepted and
# does nothing). This wrapper, first in the agent's PATH only, gives iptables-restore the legacy
# variant's lock semantics: wait up to -w seconds for /run/xtables.lock, then fail (status 4,
# legacy's "Another app is currently holding the xtables lock").
mkdir -p /run/lockbin
cat >/run/lockbin/iptables-restore <<EOF
#!/bin/sh
w=0
[ "\$1" = -w ] && w=\$2
exec 9>>/run/xtables.lock
flock -w "\$w" 9 || { echo "Another app is currently holding the xtables lock." >&2; exit 4; }
exec $IPTABLES_RESTORE "\$@"
EOF
chmod +x /run/lockbin/iptables-restore

$IPVSADM -A -t $FOREIGN_VS -s wlc
$IPVSADM -a -t $FOREIGN_VS -r 10.244.9.9:443 -m -w 3
FOREIGN=$($IPVSADM -Sn | grep $FOREIGN_VS | sort)

echo "generating $N Services and the two plans"
plan a
plan b
cp /run/pa/bulk.json /run/src/bulk.json
assert_eq "$((N + 2))" "$(grep -c '^-A' /run/plan-a.ipvs)" "virtual servers in plan a"

start_agent
T=$(wait_plan a 300) || t_die "agent never reached plan a: $(tail -20 /tmp/agent.log)"
echo "initial sync of $N Services: ${T} s (guest time)"

t_begin "the kernel holds exactly the dry-run plan: IPVS rules and ipset entries"
assert_eq "$(cat /run/plan-a.ipvs)" "$(rules)"
retry 50 sh -c "[ \"\$($IPSET save | grep '^add KUBE-' | sort)\" = \"\$(cat /run/plan-a.sets)\" ]" ||
  t_fail "ipsets differ: $(sets | diff /run/plan-a.sets - | head -10)"

# ---- 1. another writer -------------------------------------------------------------------------
t_begin "another writer: EEXIST and ENOENT races and a deleted virtual server converge to the plan"
LOG0=$(wc -l </tmp/agent.log)
# Before the agent hears of variant b (its mirror is stale): add the real servers b adds to the
# last 50 Services (EEXIST when the agent adds them), and delete the fixed "still" Service's
# virtual server (unchanged by b: only the next full resync notices).
i=$((N - 50))
while [ $i -lt "$N" ]; do
  echo "-a -t 10.96.$((1 + i / 250)).$((1 + i % 250)):80 -r 10.244.5.2:8080 -m -w 1"
  i=$((i + 1))
done | $IPVSADM -R
$IPVSADM -D -t 10.96.0.11:80
cp /run/pb/bulk.json /run/b.new && mv /run/b.new /run/src/bulk.json
# While it syncs b: delete real servers it is adding or has just added, and change weights
# under it (drift repaired by an edit), spread over its sync.
for i in 0 400 800 1200 1600 1999; do
  [ $i -lt "$N" ] || continue
  vip=10.96.$((1 + i / 250)).$((1 + i % 250)):80
  $IPVSADM -d -t "$vip" -r 10.244.5.2:8080 2>/dev/null
  $IPVSADM -e -t "$vip" -r 10.244.5.1:8080 -m -w 7 2>/dev/null
  sleep 0.3
done
T=$(wait_plan b 120) || t_fail "not converged to plan b: $(rules | diff /run/plan-b.ipvs - | head -20)"
echo "converged to plan b in ${T} s"
assert_eq "$(cat /run/plan-b.ipvs)" "$(rules)"
assert_eq "$FOREIGN" "$($IPVSADM -Sn | grep $FOREIGN_VS | sort)" "the foreign virtual server"
# The 50 pre-added real servers came back as EEXIST: success, counted on the sync line.
IDEM=$(sed -n "$((LOG0 + 1)),\$p" /tmp/agent.log | grep 'msg="sync done"' |
  sed -n 's/.* idempotent=\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
echo "idempotent operations: $IDEM"
[ "$IDEM" -ge 49 ] || t_fail "only $IDEM idempotent operations logged (50 real servers pre-added)"
# Now back to a, deleting first (ENOENT when the agent deletes them) what a drops.
i=$((N - 50))
while [ $i -lt "$N" ]; do
  echo "-d -t 10.96.$((1 + i / 250)).$((1 + i % 250)):80 -r 10.244.5.2:8080"
  i=$((i + 1))
done | $IPVSADM -R
cp /run/pa/bulk.json /run/a.new && mv /run/a.new /run/src/bulk.json
D=$(wait_plan a 120) || t_fail "not converged to plan a: $(rules | diff /run/plan-a.ipvs - | head -20)"
echo "converged to plan a in ${D} s"
assert_eq "$(cat /run/plan-a.ipvs)" "$(rules)"
# Every error or warning the races caused names its Service, or says it leads to a full resync.
sed -n "$((LOG0 + 1)),\$p" /tmp/agent.log | grep 'level=\(error\|warn\)' >/tmp/race-errors
echo "errors and warnings during the races: $(wc -l </tmp/race-errors)"
head -5 /tmp/race-errors
assert_eq "" "$(grep -v 'service=\|full resync scheduled' /tmp/race-errors)" "unattributed lines"

# ---- 4. the xtables lock held ------------------------------------------------------------------
t_begin "xtables lock held: counted, IPVS programming goes on, the rules arrive after release"
restore_failures() {
  metrics | sed -n 's/^kubeproxy_sync_proxy_rules_iptables_restore_failures_total \([0-9]*\).*/\1/p'
}
F0=$(restore_failures)
# shellcheck disable=SC2016
sh -c 'exec 9>>/run/xtables.lock && flock 9 && exec sleep 600' &
HOLD=$!
retry 25 sh -c "! flock -n /run/xtables.lock true" || t_fail "the lock holder did not start"
# A first NodePort Service makes KUBE-NODE-PORT-TCP non-empty, which changes the iptables rules.
{ svc probe $PROBE; svc still 10.96.0.11; svc np 10.96.0.12 NodePort
  slice probe 10.244.1.1 10.244.1.2; slice still 10.244.1.1; slice np 10.244.1.2; } | write fixed.yaml
retry 150 sh -c "$IPVSADM -Sn | grep -q -- '-a -t 192.168.100.10:30080 -r 10.244.1.2:8080'" ||
  t_fail "the NodePort virtual server did not appear while the lock was held"
retry 150 sh -c "[ \$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249 |
  sed -n 's/^kubeproxy_sync_proxy_rules_iptables_restore_failures_total //p') -gt $F0 ]" ||
  t_fail "no iptables-restore failure counted (still $(restore_failures))"
# Another Service added after the failure is programmed too: the lock does not stop IPVS.
{ svc probe $PROBE; svc still 10.96.0.11; svc np 10.96.0.12 NodePort; svc late 10.96.0.13
  slice probe 10.244.1.1 10.244.1.2; slice still 10.244.1.1; slice np 10.244.1.2
  slice late 10.244.1.1; } | write fixed.yaml
retry 150 sh -c "$IPVSADM -Sn | grep -q -- '-a -t 10.96.0.13:80 -r 10.244.1.1:8080'" ||
  t_fail "a Service added while the lock was held got no virtual server"
assert_ok kill -0 $HOLD
assert_not_contains "$($IPTABLES_SAVE -t nat)" "--match-set KUBE-NODE-PORT-TCP dst" \
  "the NodePort rule went in although the lock is held"
assert_contains "$(cat /tmp/agent.log)" "iptables-restore failed; retrying at the next sync"
echo "restore failures while the lock was held: $(($(restore_failures) - F0))"
kill $HOLD
wait $HOLD 2>/dev/null
retry 150 sh -c "$IPTABLES_SAVE -t nat | grep -q -- '--match-set KUBE-NODE-PORT-TCP dst'" ||
  t_fail "the NodePort rule never arrived after the lock was released"
assert_eq "b2" "$(http_get c1 192.168.100.10 30080)"

# ---- 3. an ipset in use by a rule outside the agent (running agent) -----------------------------
t_begin "a KUBE-* set referenced by another owner's rule: the agent still fills it"
assert_ok $IPTABLES -A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
{ svc probe $PROBE; svc still 10.96.0.11; svc np 10.96.0.12 NodePort; svc late 10.96.0.13
  svc later 10.96.0.14
  slice probe 10.244.1.1 10.244.1.2; slice still 10.244.1.1; slice np 10.244.1.2
  slice late 10.244.1.1; slice later 10.244.1.2; } | write fixed.yaml
retry 150 sh -c "$IPSET test KUBE-CLUSTER-IP 10.96.0.14,tcp:80 2>/dev/null" ||
  t_fail "the new entry did not reach the referenced set"
assert_ok $IPSET test KUBE-CLUSTER-IP 10.96.0.12,tcp:80
plan a # the fixed Services changed: the plan of the current files again
T=$(wait_plan a 120) || t_fail "not the plan: $(rules | diff /run/plan-a.ipvs - | head)"
retry 50 sh -c "[ \"\$($IPSET save | grep '^add KUBE-' | sort)\" = \"\$(cat /run/plan-a.sets)\" ]" ||
  t_fail "ipsets differ: $(sets | diff /run/plan-a.sets - | head -10)"
plan b

# ---- 5. kill -9 at random points of a 2,000-Service sync ---------------------------------------
t_begin "kill -9 $KILLS times mid-sync: each restart converges exactly, no request fails"
probe_conns() { $IPVSADM -Ln --stats --exact -t $PROBE:80 | awk '$1 == "TCP" { print $3 }'; }
# One connection attempt to three bulk Services (their backends do not answer): each virtual
# server's connection counter is then 1, and stays 1 only if it is never deleted and recreated.
bulk_conns() {
  for vip in 10.96.1.1 10.96.4.100 10.96.8.250; do
    $IPVSADM -Ln --stats --exact -t $vip:80 2>/dev/null | awk '$1 == "TCP" { printf "%s ", $3 }'
  done
}
for vip in 10.96.1.1 10.96.4.100 10.96.8.250; do
  $IP netns exec c1 nc -w 1 $vip 80 </dev/null >/dev/null 2>&1
done
# The kernel folds its per-CPU counters into what ipvsadm shows every 2 s.
bulk_counted() { bulk_conns | grep -Eq '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* $'; }
retry 50 bulk_counted
BULK=$(bulk_conns)
rm -f /tmp/loop-failures /tmp/stop-loop
(
  i=0
  while [ ! -e /tmp/stop-loop ]; do
    http_get c1 $PROBE 80 >/dev/null || echo "request $i failed" >>/tmp/loop-failures
    i=$((i + 1))
  done
  echo "$i" >/tmp/loop-count
) &
LOOP=$!
# Kill points: uniform over the last variant switch's sync time (at least 2 s), in tenths.
SPAN=$(((D > 2 ? D : 2) * 10))
V=a
K=0
MID=0
HWM=0
PREV=$(probe_conns)
# first_rs_count: real servers of the first bulk Service (one cheap netlink get, not a dump).
first_rs_count() { $IPVSADM -Ln -t 10.96.1.1:80 2>/dev/null | grep -c -- '->.*Masq'; }
# kill_at_random any|writing: kill -9 after a uniform random delay over the whole sync (parsing,
# dump, plan, writes), or, with "writing", 0-0.3 s after the first write of the sync is seen
# (the writes are batched and quick, so a uniform delay mostly lands before or after them).
kill_at_random() {
  if [ "$1" = writing ]; then
    _n0=$(grep -c '^-a -t 10.96.1.1:80 ' "/run/plan-$([ $V = a ] && echo b || echo a).ipvs")
    _i=0
    while [ "$(first_rs_count)" = "$_n0" ] && [ $_i -lt 600 ]; do _i=$((_i + 1)); done
    sleep "$(awk -v t=$((RANDOM % 4)) 'BEGIN { printf "%.1f", t / 10 }')"
  else
    sleep "$(awk -v t=$((RANDOM % SPAN)) 'BEGIN { printf "%.1f", t / 10 }')"
  fi
  _hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT/status")
  [ "${_hwm:-0}" -gt "$HWM" ] && HWM=$_hwm
  kill -9 "$AGENT"
  wait "$AGENT" 2>/dev/null
  K=$((K + 1))
  _have=$(rules | grep -c '^-a')
  echo "kill $K: $_have real servers in the kernel (plan $V: $(grep -c '^-a' "/run/plan-$V.ipvs"))"
  # Between the two plans' counts: the agent was killed with its writes half done.
  [ "$_have" -gt "$(grep -c '^-a' /run/plan-a.ipvs)" ] &&
    [ "$_have" -lt "$(grep -c '^-a' /run/plan-b.ipvs)" ] && MID=$((MID + 1))
  start_agent
}
while [ $K -lt "$KILLS" ]; do
  [ $V = a ] && V=b || V=a
  cp "/run/p$V/bulk.json" /run/new.json && mv /run/new.json /run/src/bulk.json
  # during the sync of the changed Services, alternately anywhere in it and during its writes
  if [ $((K % 4)) = 0 ]; then kill_at_random any; else kill_at_random writing; fi
  # Every other round also kills the restarted agent during its start-up (full) sync.
  [ $((K % 2)) = 1 ] && [ $K -lt "$KILLS" ] && kill_at_random any
  T=$(wait_plan $V 180) || t_fail "after kill $K: not the plan: $(rules | diff "/run/plan-$V.ipvs" - | head)"
  assert_eq "$(cat "/run/plan-$V.ipvs")" "$(rules)" "after kill $K"
  NOW=$(probe_conns)
  [ "$NOW" -ge "$PREV" ] || t_fail "after kill $K: the probe's connection counter went from $PREV to $NOW"
  PREV=$NOW
done
touch /tmp/stop-loop
wait $LOOP
retry 50 sh -c "[ \"\$($IPSET save | grep '^add KUBE-' | sort)\" = \"\$(cat /run/plan-$V.sets)\" ]" ||
  t_fail "ipsets differ: $(sets | diff "/run/plan-$V.sets" - | head -10)"
echo "kills with the kernel half-way between the plans: $MID of $K; peak agent RSS ${HWM} kB"
echo "requests through $PROBE: $(cat /tmp/loop-count), failed: $(cat /tmp/loop-failures 2>/dev/null | wc -l)"
assert_eq "" "$(cat /tmp/loop-failures 2>/dev/null)" "failed requests"
assert_ne "0" "$(cat /tmp/loop-count)"
[ "$PREV" -gt 0 ] || t_fail "the probe's connection counter never grew"
assert_eq "$FOREIGN" "$($IPVSADM -Sn | grep $FOREIGN_VS | sort)" "the foreign virtual server"
echo "bulk virtual servers' connection counters: before $BULK, after $(bulk_conns)"
assert_match "$BULK" '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* $' "bulk counters before"
assert_eq "$BULK" "$(bulk_conns)" "a bulk virtual server was recreated (its counter reset)"

# ---- 3b. --cleanup meets the set in use ---------------------------------------------------------
t_begin "--cleanup: a set in use is reported and kept, the rest removed"
kill "$AGENT"
wait "$AGENT"
# shellcheck disable=SC2086
ipvs-agent --cleanup $NODE_ARGS >/tmp/cleanup.log 2>&1
assert_eq "1" "$?" "exit status of --cleanup with a set in use"
cat /tmp/cleanup.log
assert_match "$(cat /tmp/cleanup.log)" "cannot destroy the ipsets.*KUBE-CLUSTER-IP"
assert_eq "KUBE-CLUSTER-IP" "$($IPSET list -n | grep '^KUBE-')" "the only KUBE set left"
assert_eq "$FOREIGN" "$($IPVSADM -Sn | sort)" "IPVS after --cleanup: the foreign service only"
assert_contains "$($IPTABLES_SAVE -t filter)" "-A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT"
assert_ok $IPTABLES -D INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
# The rule's reference is gone now: a rerun removes the set, and every other set although some
# are already missing. (Before the ipset client took a fresh libipset session after each failed
# command, the destroys after a failed one came back "Internal protocol error" here.)
retry 25 sh -c "$IPSET list -t KUBE-CLUSTER-IP | grep -q 'References: 0'" ||
  t_fail "KUBE-CLUSTER-IP still referenced: $($IPSET list -t KUBE-CLUSTER-IP)"
# shellcheck disable=SC2086
ipvs-agent --cleanup $NODE_ARGS >/tmp/cleanup2.log 2>&1
rerun=$?
grep -v contentType /tmp/cleanup2.log
assert_eq 0 "$rerun" "--cleanup rerun exit status"
assert_eq "" "$($IPSET list -n | grep '^KUBE-')" "KUBE sets left after the rerun"

t_summary
