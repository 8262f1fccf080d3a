#!/bin/sh
# Scheduler comparison benchmark, guest side (run by scripts/bench-schedulers in the qemu guest;
# never on a host: it creates namespaces and programs IPVS).
#
# For each scenario (a set of backend service times and capacities) and each scheduler variant
# (a Service with its ipvs-agent.io/scheduler annotation), one load run; then the churn runs
# (one backend drained, removed and added back on every variant's Service at once). Every run's
# JSON goes to the host with t_export; the host writes the report (sched_report).
#
# Environment (defaults in brackets):
#   SB_REQUESTS [160]      requests per scenario run      SB_CONCURRENCY [8] clients in flight
#   SB_NSOURCES [64]       client addresses               SB_FLOW_SOURCES [32] churn addresses
#   SB_FLOW_PORTS [2]      churn source ports per address (churn flows: addresses x ports)
#   SB_SCENARIOS           [uniform exp slow hetero keepalive]
#   SB_VARIANTS            [rr wrr lc wlc sed nq dh sh sh-port mh mh-port]
#   SB_CHURN_EXTRA         [sh-fallback mh-port-fallback] variants for the churn part only
#   SB_CHURN [1]           run the churn part             SB_HOLD_CONNS [8] held connections/variant
#   SB_PROGRAM [auto]      agent | dryrun | auto (see guest_lib.sh)
. /test/lib/testlib.sh
. /test/guest_lib.sh

R=${SB_REQUESTS:-160}
C=${SB_CONCURRENCY:-8}
NSRC=${SB_NSOURCES:-64}
FLOW_PORTS=${SB_FLOW_PORTS:-2}
FLOW_SOURCES=${SB_FLOW_SOURCES:-32}
SCENARIOS=${SB_SCENARIOS:-uniform exp slow hetero keepalive}
VARIANTS=${SB_VARIANTS:-rr wrr lc wlc sed nq dh sh sh-port mh mh-port}
CHURN_VARIANTS="$VARIANTS ${SB_CHURN_EXTRA-sh-fallback mh-port-fallback}"
HOLD=${SB_HOLD_CONNS:-8}
NB=4
OUT=/tmp/sb-out
mkdir -p "$OUT"
ENVF=$OUT/bench.env

# The service time every backend gets unless the scenario says otherwise: the backends, not the
# emulated CPU, must be the bottleneck for schedulers to matter, so service times are tens of ms
# and each backend serves one request at a time (capacity 12.5 requests/s, 50 for all four).
BASE="--service uniform:40:120 --workers 1"

# scenario_setup NAME: start the backends; prints the scenario's description line.
scenario_setup() {
  local k w
  WEIGHTS="1 1 1 1"
  LOADARGS="--requests $R --concurrency $C"
  case $1 in
    uniform)
      for k in 1 2 3 4; do sb_backend "$k" $BASE; done
      DESC="every backend: uniform 40-120 ms service time, 1 request at a time" ;;
    exp)
      for k in 1 2 3 4; do sb_backend "$k" --service exp:80 --workers 1; done
      DESC="every backend: exponential service time (mean 80 ms), 1 request at a time" ;;
    slow)
      for k in 1 2 3; do sb_backend "$k" $BASE; done
      sb_backend 4 $BASE --slow 4
      DESC="b1-b3: uniform 40-120 ms; b4 four times slower (160-480 ms); 1 request at a time" ;;
    hetero)
      k=1
      for w in 1 1 2 4; do sb_backend "$k" $BASE --workers "$w"; k=$((k + 1)); done
      WEIGHTS="1 1 2 4"
      LOADARGS="--requests $R --concurrency $((C * 2))"
      DESC="capacities 1/1/2/4 requests at a time (uniform 40-120 ms), weights 1/1/2/4 set with ipvsadm" ;;
    keepalive)
      for k in 1 2 3 4; do sb_backend "$k" $BASE; done
      LOADARGS="--requests $R --concurrency $C --keepalive --per-conn 10"
      DESC="as uniform, but keep-alive connections of 10 requests each" ;;
    *) t_die "unknown scenario $1" ;;
  esac
  {
    echo "scenario.$1=$DESC"
    echo "weights.$1=$(echo "$WEIGHTS" | tr ' ' ,)"
    echo "load.$1=$LOADARGS"
  } >>"$ENVF"
}

run_scenario() {
  local sc v f
  sc=$1
  t_begin "scenario $sc"
  scenario_setup "$sc"
  echo "== scenario $sc: $DESC"
  for v in $VARIANTS; do
    [ "$WEIGHTS" = "1 1 1 1" ] || sb_set_weights "$v" $WEIGHTS || t_fail "weights on $v"
    f=$OUT/run-$sc-$v.json
    # shellcheck disable=SC2086  # LOADARGS is a word list
    sb_load "$v" "$f" $LOADARGS --meta kind=run --meta scenario="$sc" --meta variant="$v" \
      --meta label="$sc/$v" || t_fail "load run $sc/$v failed"
    [ "$WEIGHTS" = "1 1 1 1" ] || sb_set_weights "$v" 1 1 1 1 || t_fail "weights on $v"
    assert_match "$(cat "$f")" '"ok":[1-9]' "$sc/$v: no request answered"
    t_export "$f"
  done
}

