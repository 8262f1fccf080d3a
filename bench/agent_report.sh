#!/bin/sh
# Tabulates scripts/bench-agent's guest figures ("BENCH|size|key|value" lines) as markdown.
#
#   agent_report.sh RESULTS COMMAND WALL_SECONDS GUEST_LINE
set -eu
awk -F'|' -v command="$2" -v wall="$3" -v guest="$4" '
# A Go duration ("1.5s", "120ms", "2m3.5s", "850µs") in seconds.
function goSeconds(v,   s, t, n, u) {
  s = 0
  while (match(v, /^[0-9.]+(h|ms|m|s|µs|us|ns)/)) {
    t = substr(v, 1, RLENGTH); v = substr(v, RLENGTH + 1)
    n = t + 0; u = t; sub(/^[0-9.]+/, "", u)
    s += n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "ns" ? 1e-9 : 1e-6)
  }
  return s
}
function field(line, key,   r) {
  r = line
  if (!sub(".* " key "=", "", r)) return ""
  sub(/ .*/, "", r)
  return r
}
function get(s, k) { return ((s, k) in v) ? v[s, k] : "-" }
function ratio(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("**%.2f×**", a / b) : "-" }
function row(label, key,   i, line) {
  line = "| " label " |"
  for (i = 1; i <= ns; i++) line = line " " get(sizes[i], key) " |"
  print line
}
function mib(s, k) { return ((s, k) in v) ? sprintf("%.1f", v[s, k] / 1024) : "-" }
{
  if (!(($2) in seen)) { seen[$2] = 1; sizes[++ns] = $2 }
  if ($3 == "slow_sync") { slow[$2] = slow[$2] "\n- `" $4 "`"; next }
  v[$2, $3] = $4
}
END {
  phases = "start list wait cache plan observe ipvs ipsets addresses conntrack iptables other"
  np = split(phases, ph, " ")
  for (i = 1; i <= ns; i++) {
    s = sizes[i]
    # The full resync: its kernel dump (on its own thread, logged as dump=) plus the sync that
    # completes it (duration=).
    v[s, "resync_dump_s"] = sprintf("%.2f", goSeconds(field(get(s, "resync_line"), "dump")))
    v[s, "resync_dump_cpu_s"] = sprintf("%.2f", goSeconds(field(get(s, "resync_line"), "dump_cpu")))
    v[s, "resync_sync_s"] = sprintf("%.2f", goSeconds(field(get(s, "resync_line"), "duration")))
    v[s, "resync_s"] = sprintf("%.2f", v[s, "resync_dump_s"] + v[s, "resync_sync_s"])
    v[s, "cold_ratio"] = ratio(get(s, "cold_start_s"), get(s, "restore_s"))
    v[s, "resync_phases"] = field(get(s, "resync_line"), "phases")
    gsub(/"/, "", v[s, "resync_phases"]); gsub(/,/, ", ", v[s, "resync_phases"])
    # Against `ipvsadm -Sn` of the same table with nothing else running (before the agent).
    v[s, "resync_ratio"] = ratio(v[s, "resync_s"], get(s, "dump_s"))
    v[s, "dump_both"] = get(s, "dump_s") " / " get(s, "dump_with_agent_s")
    v[s, "hwm"] = mib(s, "vm_hwm_kib"); v[s, "rss"] = mib(s, "vm_rss_kib")
    v[s, "hwm_end"] = mib(s, "vm_hwm_end_kib")
    split(get(s, "agent_p50_p99_max"), a, " "); split(get(s, "probe_p50_p99_max"), p, " ")
    v[s, "agent_lat"] = a[1] " / " a[2] " / " a[3]
    v[s, "probe_lat"] = p[1] " / " p[2] " / " p[3]
    split(get(s, "floor_p50_p99_max"), f, " ")
    v[s, "floor_lat"] = f[1] == "" ? "-" : f[1] " / " f[2] " / " f[3]
    split(get(s, "during_dump_n_p50_p99_max"), d, " ")
    v[s, "dump_lat"] = d[1] == "" ? "-" : d[1] " changes: " d[2] " / " d[3] " / " d[4]
    v[s, "cpu"] = get(s, "period_cpu_s") " s over " get(s, "period_wall_s") " s"
    inSync = 0
    for (j = 4; j <= np; j++) inSync += get(s, "phase_" ph[j])
    v[s, "in_sync"] = sprintf("%.2f", inSync)
    for (j = 1; j <= np; j++) {
      x = get(s, "phase_" ph[j])
      v[s, "ph_" ph[j]] = x == "-" ? "-" : sprintf("%.3f (%.0f%%)", x, 100 * x / (get(s, "cold_start_s") + 1e-9))
    }
  }
  print "# ipvs-agent end to end (scripts/bench-agent)"
  print ""
  print "Command: `" command "` (guest wall time " wall " s). " guest "."
  print "Times in seconds on the TCG guest clock: compare the ratios, measured in the same guest run."
  print ""
  head = "| |"; sep = "|---|"
  for (i = 1; i <= ns; i++) { head = head " " sizes[i] " |"; sep = sep "---|" }
  print head; print sep
  row("`ipvsadm -R` of the same rules, fresh ip_vs (s)", "restore_s")
  row("agent cold start: exec until the first sync is done (s)", "cold_start_s")
  row("**cold start / `ipvsadm -R`**", "cold_ratio")
  print "| *first sync breakdown, from `ipvs_agent_sync_phase_duration_seconds` (s, % of cold start):* |"
  for (j = 1; j <= np; j++) row("&nbsp;&nbsp;" ph[j], "ph_" ph[j])
  row("&nbsp;&nbsp;the sync itself (cache..other)", "in_sync")
  row("agent peak RSS, VmHWM, at the end of the first sync (MiB)", "hwm")
  row("agent peak RSS, VmHWM, over the whole run: first sync, changes, a full resync (MiB)", "hwm_end")
  row("agent steady RSS, VmRSS after the sync (MiB)", "rss")
  row("endpoint added → kernel, agent timer p50 / p99 / max (s)", "agent_lat")
  row("&nbsp;&nbsp;of those, the changes synced while a full resync dump ran: p50 / p99 / max (s)", "dump_lat")
  row("same, outside probe (ipvs-wait, polling every 5 ms) p50 / p99 / max (s)", "probe_lat")
  row("the kernel alone: the same adds, one netlink request each, no agent (ipvs-wait --add) p50 / p99 / max (s)", "floor_lat")
  row("full resync with nothing to change, agent wall: dump + completing sync (s)", "resync_s")
  row("&nbsp;&nbsp;its kernel dump, on the dump thread: wall (s)", "resync_dump_s")
  row("&nbsp;&nbsp;its kernel dump: CPU of the dump thread (s)", "resync_dump_cpu_s")
  row("&nbsp;&nbsp;the sync that completes it (s)", "resync_sync_s")
  row("&nbsp;&nbsp;its phases (agent log, -v=2)", "resync_phases")
  row("`ipvsadm -Sn > /dev/null` of the same table, before the agent starts / while it runs (s)", "dump_both")
  row("**full resync / `ipvsadm -Sn`**", "resync_ratio")
  row("agent CPU over one sync period (one full resync + idle)", "cpu")
  if (ns > 1) {
    split(get(sizes[1], "agent_lat"), a, " / "); split(get(sizes[ns], "agent_lat"), b, " / ")
    if (a[2] + 0 > 0) printf "\nAgent-timer p99 at %s / p99 at %s: **%.2f×**\n", sizes[ns], sizes[1], b[2] / a[2]
    split(get(sizes[1], "floor_lat"), a, " / "); split(get(sizes[ns], "floor_lat"), b, " / ")
    if (a[2] + 0 > 0) printf "\nThe kernel alone, p99 at %s / p99 at %s: **%.2f×**\n", sizes[ns], sizes[1], b[2] / a[2]
  }
  for (i = 1; i <= ns; i++) {
    if (!(sizes[i] in slow)) continue
    printf "\nThe eight slowest change syncs at %s (latency in s, then the agent'"'"'s line):%s\n", sizes[i], slow[sizes[i]]
  }
}' "$1"
