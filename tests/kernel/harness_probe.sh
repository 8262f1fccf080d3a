#!/bin/sh
# Harness probe (guest side): a project-style C++ binary from BINARIES runs with its libraries and
# reaches IPVS and ipset over netlink; the real tools confirm what it did.
. /test/lib/testlib.sh
net_init

t_begin "probe: dynamically linked C++ binary runs in the guest"
out=$(harness_probe PROBE-SET 2>&1)
echo "$out" | sed 's/^/  | /'
assert_match "$out" '"ipvs_family":[1-9][0-9]*' "IPVS genl family resolved"
assert_contains "$out" '"yaml_answer":42'
assert_contains "$out" '"sha256_bytes":32'

t_begin "probe: ipset oracle sees the set the probe created"
assert_contains "$($IPSET list -n)" "PROBE-SET"
assert_contains "$($IPSET save PROBE-SET)" "create PROBE-SET hash:ip,port"

t_begin "probe: every library resolves in the guest (ld.so --list)"
libs=$(/lib64/ld-linux-x86-64.so.2 --list /test/bin/harness_probe 2>&1)
assert_not_contains "$libs" "not found"
assert_contains "$libs" "libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6"
assert_contains "$libs" "libipset.so"

t_summary
