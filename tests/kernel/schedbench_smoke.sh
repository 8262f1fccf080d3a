#!/bin/sh
# Scheduler benchmark smoke run (guest side): the benchmark's own pieces end to end on a real
# IPVS kernel. rr over 3 backends, programmed the way scripts/bench-schedulers programs it (the
# agent, or its dry-run plan loaded with ipvsadm -R), 300 new connections from 8 client
# addresses: rr must give exactly 100/100/100, as counted by the load generator and by IPVS.
. /test/lib/testlib.sh
. /test/guest_lib.sh

t_begin "schedbench: topology, backends and the programming step"
sb_topology 3 8
for k in 1 2 3; do sb_backend "$k" --service fixed:1; done
sb_manifests rr
sb_program
echo "programming path: $SB_PROGRAM_USED (guest uptime $(cut -d" " -f1 /proc/uptime) s)"
assert_contains "$($IPVSADM -Sn)" "-A -t 10.96.1.1:80 -s rr"

t_begin "schedbench: rr splits 300 new connections exactly 1:1:1"
sb_load rr /tmp/smoke.json --requests 300 --concurrency 6 --meta label=smoke/rr ||
  t_fail "sched_loadgen failed"
json=$(cat /tmp/smoke.json)
assert_contains "$json" '"requests":300,"ok":300,"failed":0' "every request answered"
assert_contains "$json" '"backend_changed":0'
assert_contains "$json" '"backends":{"b1":{"requests":100,"connections":100},"b2":{"requests":100,"connections":100},"b3":{"requests":100,"connections":100}}' \
  "load generator's per-backend counts"

t_begin "schedbench: IPVS counted the same 100 connections per real server"
# The kernel folds its per-CPU counters into what ipvsadm reads every 2 s: wait for them.
ipvs_total() { $IPVSADM -Ln --stats -t 10.96.1.1:80 | grep -Eq 'TCP  10\.96\.1\.1:80 +300 '; }
retry 25 ipvs_total
stats=$($IPVSADM -Ln --stats -t 10.96.1.1:80)
echo "$stats" | sed 's/^/  | /'
for k in 1 2 3; do
  assert_match "$stats" "-> 10\.244\.1\.$k:8080 +100 " "b$k: 100 connections in ipvsadm --stats"
done

t_begin "schedbench: keep-alive run attributes requests to connections"
sb_load rr /tmp/ka.json --requests 60 --concurrency 3 --keepalive --meta label=smoke/ka ||
  t_fail "sched_loadgen failed"
json=$(cat /tmp/ka.json)
assert_contains "$json" '"requests":60,"ok":60,"failed":0'
# 3 keep-alive connections, one per backend (rr), and none of them ever changed backend.
assert_contains "$json" '"backend_changed":0'
assert_match "$json" '"b1":\{"requests":[0-9]+,"connections":1\},"b2":\{"requests":[0-9]+,"connections":1\},"b3":\{"requests":[0-9]+,"connections":1\}'
t_export /tmp/smoke.json schedbench-smoke.json

echo "guest uptime at the end: $(cut -d' ' -f1 /proc/uptime) s"
t_summary
