#!/bin/sh
# Guest side of scripts/bench-agent (runs in the kernel-test guest; see that script).
#
#   agent_guest.sh CHANGES SYNC_PERIOD_S N1xE1 [N2xE2 ...]
#
# Size number i (from 0) is served by a fake-apiserver on the host, reached at
# 10.0.2.100:(6443+i), and its `ipvsadm -R` rules are in /test/c<i>/rules.ipvsadm. For each size,
# each time on a freshly loaded ip_vs (rmmod, modprobe: `ipvsadm -C` leaves deleted real servers
# in the destination trash), it measures:
#   (a) `ipvsadm -R` of the rules, and `ipvsadm -Sn >/dev/null` of the loaded table;
#   (b) the agent from exec until /metrics counts its first sync, its phase breakdown, VmHWM and
#       VmRSS;
#   (c) CHANGES endpoint additions through /_control/apply: latency from the agent's own timer
#       (the -v=2 "sync done" latency, the value of network_programming_duration_seconds) and from
#       an outside probe (ipvs-wait) polling the virtual server's real servers every 5 ms;
#   (d) one sync period with nothing to change: the full resync's wall time (its own duration)
#       and the agent's CPU time over the period (/proc/PID/stat), against `ipvsadm -Sn`.
# Every figure is printed as "BENCH|size|key|value" for the host to tabulate. Times come from
# /proc/uptime (10 ms): busybox date has no %N.
#
# Before any measurement, one agent run on the example manifests (/test/m) loads the netfilter,
# xtables and ipset modules its rules use, once per boot, as on any node where kube-proxy or a CNI
# ran; ip_vs itself is reloaded before each measurement.
#
# Memory mode (scripts/bench-agent --memory / --heaptrack; environment from the host):
#   BENCH_MEMORY=HOLD_S   instead of (a)-(d), only the cold start, with the agent's VmRSS/VmHWM and
#                         its last log message sampled every second, until HOLD_S seconds after the
#                         first sync; then VmRSS/VmHWM once more and the agent is stopped.
#   BENCH_HEAPTRACK=PORT  the agent runs with heaptrack's preload library; its raw trace goes through
#                         a fifo and socat to 10.0.2.100:(PORT+i), where the host stores it. The
#                         agent is stopped with SIGKILL, so heaptrack's "leaked" is the steady heap.
#   BENCH_AGENT_ENV="N=V ..." extra environment for the agent (e.g. MALLOC_ARENA_MAX=1).
# BENCH_RUN_ESTIMATION=0|1 (scripts/bench-agent --no-estimation): net.ipv4.vs.run_estimation.
. /test/lib/testlib.sh
net_init
route_cover 10.128.0.0/9
$IP link add node0 type dummy && $IP addr add 192.168.100.10/24 dev node0 && $IP link set node0 up
CHANGES=$1
PERIOD=$2
shift 2

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
out() { echo "BENCH|$SIZE|$1|$2"; }
vip() { echo "10.96.$(($1 / 250)).$(($1 % 250 + 1))"; }
ep() { echo "10.$((128 + $1 / 65536)).$(($1 / 256 % 256)).$(($1 % 256))"; }
scrape() { printf 'GET /metrics HTTP/1.0\r\n\r\n' | busybox nc 127.0.0.1 10249 2>/dev/null; }
metric() { scrape | awk -v m="$1" '$1 == m { print $2; exit }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

fresh_ipvs() {
  # The virtual servers hold their scheduler modules: clear them, then unload everything.
  $IPVSADM -C
  for m in $(awk '/^ip_vs_/ { print $1 }' /proc/modules); do rmmod "$m" || t_die "rmmod $m"; done
  rmmod ip_vs || t_die "rmmod ip_vs (in use?)"
  modprobe ip_vs || t_die "modprobe ip_vs"
  sysctl -qw net.ipv4.vs.conntrack=1
  sysctl -qw net.ipv4.vs.run_estimation="${BENCH_RUN_ESTIMATION:-1}"
  [ -z "$($IPVSADM -Sn)" ] || t_die "ip_vs not empty after reload"
}

# Starts the agent (arguments: its flags) with its output in $log and $agent set to its PID, and
# waits for its first "sync done" line; cold_start is then the time from the exec to that line.
# A reader blocked on the agent's output notes the time as the line is written, so the wait uses
# no CPU (a polling loop took a share of the one CPU from the agent and added half its period).
start_agent() {
  rm -f /tmp/agent.out /tmp/agent.done
  mkfifo /tmp/agent.out /tmp/agent.done
  # tee goes on writing the log after that line: grep -q ends there, and cat drains the rest.
  (tee "$log" </tmp/agent.out | {
    if grep -q 'msg="sync done"'; then now; else echo exited; fi >/tmp/agent.done
    cat >/dev/null
  }) &
  t0=$(now)
  ipvs-agent "$@" >/tmp/agent.out 2>&1 &
  agent=$!
  read -r done_at </tmp/agent.done
  [ "$done_at" != exited ] || { wait; cat "$log"; t_die "the agent exited"; }
  cold_start=$(awk -v a="$t0" -v b="$done_at" 'BEGIN { printf "%.2f", b - a }')
}

# ipvs-wait (ARGS), fed requests on fd 3 and answering on fd 4, until stop_probe.
start_probe() {
  rm -f /tmp/probe.in /tmp/probe.out
  mkfifo /tmp/probe.in /tmp/probe.out
  ipvs-wait "$@" </tmp/probe.in >/tmp/probe.out &
  probe=$!
  exec 3>/tmp/probe.in 4</tmp/probe.out
}
stop_probe() {
  exec 3>&- 4<&-
  wait "$probe"
}

# The slice of Service S with its E generated endpoints plus EXTRA.
slice() {
  eps=""
  k=$(($1 * $2))
  while [ "$k" -lt $((($1 + 1) * $2)) ]; do
    eps="$eps{\"addresses\":[\"$(ep "$k")\"]},"
    k=$((k + 1))
  done
  echo "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"s$1-x\",\"namespace\":\"bench\",\"labels\":{\"kubernetes.io/service-name\":\"s$1\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[$eps{\"addresses\":[\"$3\"]}]}"
}
apply() {
  printf 'POST /_control/apply HTTP/1.0\r\nContent-Length: %s\r\n\r\n%s' "${#2}" "$2" |
    busybox nc 10.0.2.100 "$1" | head -1
}

# "sync done" latencies (Go durations) in seconds, one a line, from log lines after line $2.
latencies() {
  tail -n +"$(($2 + 1))" "$1" | grep 'msg="sync done"' | sed -n 's/.* latency=\([^ ]*\).*/\1/p' |
    awk '$1 != "none" {
      v = $1; s = 0
      while (match(v, /^[0-9.]+(h|ms|m|s|µs|us|ns)/)) {
        t = substr(v, 1, RLENGTH); v = substr(v, RLENGTH + 1)
        n = t + 0; u = t; sub(/^[0-9.]+/, "", u)
        s += n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "ns" ? 1e-9 : 1e-6)
      }
      printf "%.4f\n", s
    }'
}
# p50 p99 max of numbers on stdin.
quantiles() {
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
    printf "%.3f %.3f %.3f\n", v[i50], v[i99], v[NR] }'
}

