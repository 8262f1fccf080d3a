# testlib.sh: helpers for kernel-test guest scripts (busybox ash, POSIX sh). Source it first:
#   . /test/lib/testlib.sh
# run-guest copies it to /test/lib/ on every run. See tests/kernel/README.md.
#
# Checks:   t_begin NAME; assertions; [t_pass]; ... ; t_summary (last line of the script)
# Files:    t_export FILE [NAME] (to the host: run-guest --out DIR)
# Asserts:  assert_eq EXPECTED ACTUAL [MSG], assert_ne, assert_contains HAYSTACK NEEDLE [MSG],
#           assert_not_contains, assert_match TEXT ERE [MSG], assert_ok CMD..., assert_fails CMD...
#           t_fail MSG, t_die MSG (fatal: ends the script with a failure)
# Network:  net_init, mk_kube_ipvs0, bind_vip, route_cover, mk_backend, mk_client, ns_add_ip, http_get,
#           http_tally, retry
# Tools:    $IP $IPVSADM $IPSET $IPTABLES $IPTABLES_SAVE $IPTABLES_RESTORE $IP6TABLES ... (full paths:
#           busybox prefers its own applets over $PATH, and its ip has no netns)

# shellcheck disable=SC2034  # used by the scripts that source this file
IP=/usr/sbin/ip
IPVSADM=/usr/sbin/ipvsadm
IPSET=/usr/sbin/ipset
IPTABLES=/usr/sbin/iptables
IPTABLES_SAVE=/usr/sbin/iptables-save
IPTABLES_RESTORE=/usr/sbin/iptables-restore
IP6TABLES=/usr/sbin/ip6tables
IP6TABLES_SAVE=/usr/sbin/ip6tables-save
IP6TABLES_RESTORE=/usr/sbin/ip6tables-restore
SOCAT=/usr/bin/socat

T_PASSED=0
T_FAILED=0
T_NAME=
T_BAD=0
T_USED=0
T_DONE=0
T_FAILED_NAMES=

# ---- checks ----------------------------------------------------------------------------------

t__close() {
  [ -n "$T_NAME" ] || return 0
  if [ "$T_BAD" -eq 0 ]; then
    T_PASSED=$((T_PASSED + 1))
    echo "ok   - $T_NAME"
  else
    T_FAILED=$((T_FAILED + 1))
    T_FAILED_NAMES="$T_FAILED_NAMES $T_NAME"
    echo "FAIL - $T_NAME"
  fi
  T_NAME=
  T_BAD=0
}

# t_begin NAME: start a check. Closes the previous one (passed unless something failed in it).
t_begin() {
  t__close
  T_NAME=$1
  T_BAD=0
  T_USED=1
  echo "---- $T_NAME"
}

# t_pass: close the current check (passed unless an assertion in it failed).
t_pass() { t__close; }

# t_fail MSG: the current check fails (it goes on running; use t_die to stop).
t_fail() {
  [ -n "$T_NAME" ] || t_begin "${T_IMPLICIT:-setup}"
  T_BAD=1
  echo "  FAIL: $*"
}

# t_die MSG: fail the current check and end the script now (for broken preconditions).
t_die() {
  t_fail "$*"
  t_summary
}

# t_summary: last line of a script. Prints "kernel: N passed, N failed" and exits non-zero on any
# failure, or when no check ran at all.
t_summary() {
  t__close
  T_DONE=1
  [ -n "$T_FAILED_NAMES" ] && echo "failed:$T_FAILED_NAMES"
  echo "kernel: $T_PASSED passed, $T_FAILED failed"
  [ "$T_FAILED" -eq 0 ] && [ "$T_PASSED" -gt 0 ] && exit 0
  exit 1
}

# A script that used t_begin but ended without t_summary (exit, or a crash of the shell) fails.
t__on_exit() {
  _t_rc=$?
  if [ "$T_USED" -eq 1 ] && [ "$T_DONE" -eq 0 ]; then
    t_fail "script ended (status $_t_rc) before t_summary"
    t_summary
  fi
}
trap t__on_exit EXIT

# ---- assertions (each returns 0/1 so `assert_x ... || t_die ...` works) ------------------------

