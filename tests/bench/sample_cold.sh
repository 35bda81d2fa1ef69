#!/usr/bin/env bash
# The sample Tron match from nothing, builds one after another against builds
# at once (issue 14's "cold sample match before and after parallel builds").
#
#   bash tests/bench/sample_cold.sh [PAIRS]      (default 3)
#
# Each run copies the sample's three programs with a fresh LABEL after every
# FROM and fresh ids, so no layer comes from the engine's cache and the
# sample's own images stay untouched; it uses a fresh state dir, runs the
# match cold (timed: builds + match), then again warm (timed), and removes
# the copies' images. Runs alternate `--build-jobs 1` (one build after
# another, as before) and `--build-jobs 2` (the default on 2 cores), PAIRS
# times; the medians come last. Needs the engine, the Debian base image
# (`judger build --base-image`) and network for apt inside the builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
judger=$root/build/bin/judger
pairs=${1:-3}
work=$(mktemp -d /tmp/judger-sample-cold.XXXXXX)
# The specs name their programs by directory, copied under $work.
export JUDGER_PROGRAM_ROOTS=$work
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }

# Copies samples/<dir> to $work/<tag>/<dir>, a fresh LABEL after each FROM.
copy_program() {
  local tag=$1 dir=$2
  mkdir -p "$work/$tag/$(dirname "$dir")"
  cp -r "samples/$dir" "$work/$tag/$dir"
  for df in "$work/$tag/$dir"/*.Dockerfile; do
    sed -i "/^FROM /a LABEL judger.bench.cold=$tag" "$df"
  done
}

# One cold and one warm run; prints "jobs cold_ms warm_ms".
one_run() {
  local jobs=$1 tag=cold$2-$$
  copy_program "$tag" games/tron
  copy_program "$tag" ais/c-bot
  copy_program "$tag" ais/py-bot
  mkdir -p "$work/$tag/specs"
  python3 - "$root/samples/specs/tron-2p.json" "$work/$tag/specs/tron-2p.json" "$tag" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
tag = sys.argv[3].replace("-", "")
spec["id"] = "bench-" + tag
spec["game_logic"]["id"] = "tron" + tag
for p in spec["players"]:
    p["id"] = p["id"] + tag
json.dump(spec, open(sys.argv[2], "w"))
EOF
  local state=$work/$tag/state t0 t1 t2
  t0=$(now_ms)
  "$judger" run "$work/$tag/specs/tron-2p.json" --state-dir "$state" --build-jobs "$jobs" \
    --out "$work/$tag/out1" >"$work/$tag/cold.log" 2>&1 || echo "run $tag cold: exit $?" >&2
  t1=$(now_ms)
  "$judger" run "$work/$tag/specs/tron-2p.json" --state-dir "$state" --build-jobs "$jobs" \
    --out "$work/$tag/out2" >"$work/$tag/warm.log" 2>&1 || echo "run $tag warm: exit $?" >&2
  t2=$(now_ms)
  local spec=$work/$tag/specs/tron-2p.json
  purge() { "$judger" gc --state-dir "$state" --purge --domain "$1" --id "$2" >/dev/null 2>&1 || true; }
  purge game_logic "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["game_logic"]["id"])' "$spec")"
  for id in $(python3 -c 'import json,sys; print(*[p["id"] for p in json.load(open(sys.argv[1]))["players"]])' "$spec"); do
    purge ai "$id"
  done
  echo "$jobs $((t1 - t0)) $((t2 - t1))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results=$work/results
for i in $(seq 1 "$pairs"); do
  for jobs in 1 2; do
    r=$(one_run "$jobs" "$i$jobs")
    echo "run $i: build jobs $(echo "$r" | cut -d' ' -f1): cold $(echo "$r" | cut -d' ' -f2) ms, warm $(echo "$r" | cut -d' ' -f3) ms (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$r" >>"$results"
  done
done
for jobs in 1 2; do
  c=$(awk -v j="$jobs" '$1 == j {print $2}' "$results" | median)
  w=$(awk -v j="$jobs" '$1 == j {print $3}' "$results" | median)
  echo "median, build jobs $jobs: cold $c ms, warm $w ms"
done
c1=$(awk '$1 == 1 {print $2}' "$results" | median)
c2=$(awk '$1 == 2 {print $2}' "$results" | median)
awk -v a="$c2" -v b="$c1" 'BEGIN {printf "cold, builds at once / one after another: %.2fx\n", a / b}'
