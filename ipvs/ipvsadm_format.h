#pragma once
// Text forms of kernel state that match the real tools, so that kernel tests can compare what
// the project wrote with what `ipvsadm -Sn` and `ipset save` print, and humans can read plans.
//
// formatIpvsadmSave prints what ipvsadm 1.31 prints for `ipvsadm -Sn` (print_service_entry with
// FMT_RULE|FMT_NUMERIC):
//   -A -t 10.20.30.41:80 -s rr
//   -A -t 10.20.30.41:80 -s rr -p 10800
//   -A --sctp-service [2001:db8::1]:80 -s sh -b sh-fallback,sh-port
//   -A -f 5 -s rr            (-f 5 -6 for an IPv6 fwmark service)
//   -a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1
// Persistence prints "-p T", then "-M mask" only if the netmask is not the full length
// (dotted for IPv4, a prefix for IPv6); one-packet prints "-o"; scheduler flags "-b ...".
// Real servers print "-m" (masquerade), "-i ... --tun-type ipip" (tunnel) or "-g" (direct
// route and local). ipvsadm -S never prints thresholds (-x/-y) or counters, so neither do we.
// Order: services by (fwmark, family, protocol, address, port) as ipvsadm sorts them (but with
// exact numeric comparison), real servers by (address, port).
//
// The matching parsers are test support (tests/support/ipvs_save_parse.h): the agent itself reads
// the kernel, never this text.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "ipvs/kernel_objects.h"

namespace ipvs {

std::string formatIpvsadmSave(const KernelState& state);

// "add KUBE-CLUSTER-IP 10.20.30.41,tcp:80" lines, sorted.
std::string formatIpsetSave(const std::set<IpsetEntry>& entries);

}  // namespace ipvs