assert_eq() {
  if [ "$1" = "$2" ]; then return 0; fi
  t_fail "${3:-values differ}"
  printf '    expected: %s\n    actual:   %s\n' "$1" "$2"
  return 1
}

assert_ne() {
  if [ "$1" != "$2" ]; then return 0; fi
  t_fail "${3:-values are equal}: $1"
  return 1
}

assert_contains() {
  case $1 in *"$2"*) return 0 ;; esac
  t_fail "${3:-text lacks '$2'}"
  printf '%s\n' "$1" | sed 's/^/    | /'
  return 1
}

assert_not_contains() {
  case $1 in *"$2"*) ;; *) return 0 ;; esac
  t_fail "${3:-text holds '$2'}"
  printf '%s\n' "$1" | sed 's/^/    | /'
  return 1
}

# assert_match TEXT ERE [MSG]: some line of TEXT matches the extended regex.
assert_match() {
  if printf '%s\n' "$1" | grep -Eq -- "$2"; then return 0; fi
  t_fail "${3:-no line matches /$2/}"
  printf '%s\n' "$1" | sed 's/^/    | /'
  return 1
}

# assert_ok CMD...: CMD exits 0; its output is shown only on failure.
assert_ok() {
  _t_out=$("$@" 2>&1)
  _t_rc=$?
  [ "$_t_rc" -eq 0 ] && return 0
  t_fail "'$*' exited $_t_rc"
  printf '%s\n' "$_t_out" | sed 's/^/    | /'
  return 1
}

# assert_fails CMD...: CMD exits non-zero.
assert_fails() {
  if _t_out=$("$@" 2>&1); then
    t_fail "'$*' succeeded but should fail"
    printf '%s\n' "$_t_out" | sed 's/^/    | /'
    return 1
  fi
  return 0
}

# t_export FILE [NAME]: send FILE to the host over the console; run-guest --out DIR writes it as
# DIR/NAME (default: the basename; letters, digits, ._- only). For results (benchmarks), not logs.
t_export() {
  [ -f "$1" ] || { t_fail "t_export: $1 is not a file"; return 1; }
  echo "@@RUN-GUEST-FILE $RUN_GUEST_NONCE ${2:-${1##*/}}@@"
  base64 "$1"
  echo "@@RUN-GUEST-FILE-END $RUN_GUEST_NONCE@@"
}

# retry TRIES CMD...: run CMD until it succeeds, up to TRIES times 0.2 s apart.
retry() {
  _t_n=$1
  shift
  while [ "$_t_n" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    _t_n=$((_t_n - 1))
    sleep 0.2
  done
  return 1
}

# ---- network ---------------------------------------------------------------------------------

# net_init: forwarding on and IPVS loaded with conntrack, as the NAT'ed traffic between
# namespaces needs.
net_init() {
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.ipv6.conf.all.forwarding=1
  modprobe ip_vs || t_die "modprobe ip_vs failed"
  sysctl -qw net.ipv4.vs.conntrack=1
}

# mk_kube_ipvs0: the dummy interface kube-proxy binds ClusterIPs to (down, like kube-proxy's).
mk_kube_ipvs0() {
  $IP link show kube-ipvs0 >/dev/null 2>&1 || $IP link add kube-ipvs0 type dummy ||
    t_die "cannot create kube-ipvs0"
}

# bind_vip IP: put a virtual IP (ClusterIP, external IP) on kube-ipvs0.
bind_vip() {
  mk_kube_ipvs0
  case $1 in *:*) _t_p=128 ;; *) _t_p=32 ;; esac
  $IP addr add "$1/$_t_p" dev kube-ipvs0 nodad 2>/dev/null || $IP addr add "$1/$_t_p" dev kube-ipvs0 ||
    t_die "cannot bind $1 to kube-ipvs0"
}

# route_cover CIDR...: make CIDRs unicast-routable through a dummy interface, for real servers
# that have no namespace behind them (IPVS refuses "address not unicast" real servers).
route_cover() {
  $IP link show rtcover0 >/dev/null 2>&1 || {
    $IP link add rtcover0 type dummy && $IP link set rtcover0 up
  } || t_die "cannot create rtcover0"
  for _t_c in "$@"; do $IP route replace "$_t_c" dev rtcover0 || t_die "cannot route $_t_c"; done
}

