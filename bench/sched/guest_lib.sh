# guest_lib.sh: the scheduler benchmark's guest side (busybox sh), shared by the benchmark
# (bench/sched/guest_bench.sh) and the kernel smoke test (tests/kernel/schedbench_smoke.sh).
# Source it after /test/lib/testlib.sh. It builds the topology, starts the backends, writes the
# Service/EndpointSlice manifests and programs them: the one place that knows how the kernel
# gets programmed. Functions keep their variables `local` (busybox ash has it): shell variables
# are global otherwise, and a helper's loop counter would clobber its caller's. Helpers avoid
# forks where they can: under emulation every fork and exec costs tens of milliseconds.
#
# Topology (the address plan of tests/kernel/README.md):
#   backends  netns b1..bN, 10.244.1.K, sched_backend on :8080 answering "bK"
#   clients   netns cl, 10.250.0.1..S (one address per simulated client, /24 routed to it)
#   services  one ClusterIP per scheduler variant, 10.96.1.I:80 -> targetPort 8080
#
# Programming (SB_PROGRAM):
#   agent   ipvs-agent --source=DIR runs in the background and programs the kernel itself;
#           endpoint changes are manifest edits it picks up (weight 0, then deletion once the
#           real server has no connections left, checked at its syncs).
#   dryrun  ipvs-agent --source=DIR --dry-run prints the exact rules the agent would program;
#           they are loaded with `ipvsadm -R` and the VIPs bound to kube-ipvs0 from the same
#           output. Endpoint changes are the ipvsadm commands of the agent's plan: weight 0
#           (drain), delete, add with weight 1.
#   auto    agent if the binary has a working real mode, else dryrun.

SB_MANIFESTS=/tmp/sb-manifests
SB_NODE=bench-node
SB_PORT=8080
SB_STATE=/tmp/sb-state
mkdir -p "$SB_STATE"

# The scheduler variants: name, scheduler, flags annotation ("-": no flags annotation), VIP.
# Plain mh needs an explicit empty flags annotation: the agent, like kube-proxy, adds mh-port
# to mh by default.
SB_VARIANTS_ALL="rr:rr:-:10.96.1.1 wrr:wrr:-:10.96.1.2 lc:lc:-:10.96.1.3 wlc:wlc:-:10.96.1.4
sed:sed:-:10.96.1.5 nq:nq:-:10.96.1.6 dh:dh:-:10.96.1.7 sh:sh:-:10.96.1.8
sh-port:sh:sh-port:10.96.1.9 mh:mh::10.96.1.10 mh-port:mh:mh-port:10.96.1.11
sh-fallback:sh:sh-fallback:10.96.1.12 mh-port-fallback:mh:mh-port,mh-fallback:10.96.1.13"

# sb_spec NAME: sets SB_NAME SB_SCHED SB_FLAGS SB_VIP from the variant's spec (no forks: every
# fork costs a lot under emulation).
sb_spec() {
  local _s _old_ifs
  for _s in $SB_VARIANTS_ALL; do
    case $_s in
      "$1":*)
        _old_ifs=$IFS
        IFS=:
        # shellcheck disable=SC2086  # split on ":" on purpose
        set -- $_s
        IFS=$_old_ifs
        SB_NAME=$1 SB_SCHED=$2 SB_FLAGS=$3 SB_VIP=$4
        return 0
        ;;
    esac
  done
  return 1
}


# ---- topology -------------------------------------------------------------------------------

# sb_ns NS IP: a namespace whose eth0 holds IP/32, with a default route to the root namespace
# (169.254.1.1 on the root's veth "v-NS") and the root's route back: testlib's mk_client, in
# two `ip -batch` runs instead of ten `ip` runs.
sb_ns() {
  $IP netns add "$1" || t_die "ip netns add $1 failed"
  printf '%s\n' "link add v-$1 type veth peer name eth0 netns $1" "link set v-$1 up" \
    "addr add 169.254.1.1/32 dev v-$1" "route add $2/32 dev v-$1" | $IP -batch - ||
    t_die "veth for $1 failed"
  printf '%s\n' "link set lo up" "link set eth0 up" "addr add $2/32 dev eth0" \
    "route add 169.254.1.1 dev eth0" "route add default via 169.254.1.1 dev eth0" |
    $IP -n "$1" -batch - || t_die "addresses of $1 failed"
}

