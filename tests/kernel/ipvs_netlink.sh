#!/bin/sh
# IpvsClient against the real kernel (guest side). The Catch2 binary compares every write with
# ipvsadm (and checks the recovery from a provoked ENOBUFS); this script adds real traffic: a
# weight-0 real server gets no new connections.
. /test/lib/testlib.sh
net_init
# Real servers without a namespace must be unicast-routable.
route_cover 10.244.0.0/16 fd00:244::/64

t_begin "IpvsClient vs ipvsadm: kinds, batches, idempotency, foreign VS, timeouts, ENOBUFS recovery"
ipvs_netlink_kernel_tests --durations yes >/tmp/catch.log 2>&1
rc=$?
sed 's/^/  | /' /tmp/catch.log | tail -n 150
assert_eq 0 "$rc" "Catch2 cases (output above)"

t_begin "traffic: weight 0 gets no new connections; an in-place edit moves them"
$IPVSADM -C
mk_kube_ipvs0
bind_vip 10.96.0.50
mk_backend b1 10.244.1.11 b1
mk_backend b2 10.244.1.12 b2
mk_client c1 10.250.0.5
assert_ok ipvs_netlink_kernel_tests "[traffic-setup]"
assert_eq "b1=6" "$(http_tally c1 10.96.0.50 80 6)"
assert_ok ipvs_netlink_kernel_tests "[traffic-swap]"
assert_eq "b2=6" "$(http_tally c1 10.96.0.50 80 6)"
# IPVS folds its per-CPU counters into the totals every 2 s: let them settle first.
sleep 3
assert_ok ipvs_netlink_kernel_tests "[traffic-stats]"

t_summary
