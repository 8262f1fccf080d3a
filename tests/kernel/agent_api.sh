#!/bin/sh
# The real agent watching the local API server (on the host, reached at 10.0.2.100:6443):
# per-Service schedulers by annotation (ours and kube-router's), a bad value, changes in place,
# deletion, and watch faults (dropped streams, 500s, compaction with 410) with changes made
# meanwhile. State is read back with ipvsadm; traffic goes through IPVS.
. /test/lib/testlib.sh
. /test/lib/monitoring.sh
net_init
API=10.0.2.100
api() {  # api METHOD PATH [BODY]
  printf '%s %s HTTP/1.0\r\nContent-Length: %s\r\n\r\n%s' "$1" "$2" "${#3}" "$3" |
    busybox nc "$API" 6443 | head -1
}
apply() { api POST /_control/apply "$1"; }
has_rule() { $IPVSADM -Sn | grep -q -- "$1"; }
wait_rule() { retry 150 has_rule "$1" || t_fail "missing: $1"; }
wait_gone() { retry 150 sh -c "! $IPVSADM -Sn | grep -q -- '$1'" || t_fail "still there: $1"; }
svc() {  # svc NAME IP ANNOTATIONS-JSON
  echo "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"e2e\",\"annotations\":$3},\"spec\":{\"clusterIP\":\"$2\",\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}]}}"
}
slice() {  # slice SERVICE ADDRESSES-JSON
  echo "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$1-x\",\"namespace\":\"e2e\",\"labels\":{\"kubernetes.io/service-name\":\"$1\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":$2}"
}
EPS='[{"addresses":["10.244.1.1"]},{"addresses":["10.244.1.2"]},{"addresses":["10.244.1.3"]}]'

$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
route_cover 10.244.2.0/24
for b in 1 2 3; do mk_backend "b$b" "10.244.1.$b" "b$b"; done
mk_client c1 10.250.0.5

t_begin "the agent lists and watches the API server and programs the examples"
ipvs-agent --master=http://$API:6443 --hostname-override=demo-node \
  --nodeport-addresses=192.168.100.0/24 --ipvs-sync-period=5s -v=2 >/tmp/agent.log 2>&1 &
AGENT=$!
wait_rule "-A -t 192.168.100.10:30080 -s lc"
wait_rule "-A -t 10.96.0.12:80 -s sh -b sh-fallback,sh-port"
assert_eq "b1=10 b2=10 b3=10" "$(http_tally c1 10.96.0.10 80 30)"

t_begin "a Service added with ipvs-agent.io/scheduler=wlc gets wlc"
assert_contains "$(apply "$(svc api-wlc 10.96.1.1 '{"ipvs-agent.io/scheduler":"wlc"}')")" "200"
apply "$(slice api-wlc "$EPS")" >/dev/null
wait_rule "-A -t 10.96.1.1:80 -s wlc"
wait_rule "-a -t 10.96.1.1:80 -r 10.244.1.3:8080 -m -w 1"

t_begin "kube-router's annotations are honoured"
# kube-router applies its flags to mh only.
apply "$(svc api-kr 10.96.1.2 '{"kube-router.io/service.scheduler":"mh","kube-router.io/service.schedflags":"flag-1,flag-2"}')" >/dev/null
wait_rule "-A -t 10.96.1.2:80 -s mh -b mh-fallback,mh-port"

t_begin "a bad scheduler value falls back to the default and is counted"
apply "$(svc api-bad 10.96.1.3 '{"ipvs-agent.io/scheduler":"no-such-scheduler"}')" >/dev/null
wait_rule "-A -t 10.96.1.3:80 -s rr"
retry 50 grep -q "api-bad" /tmp/agent.log || t_fail "no log line names e2e/api-bad"

t_begin "changing the annotation edits the virtual server in place"
apply "$(svc api-wlc 10.96.1.1 '{"ipvs-agent.io/scheduler":"lc"}')" >/dev/null
wait_rule "-A -t 10.96.1.1:80 -s lc"
assert_ok has_rule "-a -t 10.96.1.1:80 -r 10.244.1.1:8080 -m -w 1"

t_begin "a deleted Service loses its virtual server and address"
api DELETE "/_control/delete?kind=Service&namespace=e2e&name=api-bad" >/dev/null
wait_gone "10.96.1.3:80"
retry 50 sh -c "! $IP addr show dev kube-ipvs0 | grep -q 10.96.1.3/32" || t_fail "10.96.1.3 still bound"

t_begin "dropped watch streams: a change made meanwhile arrives"
api POST "/_control/fault?kind=drop&count=3" >/dev/null
apply "$(svc api-drop 10.96.1.4 '{}')" >/dev/null
wait_rule "-A -t 10.96.1.4:80 -s rr"

t_begin "500s from the API server: retried with backoff, the change arrives"
api POST "/_control/fault?kind=500&count=3" >/dev/null
api POST "/_control/fault?kind=drop&count=1" >/dev/null
apply "$(svc api-500 10.96.1.5 '{}')" >/dev/null
wait_rule "-A -t 10.96.1.5:80 -s rr"

t_begin "compaction and 410 Gone: relist, and a deletion made meanwhile is seen"
api POST "/_control/fault?kind=expire&count=3" >/dev/null
api DELETE "/_control/delete?kind=Service&namespace=e2e&name=api-drop" >/dev/null
api POST /_control/compact >/dev/null
apply "$(svc api-410 10.96.1.6 '{}')" >/dev/null
wait_rule "-A -t 10.96.1.6:80 -s rr"
wait_gone "10.96.1.4:80"

t_begin "/metrics has the API client's families that kube-prometheus's kube-proxy dashboard reads"
METRICS=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249)
assert_eq "" "$(missing_families api "$METRICS")" "families missing from /metrics"
assert_contains "$METRICS" 'rest_client_requests_total{code="500",host="10.0.2.100:6443",method="GET"}'

t_begin "the examples were never disturbed"
assert_eq "b1=10 b2=10 b3=10" "$(http_tally c1 10.96.0.10 80 30)"
assert_ok has_rule "-A -t 192.168.100.10:30080 -s lc"

kill "$AGENT"
wait "$AGENT"
t_summary
