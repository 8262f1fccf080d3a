# missing_families WHERE METRICS_TEXT: prints each family that the monitoring data file
# (/test/kube_proxy_families.txt, from tests/kernel/data/monitoring) marks WHERE but the
# /metrics text lacks (no "# TYPE family" line). Prints nothing when all are there.
missing_families() {
  grep -v '^#' /test/kube_proxy_families.txt | while read -r _family _where _rest; do
    [ "$_where" = "$1" ] || continue
    printf '%s\n' "$2" | grep -q "^# TYPE $_family " || echo "$_family"
  done
}