# t__veth NS IP: namespace NS with eth0 holding IP, a default route to the root namespace, and in
# the root namespace a host route to IP over the veth "v-NS".
t__veth() {
  _t_host=$(printf 'v-%s' "$1" | cut -c1-15)
  $IP netns add "$1" || t_die "ip netns add $1 failed"
  $IP link add "$_t_host" type veth peer name eth0 netns "$1" || t_die "veth for $1 failed"
  $IP -n "$1" link set lo up
  $IP -n "$1" link set eth0 up
  $IP link set "$_t_host" up
  ns_add_ip "$1" "$2"
}

# ns_add_ip NS IP: one more address (IPv4 /32 or IPv6 /128) on a namespace made by mk_backend or
# mk_client, with its default route (first address of the family) and the root's host route.
ns_add_ip() {
  _t_host=$(printf 'v-%s' "$1" | cut -c1-15)
  case $2 in
    *:*)
      sysctl -qw "net.ipv6.conf.$_t_host.accept_dad=0" 2>/dev/null
      $IP addr add fe80::1/64 dev "$_t_host" nodad 2>/dev/null
      $IP -n "$1" addr add "$2/128" dev eth0 nodad &&
        { $IP -n "$1" -6 route show default | grep -q . ||
          $IP -n "$1" -6 route add default via fe80::1 dev eth0; } &&
        $IP -6 route add "$2/128" dev "$_t_host" || t_die "adding $2 to $1 failed"
      ;;
    *)
      $IP addr add 169.254.1.1/32 dev "$_t_host" 2>/dev/null
      $IP -n "$1" addr add "$2/32" dev eth0 &&
        { $IP -n "$1" -4 route show default | grep -q . || {
          $IP -n "$1" route add 169.254.1.1 dev eth0 &&
            $IP -n "$1" route add default via 169.254.1.1 dev eth0
        }; } &&
        $IP route add "$2/32" dev "$_t_host" || t_die "adding $2 to $1 failed"
      ;;
  esac
}

# mk_backend NS IP NAME [PORT]: a backend namespace whose HTTP server (busybox httpd, all
# addresses, default port 8080) answers every GET / with the body "NAME".
mk_backend() {
  _t_port=${4:-8080}
  t__veth "$1" "$2"
  _t_dir=/tmp/www-$1
  mkdir -p "$_t_dir"
  echo "$3" >"$_t_dir/index.html"
  $IP netns exec "$1" busybox httpd -p "$_t_port" -h "$_t_dir" || t_die "httpd in $1 failed"
  retry 25 http_get "$1" "$2" "$_t_port" || t_die "backend $1 ($2:$_t_port) does not answer"
}

# mk_client NS IP: a client namespace routed through the root namespace.
mk_client() { t__veth "$1" "$2"; }

# http_get NS IP PORT: GET / from namespace NS ("" or "-" for the root namespace); prints the
# response body, fails when there is none. Idle timeout $HTTP_TIMEOUT s (default 5).
http_get() {
  case $1 in "" | -) _t_exec= ;; *) _t_exec="$IP netns exec $1" ;; esac
  _t_resp=$(printf 'GET / HTTP/1.0\r\n\r\n' | $_t_exec nc -w "${HTTP_TIMEOUT:-5}" "$2" "$3" 2>/dev/null | tr -d '\r')
  _t_body=$(printf '%s\n' "$_t_resp" | sed '1,/^$/d')
  [ -n "$_t_body" ] || return 1
  printf '%s\n' "$_t_body"
}

# http_tally NS IP PORT N: N requests; prints one "NAME=COUNT" per answering backend, sorted by
# name, space-separated ("none" for a request without answer), e.g. "b1=10 b2=10 b3=10".
http_tally() {
  _t_i=0
  while [ "$_t_i" -lt "$4" ]; do
    http_get "$1" "$2" "$3" || echo none
    _t_i=$((_t_i + 1))
  done | sort | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1} END {print ""}'
}
