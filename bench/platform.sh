#!/usr/bin/env bash
# Reference platform throughput and latency overhead (issue #2's target:
# >= 2,000 chat turns/s with p99 overhead < 10 ms, simulators at zero added
# latency, cache misses, PostgreSQL writes on).
#
# Baseline, measured in the same run: the same open-model load sent straight
# to the primary LLM simulator. Five alternating runs of each; medians; the
# result replaces the "## Platform" section of docs/benchmarks.md.
#
# usage: bench/platform.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-2000}
seconds=${2:-10}
runs=5

cargo build --release --quiet --bin gameday --example openloop
gameday=target/release/gameday
openloop=target/release/examples/openloop

addresses=$(mktemp)
# Without the lab's Prometheus: this measures the platform alone (scraping's
# cost is bench/metrics.sh's).
GAMEDAY_PROMETHEUS= RUST_LOG=error "$gameday" lab --json >"$addresses" 2>/dev/null &
lab_pid=$!
trap 'kill $lab_pid 2>/dev/null; wait $lab_pid 2>/dev/null; rm -f "$addresses"' EXIT
for _ in $(seq 1 300); do [[ -s $addresses ]] && break; sleep 0.1; done
[[ -s $addresses ]] || { echo "the lab did not come up" >&2; exit 2; }
platform=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["platform"])' "$addresses")
primary=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["primary"])' "$addresses")

# Warm-up: connection pools, PostgreSQL schema and caches.
"$openloop" platform "$platform/v1/chat" "$rate" 3 >/dev/null
"$openloop" openai "$primary/v1/chat/completions" "$rate" 3 >/dev/null

results=$(mktemp)
for run in $(seq 1 $runs); do
    echo "run $run/$runs" >&2
    echo "platform $("$openloop" platform "$platform/v1/chat" "$rate" "$seconds")" >>"$results"
    echo "direct $("$openloop" openai "$primary/v1/chat/completions" "$rate" "$seconds")" >>"$results"
done

python3 - "$results" "$rate" "$seconds" "$runs" <<'PY'
import json, statistics, subprocess, sys, datetime
results, rate, seconds, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {"platform": [], "direct": []}
for line in open(results):
    kind, data = line.split(" ", 1)
    rows[kind].append(json.loads(data))
def med(kind, key):
    return statistics.median(r[key] for r in rows[kind])
p99_overhead = med("platform", "p99_ms") - med("direct", "p99_ms")
p50_overhead = med("platform", "p50_ms") - med("direct", "p50_ms")
errors = sum(r["errors"] for r in rows["platform"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
ok = med("platform", "achieved_rate") >= 0.99 * rate and errors == 0 and p99_overhead < 10
section = f"""## Platform

Measured {datetime.date.today()} on {nproc} cores ({cpu}) with `bench/platform.sh {int(rate)} {seconds}`:
open-model load at {int(rate)} chat turns/s for {seconds} s, {runs} alternating runs each, medians.
Simulators at zero added latency; every turn is a cache miss (unique message) and writes to PostgreSQL.
Baseline: the same load straight to the primary LLM simulator (what the platform adds is the difference).

| | achieved turns/s | errors | p50 ms | p90 ms | p99 ms | max ms |
| --- | --- | --- | --- | --- | --- | --- |
| platform (`POST /v1/chat`) | {med("platform", "achieved_rate"):.0f} | {errors} | {med("platform", "p50_ms"):.2f} | {med("platform", "p90_ms"):.2f} | {med("platform", "p99_ms"):.2f} | {med("platform", "max_ms"):.1f} |
| simulator direct (baseline) | {med("direct", "achieved_rate"):.0f} | {sum(r["errors"] for r in rows["direct"])} | {med("direct", "p50_ms"):.2f} | {med("direct", "p90_ms"):.2f} | {med("direct", "p99_ms"):.2f} | {med("direct", "max_ms"):.1f} |

Overhead of the platform: p50 {p50_overhead:+.2f} ms, p99 {p99_overhead:+.2f} ms (target: p99 < 10 ms at >= 2,000 turns/s):
**{"met" if ok else "NOT met"}**. Latency is measured from each request's intended start, so a stall
shows up in full (no coordinated omission). Load generator: `bench/openloop.rs`.
"""
sys.path.insert(0, "bench")
from benchdoc import write_section
write_section(section)
print(section)
PY
rm -f "$results"
