#!/bin/sh
# Drop-in checks of issue 16 in one boot: the agent runs with kubeadm's kube-proxy config.conf
# unchanged (§1), tunes conntrack as kube-proxy does (§2), and writes each detect-local-mode's
# iptables rule (§3), and exits when its --config file changes (§5). The agent is restarted
# with other flags between the groups.
. /test/lib/testlib.sh
. /test/lib/monitoring.sh
net_init

NODE_ARGS="--source=/run/src --hostname-override=demo-node"
CT=/proc/sys/net/netfilter
HASHSIZE=/sys/module/nf_conntrack/parameters/hashsize
# iptables-save prints -s/-i before the matches: "-A KUBE-SERVICES ! -s X -m comment ...".
MASQ_TAIL='-m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP'
start_agent() {
  # shellcheck disable=SC2086
  ipvs-agent "$@" >/tmp/agent.log 2>&1 &
  AGENT=$!
}
stop_agent() {
  kill "$AGENT"
  wait "$AGENT"
}
http_status() { printf 'GET %s HTTP/1.0\r\n\r\n' "$2" | busybox nc "$3" "$1" | head -1; }
masq_rule() { $IPTABLES_SAVE -t nat | grep -F -- "KUBE-CLUSTER-IP" | grep -F -- "-j KUBE-MARK-MASQ"; }
# wait_masq DETECTOR SETDIR: waits for the one cluster-IP masquerade rule kube-proxy writes.
wait_masq() {
  _line="-A KUBE-SERVICES ${1:+$1 }$MASQ_TAIL $2 -j KUBE-MARK-MASQ"
  retry 150 sh -c "$IPTABLES_SAVE -t nat | grep -F -x -q -- '$_line'" ||
    t_fail "no '$_line' rule: $(masq_rule) / $(cat /tmp/agent.log)"
}

