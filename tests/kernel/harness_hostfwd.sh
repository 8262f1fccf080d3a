#!/bin/sh
# Guest side of kernel.harness.hostfwd: the host's loopback server is reachable at
# 10.0.2.100:6443 (see harness_hostfwd_wrapper.sh), and nothing else is.
. /test/lib/testlib.sh

t_begin "hostfwd: eth0 is up with 10.0.2.15"
assert_contains "$($IP -4 addr show dev eth0)" "10.0.2.15/24"

t_begin "hostfwd: host loopback server through guestfwd"
assert_eq "$EXPECT" "$(nc -w 5 10.0.2.100 6443 </dev/null)" "reply"
assert_eq "$EXPECT" "$(nc -w 5 10.0.2.100 6443 </dev/null)" "second connection"

t_begin "hostfwd: no other destination (restrict=on)"
assert_fails nc -w 2 10.0.2.2 22 </dev/null
assert_fails nc -w 2 10.0.2.100 6444 </dev/null

t_summary