# sb_topology NBACKENDS NSOURCES: backend namespaces b1..bN and the client namespace with its
# NSOURCES addresses (<= 250).
sb_topology() {
  local _k _i
  SB_NBACKENDS=$1
  SB_NSOURCES=$2
  net_init
  mk_kube_ipvs0
  _k=1
  while [ "$_k" -le "$SB_NBACKENDS" ]; do
    sb_ns "b$_k" "10.244.1.$_k"
    _k=$((_k + 1))
  done
  sb_ns cl 10.250.0.1
  _i=2
  while [ "$_i" -le "$SB_NSOURCES" ]; do
    echo "addr add 10.250.0.$_i/32 dev eth0"
    _i=$((_i + 1))
  done >"$SB_STATE/addrs"
  [ -s "$SB_STATE/addrs" ] && { $IP -n cl -batch "$SB_STATE/addrs" || t_die "client addresses"; }
  $IP route replace 10.250.0.0/24 dev v-cl || t_die "route to the clients"
  SB_SOURCES="10.250.0.1+$SB_NSOURCES"
}

# sb_backend K ARGS...: (re)start backend K in its namespace with sched_backend ARGS.
sb_backend() {
  local _k
  _k=$1
  shift
  sb_backend_stop "$_k"
  $IP netns exec "b$_k" /test/bin/sched_backend --name "b$_k" --listen "0.0.0.0:$SB_PORT" \
    --seed "$_k" "$@" >"$SB_STATE/b$_k.stats" 2>"$SB_STATE/b$_k.log" &
  echo $! >"$SB_STATE/b$_k.pid"
  retry 50 http_get "b$_k" "10.244.1.$_k" "$SB_PORT" ||
    t_die "backend b$_k does not answer: $(cat "$SB_STATE/b$_k.log")"
}

sb_backend_stop() {
  local _p
  [ -f "$SB_STATE/b$1.pid" ] || return 0
  _p=$(cat "$SB_STATE/b$1.pid")
  kill "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
  rm -f "$SB_STATE/b$1.pid"
}

# ---- manifests ------------------------------------------------------------------------------

# sb_write_service NAME: the Service of one variant, with its scheduler annotations.
sb_write_service() {
  sb_spec "$1" || return 1
  {
    printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: sched-%s\n  namespace: bench\n' "$1"
    printf '  annotations:\n    ipvs-agent.io/scheduler: "%s"\n' "$SB_SCHED"
    [ "$SB_FLAGS" = "-" ] || printf '    ipvs-agent.io/scheduler-flags: "%s"\n' "$SB_FLAGS"
    printf 'spec:\n  type: ClusterIP\n  clusterIP: %s\n  clusterIPs: [%s]\n' "$SB_VIP" "$SB_VIP"
    printf '  ipFamilies: [IPv4]\n  ports:\n'
    printf '    - {name: http, protocol: TCP, port: 80, targetPort: %s}\n' "$SB_PORT"
  } >"$SB_STATE/svc.tmp" && mv "$SB_STATE/svc.tmp" "$SB_MANIFESTS/svc-$1.yaml"
}

# sb_write_slice NAME [EXCLUDED_K]: the EndpointSlice of variant NAME with every backend but
# EXCLUDED_K, written atomically (a rename) so the agent never reads half a file.
sb_write_slice() {
  local _k
  {
    printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n'
    printf '  name: sched-%s-1\n  namespace: bench\n' "$1"
    printf '  labels: {kubernetes.io/service-name: sched-%s}\naddressType: IPv4\n' "$1"
    printf 'ports:\n  - {name: http, protocol: TCP, port: %s}\nendpoints:\n' "$SB_PORT"
    _k=1
    while [ "$_k" -le "$SB_NBACKENDS" ]; do
      [ "$_k" = "${2:-0}" ] ||
        printf '  - addresses: [10.244.1.%s]\n    conditions: {ready: true}\n' "$_k"
      _k=$((_k + 1))
    done
  } >"$SB_STATE/eps.tmp" && mv "$SB_STATE/eps.tmp" "$SB_MANIFESTS/eps-$1.yaml"
}

# sb_manifests VARIANT...: the node and one Service + EndpointSlice per variant.
sb_manifests() {
  local _v
  mkdir -p "$SB_MANIFESTS"
  printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n' "$SB_NODE" >"$SB_MANIFESTS/node.yaml"
  printf 'status:\n  addresses:\n    - {type: InternalIP, address: 10.250.255.1}\n' \
    >>"$SB_MANIFESTS/node.yaml"
  for _v in "$@"; do
    sb_write_service "$_v" || t_die "unknown variant $_v"
    sb_write_slice "$_v"
  done
}

