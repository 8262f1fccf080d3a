#!/bin/sh
# Harness smoke test (guest side): proves the guest can do what the kernel tests rely on, using the
# real tools only, and prints their output as an oracle for the project's own code.
. /test/lib/testlib.sh

t_begin "guest: kernel and tools"
assert_match "$(uname -r)" 'cloud-amd64$' "not the Debian cloud kernel"
for tool in $IP $IPVSADM $IPSET $IPTABLES $IPTABLES_SAVE $IPTABLES_RESTORE $SOCAT; do
  [ -x "$tool" ] || t_fail "$tool missing"
done
assert_ok $IP netns list
assert_ok test -r /etc/protocols

t_begin "ipvs: modules load and sysctls"
net_init
assert_eq 1 "$(cat /proc/sys/net/ipv4/vs/conntrack)" "vs.conntrack"
assert_eq 1 "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward"
assert_contains "$($IPVSADM -Ln 2>&1)" "IP Virtual Server version"

t_begin "ipvs: every scheduler autoloads"
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do
  assert_ok $IPVSADM -A -t 10.255.0.1:$((1000 + ${#s})) -s "$s" &&
    assert_ok $IPVSADM -D -t 10.255.0.1:$((1000 + ${#s}))
done

t_begin "ipvs: rr spreads 30 requests 10/10/10 over three backend namespaces"
mk_kube_ipvs0
bind_vip 10.96.0.10
mk_backend b1 10.244.1.11 b1
mk_backend b2 10.244.2.12 b2
mk_backend b3 10.244.3.13 b3
mk_client c1 10.250.0.5
assert_ok $IPVSADM -A -t 10.96.0.10:80 -s rr
for b in 10.244.1.11 10.244.2.12 10.244.3.13; do
  assert_ok $IPVSADM -a -t 10.96.0.10:80 -r $b:8080 -m -w 1
done
assert_eq "b1=10 b2=10 b3=10" "$(http_tally c1 10.96.0.10 80 30)" "client namespace tally"

t_begin "ipvs: the root namespace reaches the ClusterIP too"
assert_eq "b1=1 b2=1 b3=1" "$(http_tally - 10.96.0.10 80 3)" "root namespace tally"

t_begin "ipvs: real servers routed only through a dummy (route_cover)"
route_cover 10.200.0.0/16
assert_ok $IPVSADM -A -u 10.96.0.53:53 -s rr
assert_ok $IPVSADM -a -u 10.96.0.53:53 -r 10.200.0.7:53 -m
assert_ok $IPVSADM -A -t 10.96.0.20:443 -s wrr -p 10800
assert_ok $IPVSADM -a -t 10.96.0.20:443 -r 10.200.1.1:8443 -m -w 3
assert_ok $IPVSADM -a -t 10.96.0.20:443 -r 10.200.1.2:8443 -m -w 0

t_begin "ipvs: ipvsadm -Sn oracle"
saved=$($IPVSADM -Sn)
echo "$saved" | sed 's/^/  | /'
assert_contains "$saved" "-A -t 10.96.0.10:80 -s rr"
assert_contains "$saved" "-a -t 10.96.0.10:80 -r 10.244.2.12:8080 -m -w 1"
assert_contains "$saved" "-A -t 10.96.0.20:443 -s wrr -p 10800"
assert_contains "$saved" "-a -t 10.96.0.20:443 -r 10.200.1.2:8443 -m -w 0"
assert_contains "$saved" "-A -u 10.96.0.53:53 -s rr"

t_begin "ipvs: IPv6 virtual server over an IPv6 backend"
bind_vip fd00:96::10
mk_backend b6 fd00:244::6 b6
assert_ok $IPVSADM -A -t "[fd00:96::10]:80" -s rr
assert_ok $IPVSADM -a -t "[fd00:96::10]:80" -r "[fd00:244::6]:8080" -m
mk_client c6 fd00:250::5
assert_eq "b6=2" "$(http_tally c6 fd00:96::10 80 2)" "IPv6 tally"

t_begin "ipvs: dual-stack backend namespace (ns_add_ip)"
ns_add_ip b1 fd00:244::11
assert_ok $IPVSADM -a -t "[fd00:96::10]:80" -r "[fd00:244::11]:8080" -m
assert_eq "b1=2 b6=2" "$(http_tally c6 fd00:96::10 80 4)" "IPv6 tally over two backends"
assert_eq "b1=1" "$(http_get - 10.244.1.11 8080)=1" "IPv4 still answers"

t_begin "ipset: hash:ip,port and bitmap:port"
assert_ok $IPSET create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
assert_ok $IPSET add KUBE-CLUSTER-IP 10.96.0.10,tcp:80
assert_ok $IPSET add KUBE-CLUSTER-IP 10.96.0.53,udp:53
assert_ok $IPSET create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
assert_ok $IPSET add KUBE-NODE-PORT-TCP 30080
assert_ok $IPSET test KUBE-CLUSTER-IP 10.96.0.10,tcp:80
assert_fails $IPSET test KUBE-CLUSTER-IP 10.96.0.10,tcp:81
sets=$($IPSET save)
echo "$sets" | sed 's/^/  | /'
assert_contains "$sets" "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536"
assert_contains "$sets" "add KUBE-CLUSTER-IP 10.96.0.10,tcp:80"
assert_contains "$sets" "add KUBE-CLUSTER-IP 10.96.0.53,udp:53"
assert_contains "$sets" "add KUBE-NODE-PORT-TCP 30080"

t_begin "iptables (nft): a set match and MASQUERADE, then iptables-save"
assert_ok $IPTABLES -t nat -N KUBE-POSTROUTING
assert_ok $IPTABLES -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" \
  -j KUBE-POSTROUTING
assert_ok $IPTABLES -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
assert_ok $IPTABLES -t nat -A KUBE-POSTROUTING -j MASQUERADE --random-fully
assert_ok $IPTABLES -t filter -A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
assert_ok $IPTABLES -t filter -A INPUT -m conntrack --ctstate INVALID -j DROP
assert_ok $IPTABLES -t filter -A INPUT -p tcp -m addrtype --dst-type LOCAL -m multiport --dports 1,2 -j ACCEPT
rules=$($IPTABLES_SAVE)
echo "$rules" | sed 's/^/  | /'
assert_contains "$rules" "-A KUBE-POSTROUTING -j MASQUERADE --random-fully"
assert_contains "$rules" "--match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT"
assert_contains "$rules" "(nf_tables)"
assert_contains "$rules" "-A INPUT -p tcp -m addrtype --dst-type LOCAL -m multiport --dports 1,2 -j ACCEPT"
assert_ok sh -c "$IPTABLES_SAVE | $IPTABLES_RESTORE"
assert_eq "$(echo "$rules" | grep -c '^-A')" "$($IPTABLES_SAVE | grep -c '^-A')" "rules after a save/restore round trip"

t_begin "traffic still balanced after the iptables rules"
assert_eq "b1=1 b2=1 b3=1" "$(http_tally c1 10.96.0.10 80 3)" "client namespace tally"

t_summary