$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
route_cover 10.244.1.0/24 10.244.2.0/24
mkdir -p /run/src && cp /test/m/*.yaml /run/src/
cp /test/kubeadm.conf /run/kubeadm.conf  # writable: the last check of the first group edits it

# A small machine's kernel defaults, below kube-proxy's: the agent must raise them.
echo 65536 >$CT/nf_conntrack_max
echo 16384 >$HASHSIZE
echo 432000 >$CT/nf_conntrack_tcp_timeout_established
echo 60 >$CT/nf_conntrack_tcp_timeout_close_wait
UDP_BEFORE=$(cat $CT/nf_conntrack_udp_timeout)

t_begin "kubeadm's config.conf, unchanged, starts the agent"
start_agent --config=/run/kubeadm.conf $NODE_ARGS
retry 150 sh -c "$IPVSADM -Sn | grep -q 10.96.0.10:80" ||
  t_die "agent programmed nothing: $(cat /tmp/agent.log)"
RULES=$($IPVSADM -Sn)
assert_contains "$RULES" "-A -t 10.96.0.10:80 -s rr"
assert_contains "$RULES" "-a -t 10.96.0.10:80 -r 10.244.1.1:8080 -m -w 1"
assert_not_contains "$(cat /tmp/agent.log)" "level=error"

t_begin "kubeadm's empty addresses mean kube-proxy's defaults: healthz :10256, metrics :10249"
retry 50 sh -c "printf 'GET /healthz HTTP/1.0\r\n\r\n' | busybox nc 192.168.100.10 10256 | grep -q 200" ||
  t_fail "healthz: $(http_status 10256 /healthz 192.168.100.10)"
assert_contains "$(http_status 10256 /healthz 127.0.0.1)" "200"
METRICS=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249)
assert_contains "$METRICS" "kubeproxy_sync_proxy_rules_duration_seconds"

t_begin "/metrics has every family kube-prometheus's kube-proxy dashboard and alerts read"
assert_eq "" "$(missing_families agent "$METRICS")" "families missing from /metrics"
assert_contains "$METRICS" 'kubeproxy_network_programming_duration_seconds_bucket{le="0"} '

t_begin "conntrack defaults in a 1-vCPU guest: 131072, 86400, 3600"
assert_eq "1" "$(grep -c ^processor /proc/cpuinfo)" "the guest has one CPU"
assert_eq "131072" "$(cat $CT/nf_conntrack_max)"
assert_eq "32768" "$(cat $HASHSIZE)"
assert_eq "86400" "$(cat $CT/nf_conntrack_tcp_timeout_established)"
assert_eq "3600" "$(cat $CT/nf_conntrack_tcp_timeout_close_wait)"
assert_eq "0" "$(cat $CT/nf_conntrack_tcp_be_liberal)" "tcpBeLiberal false: left alone"
assert_eq "$UDP_BEFORE" "$(cat $CT/nf_conntrack_udp_timeout)" "udpTimeout 0s: left alone"

t_begin "ClusterCIDR (kubeadm's detectLocalMode \"\"): ! -s clusterCIDR"
wait_masq "! -s 10.244.0.0/16" dst,dst

t_begin "a changed --config file ends the agent with status 1 and one line naming it"
echo "# edited by the operator" >>/run/kubeadm.conf
retry 100 sh -c "! kill -0 $AGENT" || t_die "still running after the edit: $(cat /tmp/agent.log)"
wait "$AGENT"
assert_eq "1" "$?" "exit status"
assert_contains "$(cat /tmp/agent.log)" \
  'level=warn msg="content of the configuration file was updated; exiting to restart with it" component=agent file=/run/kubeadm.conf'

t_begin "nf_conntrack_max is raised, never lowered; optional settings are written when set"
echo 200000 >$CT/nf_conntrack_max
start_agent $NODE_ARGS --conntrack-tcp-be-liberal --conntrack-udp-timeout=45s \
  --conntrack-udp-timeout-stream=3m --conntrack-tcp-timeout-established=2h \
  --detect-local-mode=BridgeInterface --pod-bridge-interface=cbr0
wait_masq "! -i cbr0" dst,dst
assert_eq "200000" "$(cat $CT/nf_conntrack_max)"
assert_eq "1" "$(cat $CT/nf_conntrack_tcp_be_liberal)"
assert_eq "45" "$(cat $CT/nf_conntrack_udp_timeout)"
assert_eq "180" "$(cat $CT/nf_conntrack_udp_timeout_stream)"
assert_eq "7200" "$(cat $CT/nf_conntrack_tcp_timeout_established)"

t_begin "BridgeInterface: one masquerade rule, ! -i <bridge>"
assert_eq "1" "$(masq_rule | wc -l)"
stop_agent

t_begin "InterfaceNamePrefix: ! -i <prefix>+"
start_agent $NODE_ARGS --detect-local-mode=InterfaceNamePrefix --pod-interface-name-prefix=veth
wait_masq "! -i veth+" dst,dst
assert_eq "1" "$(masq_rule | wc -l)"
stop_agent

t_begin "NodeCIDR, manifest Node without podCIDRs: a clear error and status 1 at once"
start_agent $NODE_ARGS --detect-local-mode=NodeCIDR --cluster-cidr=10.244.0.0/16
retry 100 sh -c "! kill -0 $AGENT" || t_die "still running without podCIDRs: $(cat /tmp/agent.log)"
wait "$AGENT"
assert_eq "1" "$?" "exit status"
assert_contains "$(cat /tmp/agent.log)" "level=error msg=\"detect-local-mode NodeCIDR needs the Node's spec.podCIDRs"

t_begin "NodeCIDR: ! -s <the Node's first podCIDR of the family>"
# set_pod_cidr CIDR: the node's podCIDRs become CIDR (a new file renamed over, as editors do).
set_pod_cidr() {
  awk -v c="$1" '/^spec:/ {skip = 1; next} skip && /^  / {next} {skip = 0} {print}
    /^  name: demo-node/ {n = 1} n && /^    topology/ {
    print "spec:\n  podCIDR: " c "\n  podCIDRs:\n    - " c; n = 0}' \
    /run/src/node.yaml >/run/node.yaml
  mv /run/node.yaml /run/src/node.yaml
}
set_pod_cidr 10.244.1.0/24
start_agent $NODE_ARGS --detect-local-mode=NodeCIDR --cluster-cidr=10.244.0.0/16
wait_masq "! -s 10.244.1.0/24" dst,dst
assert_eq "1" "$(masq_rule | wc -l)"

t_begin "NodeCIDR: changed podCIDRs end the agent with status 1, the old rule left in place"
set_pod_cidr 10.244.9.0/24
retry 100 sh -c "! kill -0 $AGENT" || t_die "still running after the change: $(cat /tmp/agent.log)"
wait "$AGENT"
assert_eq "1" "$?" "exit status"
assert_contains "$(cat /tmp/agent.log)" "current Node PodCIDRs are different than previous PodCIDRs, restarting"
assert_eq "1" "$(masq_rule | grep -c -F -- '! -s 10.244.1.0/24')" "the rule of the old podCIDR"

t_summary