# ---- programming ------------------------------------------------------------------------------

# sb_plan: the IPVS rules the agent plans for the manifests (ipvsadm -Sn lines, sorted).
sb_plan() {
  ipvs-agent --source="$SB_MANIFESTS" --dry-run --hostname-override="$SB_NODE" \
    2>"$SB_STATE/plan.err" >"$SB_STATE/plan.txt" || {
    cat "$SB_STATE/plan.err"
    return 1
  }
  sed -n '/^# IPVS/,/^# /p' "$SB_STATE/plan.txt" | grep '^-[Aa] ' | sort
}

# sb_kernel_rules: the kernel's IPVS rules for the benchmark's VIPs (10.96.1.0/24), sorted.
sb_kernel_rules() { $IPVSADM -Sn | grep -- ' -t 10\.96\.1\.' | sort; }

# sb_agent_works: the agent binary has a real (non-dry-run) standalone mode: started on an empty
# manifest directory, it is still running after 3 s or stops cleanly on timeout's SIGTERM (a
# build without that mode exits at once, saying "only --dry-run is implemented").
sb_agent_works() {
  local _rc
  mkdir -p "$SB_STATE/empty"
  timeout 3 ipvs-agent --source="$SB_STATE/empty" --hostname-override="$SB_NODE" \
    --healthz-bind-address= --metrics-bind-address= >"$SB_STATE/probe.log" 2>&1
  _rc=$?
  grep -q 'only --dry-run is implemented' "$SB_STATE/probe.log" && return 1
  case $_rc in 0 | 124 | 143) return 0 ;; esac
  return 1
}

# sb_wait_rules EXPECTED_FILE SECONDS: until the kernel's rules equal the expected ones.
sb_wait_rules() {
  local _n
  _n=$(($(sb_now) + $2))
  while :; do
    sb_kernel_rules >"$SB_STATE/kernel.txt"
    cmp -s "$1" "$SB_STATE/kernel.txt" && return 0
    [ "$(sb_now)" -lt "$_n" ] || break
    sleep 0.5
  done
  echo "  expected:" && sed 's/^/    /' "$1"
  echo "  kernel:" && sed 's/^/    /' "$SB_STATE/kernel.txt"
  return 1
}

# The agent's options besides the source. A long resync period by default: the heterogeneous
# scenario sets weights the agent does not know about, and a full resync would repair them.
SB_AGENT_ARGS="--ipvs-sync-period=1h --graceful-termination-timeout=120s"

# sb_agent_start ARGS...: ipvs-agent --source in the background (its log in $SB_STATE/agent.log).
sb_agent_start() {
  ipvs-agent --source="$SB_MANIFESTS" --hostname-override="$SB_NODE" \
    --healthz-bind-address= --metrics-bind-address= "$@" >>"$SB_STATE/agent.log" 2>&1 &
  echo $! >"$SB_STATE/agent.pid"
}

# sb_agent_restart ARGS...: stop the agent (it leaves the kernel state in place) and start it
# again with other options; waits until it holds the planned rules again.
sb_agent_restart() {
  local _p
  _p=$(cat "$SB_STATE/agent.pid")
  kill "$_p" && wait "$_p"
  sb_agent_start "$@"
  sb_wait_rules "$SB_STATE/expected.txt" 60
}

# sb_program: program every variant's Service (first time). Sets SB_PROGRAM_USED.
sb_program() {
  local _mode
  sb_plan >"$SB_STATE/expected.txt" || t_die "ipvs-agent --dry-run failed"
  [ -s "$SB_STATE/expected.txt" ] || t_die "the agent planned no IPVS rules: $(cat "$SB_STATE/plan.err")"
  _mode=${SB_PROGRAM:-auto}
  if [ "$_mode" = auto ]; then
    if sb_agent_works; then _mode=agent; else _mode=dryrun; fi
  fi
  SB_PROGRAM_USED=$_mode
  case $_mode in
    agent)
      sb_agent_start $SB_AGENT_ARGS
      sb_wait_rules "$SB_STATE/expected.txt" 60 || {
        tail -20 "$SB_STATE/agent.log"
        t_die "the agent did not program the planned rules"
      }
      ;;
    dryrun)
      $IPVSADM -R <"$SB_STATE/expected.txt" || t_die "ipvsadm -R of the agent's plan failed"
      sed -n '/^# kube-ipvs0/,/^# /p' "$SB_STATE/plan.txt" | grep ' dev kube-ipvs0' |
        sed 's/^/addr add /' | $IP -force -batch - 2>/dev/null
      sb_wait_rules "$SB_STATE/expected.txt" 0 || t_die "ipvsadm -R did not load the plan"
      ;;
    *) t_die "SB_PROGRAM must be agent, dryrun or auto, not $_mode" ;;
  esac
  echo "programmed $(grep -c '^-A' "$SB_STATE/expected.txt") services via $SB_PROGRAM_USED"
}

