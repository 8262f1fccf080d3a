#!/bin/sh
# The demo, inside the qemu guest: three backends in network namespaces, the agent on the example
# manifests, traffic through the Services, then a scale-down made by editing the manifest.
. /test/lib/testlib.sh
net_init

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
route_cover 10.244.2.0/24
for b in 1 2 3; do mk_backend "pod$b" "10.244.1.$b" "pod$b"; done
mk_client client 10.250.0.5
mkdir -p /run/src && cp /test/m/*.yaml /run/src/

say "starting ipvs-agent --source=manifests/examples (standalone mode, no API server)"
ipvs-agent --source=/run/src --hostname-override=demo-node --nodeport-addresses=192.168.100.0/24 \
  --ipvs-sync-period=5s >/tmp/agent.log 2>&1 &
AGENT=$!
retry 150 sh -c "$IPVSADM -Sn | grep -q 30080" || t_die "the agent programmed nothing"

say "ipvsadm -Ln: one virtual server per Service port, each with its own scheduler"
$IPVSADM -Ln

say "30 requests each from a client namespace (backend=count)"
printf '  %-34s %s\n' "web-rr  ClusterIP 10.96.0.10 (rr)" "$(http_tally client 10.96.0.10 80 30)"
printf '  %-34s %s\n' "web-lc  ClusterIP 10.96.0.11 (lc)" "$(http_tally client 10.96.0.11 80 30)"
printf '  %-34s %s\n' "web-lc  NodePort 192.168.100.10:30080" "$(http_tally client 192.168.100.10 30080 30)"
printf '  %-34s %s\n' "web-sh  ClusterIP 10.96.0.12 (sh)" "$(http_tally client 10.96.0.12 80 30)"
printf '  %-34s %s\n' "sticky  ClusterIP 10.96.0.20 (persistent)" "$(http_tally client 10.96.0.20 80 30)"

say "kube-proxy-compatible state: ipsets and kube-ipvs0"
$IPSET save | grep '^add' | head -12
$IP -4 addr show dev kube-ipvs0 | grep inet

say "scaling web-rr down: pod3 leaves its EndpointSlice (the manifest is edited)"
awk '/name: web-rr-abcde/ {rr = 1} /^---/ {rr = 0} rr && /10.244.1.3/ {skip = 3}
     skip > 0 {skip--; next} {print}' /run/src/endpointslices.yaml >/run/new.yaml
mv /run/new.yaml /run/src/endpointslices.yaml
retry 100 sh -c "$IPVSADM -Sn | grep -q -- '-r 10.244.1.3:8080 -m -w 0'" || t_die "no convergence"
$IPVSADM -Ln -t 10.96.0.10:80
echo "  pod3 is at weight 0: its open connections drain, new ones go elsewhere"
printf '  %-34s %s\n' "web-rr  ClusterIP 10.96.0.10 (rr)" "$(http_tally client 10.96.0.10 80 30)"

say "metrics (127.0.0.1:10249/metrics, excerpt)"
printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249 |
  grep -E '^(ipvs_agent_virtual_servers|kubeproxy_sync_proxy_rules_duration_seconds_count)'

kill "$AGENT"
wait "$AGENT"
t_begin "demo finished"
t_summary