bench_size() {  # INDEX N E
  SIZE="$2x$3"
  port=$((6443 + $1))
  rules=/test/c$1/rules.ipvsadm
  log=/tmp/agent-$1.log

  # (a) the baseline, on a fresh ip_vs
  fresh_ipvs
  t0=$(now)
  $IPVSADM -R <"$rules" || t_die "ipvsadm -R failed"
  out restore_s "$(since "$t0")"
  t0=$(now)
  $IPVSADM -Sn >/dev/null
  out dump_s "$(since "$t0")"
  # The kernel's floor for the changes of (c): as many real-server adds, to the same Services at
  # about the same pace, each one netlink request from a minimal client, with no agent running.
  start_probe --add
  m=0
  while [ "$m" -lt "$CHANGES" ]; do
    echo "$(vip $((m * 7919 % $2))) 80 10.251.$((m / 256)).$((m % 256)) 8080" >&3
    read -r took <&4
    case $took in [0-9]*) echo "$took" ;; *) t_die "floor add $m: $took" ;; esac
    usleep 50000
    m=$((m + 1))
  done >/tmp/floor
  stop_probe
  out floor_p50_p99_max "$(quantiles </tmp/floor)"

  # (b) cold start, on a fresh ip_vs
  fresh_ipvs
  start_agent --master="http://10.0.2.100:$port" --hostname-override=bench-node \
    --ipvs-sync-period="${PERIOD}s" -v=2
  out cold_start_s "$cold_start"
  until metric kubeproxy_sync_proxy_rules_duration_seconds_count | grep -qx '[1-9][0-9]*'; do
    sleep 0.2
  done
  out vm_hwm_kib "$(awk '/^VmHWM/ { print $2 }' "/proc/$agent/status")"
  out vm_rss_kib "$(awk '/^VmRSS/ { print $2 }' "/proc/$agent/status")"
  scrape | sed -n 's/^ipvs_agent_sync_phase_duration_seconds_sum{phase="\([a-z]*\)"} \(.*\)/\1 \2/p' |
    while read -r phase value; do out "phase_$phase" "$value"; done
  out first_sync_s "$(metric kubeproxy_sync_proxy_rules_duration_seconds_sum)"
  out ipvs_rules "$($IPVSADM -Sn | wc -l)"
  out first_sync_line "$(grep -m1 'msg="sync done"' "$log")"

  # (c) endpoint changes, back to back: agent timer and outside probe. Everything runs at the
  # agent's priority, so the changes go on at their pace while a full resync's dump takes the CPU
  # (at nice 19 they stalled during every dump, and almost no change met one). The probe is one
  # ipvs-wait process for all the changes, which polls the kernel every 5 ms with one netlink
  # request: an ipvsadm exec per look took milliseconds of the one CPU from the agent it timed.
  start_probe
  mark=$(wc -l <"$log")
  : >/tmp/probe
  m=0
  while [ "$m" -lt "$CHANGES" ]; do
    s=$((m * 7919 % $2))
    new="10.250.$((m / 256)).$((m % 256))"
    body=$(slice "$s" "$3" "$new")
    echo "$(vip "$s") 80 $new 8080" >&3
    apply "$port" "$body" | grep -q 200 || t_die "apply failed for s$s"
    read -r took <&4
    case $took in [0-9]*) echo "$took" >>/tmp/probe ;; *) t_die "$new in s$s: $took" ;; esac
    m=$((m + 1))
  done
  stop_probe
  out probe_p50_p99_max "$(quantiles </tmp/probe)"
  out agent_p50_p99_max "$(latencies "$log" "$mark" | quantiles)"
  out agent_latency_syncs "$(latencies "$log" "$mark" | wc -l)"
  # The same for the changes whose sync ran while a full resync's dump read the kernel.
  tail -n +"$((mark + 1))" "$log" | grep 'msg="sync done".* dump_running=true' >/tmp/during-dump
  out during_dump_n_p50_p99_max "$(latencies /tmp/during-dump 0 | wc -l) $(latencies /tmp/during-dump 0 | quantiles)"
  # The eight slowest of those syncs, whole, to see where a tail comes from.
  tail -n +"$((mark + 1))" "$log" | grep 'msg="sync done".* latency=[0-9]' >/tmp/change-syncs
  latencies /tmp/change-syncs 0 | paste -d' ' - /tmp/change-syncs | sort -n | tail -8 |
    while IFS= read -r line; do out slow_sync "$(echo "$line" | sed "s/ time=.* duration=/ duration=/" | cut -c1-400)"; done

  # (d) one sync period with nothing to change: its full resync, and the CPU over the period
  full=$(grep -c 'msg="sync done".* full=true' "$log")
  until [ "$(grep -c 'msg="sync done".* full=true' "$log")" -gt "$full" ]; do sleep 0.2; done
  c0=$(cpu_ticks "$agent")
  t0=$(now)
  full=$((full + 1))
  until [ "$(grep -c 'msg="sync done".* full=true' "$log")" -gt "$full" ]; do sleep 0.2; done
  out period_wall_s "$(since "$t0")"
  out period_cpu_s "$(awk -v a="$c0" -v b="$(cpu_ticks "$agent")" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
  out resync_line "$(grep 'msg="sync done".* full=true' "$log" | tail -1)"
  t0=$(now)
  $IPVSADM -Sn >/dev/null
  out dump_with_agent_s "$(since "$t0")"
  # The peak over the agent's whole run: first sync, the changes, and a full resync (whose
  # background dump holds a second copy of the kernel state while it runs).
  out vm_hwm_end_kib "$(awk '/^VmHWM/ { print $2 }' "/proc/$agent/status")"

  kill "$agent"
  wait "$agent"
  ipvs-agent --cleanup >/dev/null 2>&1 || true
  $IP link del kube-ipvs0 2>/dev/null || true
}