# sb_now: whole seconds of guest uptime (wait loops are bounded in time, not in tries: under
# emulation one try can take a second).
sb_now() {
  local _up _rest
  read -r _up _rest </proc/uptime
  echo "${_up%.*}"
}

# sb_rs_state SNAPSHOT VARIANT K: prints absent, weight0 or active: backend K's real server on
# the variant's Service in SNAPSHOT (ipvsadm -Sn output). Fork-free.
sb_rs_state() {
  sb_spec "$2"
  case $1 in
    *"-t $SB_VIP:80 -r 10.244.1.$3:$SB_PORT -m -w 0"*) echo weight0 ;;
    *"-t $SB_VIP:80 -r 10.244.1.$3:$SB_PORT "*) echo active ;;
    *) echo absent ;;
  esac
}

# sb_change OP K VARIANT...: an endpoint change on every variant's Service at once, then waits
# until the kernel shows it on all of them:
#   drain    backend K leaves the endpoints: its real server goes to weight 0 (the agent deletes
#            it at once when it has no connections at all, so absent is accepted too);
#   remove   the drained real server is deleted (agent: once its connections ended or its
#            graceful-termination timeout passed; dryrun: at once, as the plan's next step);
#   restore  backend K is an endpoint again (weight 1, as the agent programs it).
sb_change() {
  local _op _k _rs _n _snap _done _v
  _op=$1
  _k=$2
  shift 2
  _rs="10.244.1.$_k:$SB_PORT"
  : >"$SB_STATE/change.txt"
  for _v in "$@"; do
    sb_spec "$_v"
    if [ "$SB_PROGRAM_USED" = agent ]; then
      case $_op in
        drain) sb_write_slice "$_v" "$_k" ;;
        restore) sb_write_slice "$_v" ;;
      esac
    else
      case $_op in
        drain) echo "-e -t $SB_VIP:80 -r $_rs -m -w 0" ;;
        remove) echo "-d -t $SB_VIP:80 -r $_rs" ;;
        restore) echo "-a -t $SB_VIP:80 -r $_rs -m -w 1" ;;
      esac >>"$SB_STATE/change.txt"
    fi
  done
  [ -s "$SB_STATE/change.txt" ] && { $IPVSADM -R <"$SB_STATE/change.txt" || return 1; }
  _n=$(($(sb_now) + 120))
  while [ "$(sb_now)" -lt "$_n" ]; do
    _snap=$($IPVSADM -Sn)
    _done=1
    for _v in "$@"; do
      case $_op:$(sb_rs_state "$_snap" "$_v" "$_k") in
        drain:weight0 | drain:absent | remove:absent | restore:active) ;;
        *) _done=0 ;;
      esac
    done
    [ "$_done" = 1 ] && return 0
    sleep 0.25
  done
  echo "sb_change $_op b$_k: not seen in the kernel after 120 s"
  [ -f "$SB_STATE/agent.log" ] && tail -20 "$SB_STATE/agent.log"
  return 1
}

# sb_set_weights VARIANT W1 W2 ...: program real-server weights directly with ipvsadm (the agent
# always programs weight 1; the heterogeneous scenario needs capacities as weights).
sb_set_weights() {
  local _k _w
  sb_spec "$1"
  shift
  _k=1
  for _w in "$@"; do
    echo "-e -t $SB_VIP:80 -r 10.244.1.$_k:$SB_PORT -m -w $_w"
    _k=$((_k + 1))
  done | $IPVSADM -R
}

# sb_load VARIANT OUTFILE ARGS...: sched_loadgen run against the variant's VIP from the client
# namespace, every client address as a source.
sb_load() {
  local _out
  sb_spec "$1"
  _out=$2
  shift 2
  $IP netns exec cl /test/bin/sched_loadgen run --target "$SB_VIP:80" --sources "$SB_SOURCES" \
    --json "$_out" --progress off "$@"
}