# flows_phase PHASE: every variant's flows once (sources x ports, the same 4-tuples each phase).
flows_phase() {
  local v f rs snap states
  snap=$($IPVSADM -Sn)
  states=
  for v in $CHURN_VARIANTS; do states="$states $v=$(sb_rs_state "$snap" "$v" 2)"; done
  echo "== churn phase $1: b2 is$states"
  for v in $CHURN_VARIANTS; do
    f=$OUT/flows-$v-$1.json
    rs=$(sb_rs_state "$snap" "$v" 2)
    sb_spec "$v"
    $IP netns exec cl /test/bin/sched_loadgen flows --target "$SB_VIP:80" \
      --sources "10.250.0.1+$FLOW_SOURCES" --ports "20000+$FLOW_PORTS" --concurrency "$C" \
      --json "$f" \
      --progress off --meta kind=flows --meta variant="$v" --meta phase="$1" \
      --meta b2="$rs" --meta label="churn/$v/$1" || t_fail "flows $v/$1 failed"
    t_export "$f"
  done
}

run_churn() {
  local k v pid
  t_begin "churn: b2 drained, removed and added back on every variant"
  for k in 1 2 3 4; do sb_backend "$k" --service fixed:2; done
  echo "churn.backends=every backend: fixed 2 ms, no capacity limit" >>"$ENVF"
  if [ "$SB_PROGRAM_USED" = agent ]; then
    # The agent deletes a drained real server at a sync after its last connection ended: a
    # short resync period (kube-proxy's default is 30 s) keeps the removal step short.
    sb_agent_restart --ipvs-sync-period=5s --graceful-termination-timeout=120s ||
      t_fail "agent restart"
    echo "churn.agent=restarted with --ipvs-sync-period=5s --graceful-termination-timeout=120s" >>"$ENVF"
  fi
  echo "churn.flows=$FLOW_SOURCES addresses x $FLOW_PORTS source ports" >>"$ENVF"
  flows_phase before
  flows_phase repeat
  for v in $CHURN_VARIANTS; do
    sb_spec "$v"
    $IP netns exec cl /test/bin/sched_loadgen hold --target "$SB_VIP:80" \
      --sources "$SB_SOURCES" --conns "$HOLD" >"$OUT/hold-$v.log" 2>&1 &
    echo $! >"$SB_STATE/hold-$v.pid"
  done
  for v in $CHURN_VARIANTS; do
    retry 100 grep -q '"round":0' "$OUT/hold-$v.log" || t_fail "hold $v: no round 0"
  done
  sb_change drain 2 $CHURN_VARIANTS || t_fail "drain"
  flows_phase drained
  for v in $CHURN_VARIANTS; do kill -USR1 "$(cat "$SB_STATE/hold-$v.pid")"; done
  for v in $CHURN_VARIANTS; do
    retry 100 grep -q '"round":1' "$OUT/hold-$v.log" || t_fail "hold $v: no round 1"
    pid=$(cat "$SB_STATE/hold-$v.pid")
    kill "$pid" && wait "$pid"
    t_export "$OUT/hold-$v.log" "hold-$v.jsonl"
  done
  sb_change remove 2 $CHURN_VARIANTS || t_fail "remove"
  flows_phase removed
  sb_change restore 2 $CHURN_VARIANTS || t_fail "restore"
  flows_phase restored
}

t_begin "setup"
sb_topology "$NB" "$NSRC"
sb_manifests $CHURN_VARIANTS
sb_program
{
  echo "program=$SB_PROGRAM_USED"
  echo "kernel=$(uname -r)"
  echo "ipvsadm=$($IPVSADM --version 2>&1 | head -1)"
  echo "requests=$R"
  echo "concurrency=$C"
  echo "sources=$NSRC"
  echo "backends=$NB"
  echo "variants=$VARIANTS"
  echo "churn_variants=$CHURN_VARIANTS"
  echo "scenarios=$SCENARIOS"
  echo "churn=${SB_CHURN:-1}"
  echo "hold_conns=$HOLD"
} >"$ENVF"
cp "$SB_STATE/expected.txt" "$OUT/plan.txt"
t_export "$OUT/plan.txt" plan.txt

for sc in $SCENARIOS; do run_scenario "$sc"; done
[ "${SB_CHURN:-1}" = 1 ] && run_churn

t_begin "backend counters"
for k in 1 2 3 4; do sb_backend_stop "$k"; done
cat "$SB_STATE"/b*.stats
t_export "$ENVF"
t_summary