status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
sample() { # PID LOG T0: seconds since T0, VmRSS, VmHWM (KiB) and the agent's last log message
  echo "$(since "$3") $(status_kib VmRSS "$1") $(status_kib VmHWM "$1") \
$(sed -n 's/.* msg="\([^"]*\)".*/\1/p' "$2" | tail -1 | cut -c1-60)"
}

memory_size() { # INDEX N E
  SIZE="$2x$3"
  port=$((6443 + $1))
  log=/tmp/agent-$1.log
  fresh_ipvs
  preload=""
  ship=""
  if [ -n "${BENCH_HEAPTRACK:-}" ]; then
    # heaptrack writes its trace to a path: a fifo whose reader ships it to the host.
    fifo=/tmp/heaptrack-$1.fifo
    mkfifo "$fifo"
    socat -u "OPEN:$fifo" "TCP:10.0.2.100:$((BENCH_HEAPTRACK + $1))" &
    ship=$!
    preload="LD_PRELOAD=/usr/lib/heaptrack/libheaptrack_preload.so DUMP_HEAPTRACK_OUTPUT=$fifo"
  fi
  t0=$(now)
  # shellcheck disable=SC2086 # word splitting of the NAME=VALUE lists is the point
  env $preload ${BENCH_AGENT_ENV:-} ipvs-agent --master="http://10.0.2.100:$port" \
    --hostname-override=bench-node --ipvs-sync-period="${PERIOD}s" -v=2 >"$log" 2>&1 &
  agent=$!
  until grep -q 'msg="sync done"' "$log"; do
    kill -0 "$agent" 2>/dev/null || { cat "$log"; t_die "the agent exited"; }
    out rss_sample "$(sample "$agent" "$log" "$t0")"
    sleep 1
  done
  out cold_start_s "$(since "$t0")"
  out first_sync_hwm_kib "$(status_kib VmHWM "$agent")"
  out first_sync_rss_kib "$(status_kib VmRSS "$agent")"
  t1=$(now)
  while [ "$(awk -v a="$t1" -v b="$(now)" 'BEGIN { print (b - a < '"$BENCH_MEMORY"') }')" = 1 ]; do
    out rss_sample "$(sample "$agent" "$log" "$t0")"
    sleep 1
  done
  out vm_hwm_kib "$(status_kib VmHWM "$agent")"
  out vm_rss_kib "$(status_kib VmRSS "$agent")"
  out first_sync_line "$(grep -m1 'msg="sync done"' "$log")"
  # Under heaptrack, SIGKILL: what the agent still holds is then reported as leaked, i.e. the
  # steady heap after the first sync (the trace is flushed as it goes).
  if [ -n "$ship" ]; then kill -KILL "$agent"; else kill "$agent"; fi
  wait "$agent" || true
  if [ -n "$ship" ]; then wait "$ship" || t_die "the heaptrack trace did not reach the host"; fi
  ipvs-agent --cleanup >/dev/null 2>&1 || true
  $IP link del kube-ipvs0 2>/dev/null || true
}

# The warm-up (see the header): the example manifests, then everything removed again.
warm_up() {
  log=/tmp/agent-warm-up.log
  start_agent --source=/test/m --hostname-override=demo-node -v=2
  kill "$agent"
  wait "$agent"
  ipvs-agent --cleanup >/dev/null 2>&1 || true
  $IP link del kube-ipvs0 2>/dev/null || true
}

echo "guest: $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu, $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB, TCG"
warm_up
i=0
for size in "$@"; do
  if [ -n "${BENCH_MEMORY:-}" ]; then
    memory_size "$i" "${size%x*}" "${size#*x}"
  else
    bench_size "$i" "${size%x*}" "${size#*x}"
  fi
  i=$((i + 1))
done
