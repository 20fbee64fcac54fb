#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, two at a time under
# `nice -n 19`, then prints a table: target, seconds, executions, executions/s, coverage
# (libFuzzer's final `cov:`), crashes.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# New inputs go to fuzz/work/corpus/<target>/ (not committed); the committed seeds in
# fuzz/corpus/<target>/ are read too. Crashes, timeouts and OOMs land in
# fuzz/artifacts/<target>/, libFuzzer's output in fuzz/work/logs/<target>.log.
# JOBS (default 2) sets how many targets run at once.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
nice -n 19 cargo +nightly fuzz build 2>&1 | tail -1

run_one() {
  local t=$1 secs=$2
  mkdir -p "work/corpus/$t" "artifacts/$t" work/logs
  local start=$SECONDS
  nice -n 19 cargo +nightly fuzz run "$t" "work/corpus/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"work/logs/$t.log" 2>&1 || true
  echo $((SECONDS - start)) >"work/logs/$t.seconds"
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'run_one "$1" "$2"' _ {} "$secs"

printf '| %-26s | %7s | %12s | %8s | %8s | %7s |\n' target seconds executions "exec/s" coverage crashes
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..28})" "---------" "--------------" "----------" "----------" "---------"
for t in "${targets[@]}"; do
  log="work/logs/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  crashes=$( (find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) 2>/dev/null || true) | wc -l)
  printf '| %-26s | %7s | %12s | %8s | %8s | %7s |\n' "$t" "$(cat "work/logs/$t.seconds" 2>/dev/null || echo -)" \
    "${execs:--}" "${rate:--}" "${cov:--}" "$crashes"
done
