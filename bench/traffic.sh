#!/usr/bin/env bash
# The traffic generator (src/traffic) against a trivial HTTP server
# (bench/traffic_hello.rs), issue #4's performance targets:
#
#   1. maximum request rate vs wrk (same server, same 128 connections,
#      same POST /v1/chat body): target >= 0.8x wrk;
#   2. achieved rate at 5k and 20k req/s: target >= 0.995x, with dropped
#      and late requests shown;
#   3. coordinated omission: the server is frozen (SIGSTOP) for 1 s during a
#      20 s run at 5k req/s; an honest open-model measurement reports
#      p99 ~= 800 ms (1 s of arrivals = 5% of the run, waiting 1000..0 ms);
#   4. memory: resident size sampled every 10 s during a run at 2k req/s
#      (SOAK_SECONDS, default 120; the issue's target is 1 h <= 64 MiB, flat).
#
# Parts 1-3: 5 alternating runs each, medians; part 1 also records the CPU
# time (user + system) of wrk and of the generator per request. The result replaces the
# "## Traffic generator" section of docs/benchmarks.md.
#
# usage: bench/traffic.sh [SECONDS]        (SECONDS per run of parts 1 and 2; default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
soak_seconds=${SOAK_SECONDS:-120}
runs=5
connections=128

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null
fi
cargo build --release --quiet --example traffic_hello --example traffic_run
hello=target/release/examples/traffic_hello
generator=target/release/examples/traffic_run

work=$(mktemp -d)
"$hello" 0 >"$work/hello.url" 2>"$work/hello.err" &
hello_pid=$!
trap 'kill -CONT $hello_pid 2>/dev/null; kill $hello_pid 2>/dev/null; wait $hello_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [[ -s $work/hello.url ]] && break; sleep 0.05; done
base=$(head -1 "$work/hello.url")
[[ -n $base ]] || { echo "the hello server did not start" >&2; exit 2; }

# The same request wrk and the generator send (the generator varies the
# conversation and message text per turn; the length is about the same).
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"conversation_id":"gd-1-417-3","message":"Turn 12 of gd-1-417-3: what should I check next in the plan?","stream":false}'
wrk.headers["Content-Type"] = "application/json"
LUA

wrk_rate() {
    /usr/bin/time -f "%U %S" -o "$work/wrk.time" \
        wrk -t2 -c"$connections" -d"${1}s" -s "$work/post.lua" "$base/v1/chat" |
        awk '/^Requests\/sec:/ {print $2}'
}

# CPU seconds (user + system) of the last timed command.
cpu_of() {
    awk 'END {print $1 + $2}' "$1"
}

# Warm-up of both (page cache, CPU frequency).
wrk_rate 2 >/dev/null
"$generator" "$base" 5000 2 4096 "$connections" >/dev/null 2>&1

results=$work/results
for run in $(seq 1 $runs); do
    echo "max rate, run $run/$runs" >&2
    rate=$(wrk_rate "$seconds")
    echo "wrk {\"requests_per_s\": $rate, \"cpu_s\": $(cpu_of "$work/wrk.time")}" >>"$results"
    # Offer twice what wrk managed: the generator runs saturated, and its
    # completions per second are its maximum rate.
    offered=$(python3 -c "print(int(2 * float('$rate')))")
    max=$(/usr/bin/time -f "%U %S" -o "$work/gen.time" \
        "$generator" "$base" "$offered" "$seconds" 4096 "$connections")
    echo "max ${max%\}}, \"cpu_s\": $(cpu_of "$work/gen.time")}" >>"$results"
done

for run in $(seq 1 $runs); do
    for rate in 5000 20000; do
        echo "achieved rate $rate, run $run/$runs" >&2
        echo "rate$rate $("$generator" "$base" "$rate" "$seconds" 20000 256)" >>"$results"
    done
done

for run in $(seq 1 $runs); do
    echo "coordinated omission, run $run/$runs" >&2
    "$generator" "$base" 5000 20 20000 256 >"$work/co.json" &
    generator_pid=$!
    sleep 8
    kill -STOP $hello_pid
    sleep 1
    kill -CONT $hello_pid
    wait $generator_pid
    echo "co $(cat "$work/co.json")" >>"$results"
done

echo "memory soak, $soak_seconds s at 2000/s" >&2
echo "soak $("$generator" "$base" 2000 "$soak_seconds" 4096)" >>"$results"

python3 - "$results" "$seconds" "$runs" "$connections" "$soak_seconds" <<'PY'
import json, statistics, subprocess, sys, datetime
results, seconds, runs, connections, soak_seconds = sys.argv[1:6]
rows = {}
for line in open(results):
    kind, data = line.split(" ", 1)
    rows.setdefault(kind, []).append(json.loads(data))
def med(kind, key):
    return statistics.median(r[key] for r in rows[kind])
wrk = med("wrk", "requests_per_s")
ours = med("max", "completed_rate")
ratio = ours / wrk
wrk_us = statistics.median(r["cpu_s"] / max(r["requests_per_s"] * float(seconds), 1) * 1e6 for r in rows["wrk"])
gen_us = statistics.median(r["cpu_s"] / max(r["completed"], 1) * 1e6 for r in rows["max"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
def rate_row(kind, target):
    achieved = med(kind, "achieved_rate")
    return (f"| {target:,} | {achieved:,.0f} | {achieved / target:.4f} | "
            f"{sum(r['dropped'] for r in rows[kind])} | {med(kind, 'late'):.0f} | "
            f"{sum(r['errors'] for r in rows[kind])} | {med(kind, 'p50_ms'):.2f} | {med(kind, 'p99_ms'):.1f} |")
co = sorted(r["p99_ms"] for r in rows["co"])
co_median = statistics.median(co)
soak = rows["soak"][0]
samples = [s / 1024 for s in soak["rss_samples_kib"]]
verdict = lambda ok: "met" if ok else "**not met**"
section = f"""## Traffic generator

Measured {datetime.date.today()} on {nproc} cores ({cpu}), load average {load} at the end (the machine is
shared with other builds: absolute figures are noisy, the ratios are measured side by side), with
`bench/traffic.sh {seconds}`: {runs} alternating runs of each part, medians. Server: `bench/traffic_hello.rs`
(axum, answers at once). Generator: `bench/traffic_run.rs` (gameday's `traffic::Generator`, chat turns,
release build). Both share the 2 cores with the server.

**Maximum rate** (`POST /v1/chat`, {connections} connections each; the generator is offered twice wrk's
rate and its completions per second are counted):

| | requests/s (median) | runs |
| --- | --- | --- |
| wrk `-t2 -c{connections}` (baseline) | {wrk:,.0f} | {", ".join(f"{r['requests_per_s']:,.0f}" for r in rows["wrk"])} |
| gameday generator | {ours:,.0f} | {", ".join(f"{r['completed_rate']:,.0f}" for r in rows["max"])} |

Ratio {ratio:.2f}x wrk (target >= 0.8x, stretch 0.95x): {verdict(ratio >= 0.8)}.

**Achieved rate** (constant arrivals, {seconds} s, at most 256 connections):

| target req/s | achieved (median) | ratio | dropped (all runs) | late > 10 ms (median) | errors | p50 ms | p99 ms |
| --- | --- | --- | --- | --- | --- | --- | --- |
{rate_row("rate5000", 5000)}
{rate_row("rate20000", 20000)}

Target >= 0.995x: {verdict(med("rate5000", "achieved_rate") >= 0.995 * 5000 and med("rate20000", "achieved_rate") >= 0.995 * 20000)}.
A late request is sent more than 10 ms after its intended start (the generator fell behind); its
latency still counts from the intended start.

**Coordinated omission** (20 s at 5,000 req/s, the server SIGSTOPped for 1 s at t = 8 s, 256 connections):
reported p99 {co_median:.0f} ms (runs: {", ".join(f"{p:.0f}" for p in co)}); an honest measurement
shows ~800 ms, target within ±5% (760–840 ms): {verdict(760 <= co_median <= 840)}.

**Memory** ({soak_seconds} s at 2,000 req/s, unbounded connections): resident
{samples[0] if samples else 0:.1f} MiB at the start, {max(samples) if samples else 0:.1f} MiB peak sample, {samples[-1] if samples else 0:.1f} MiB at the end
(peak {soak["peak_rss_kib"] / 1024:.1f} MiB; samples every 10 s: {", ".join(f"{s:.1f}" for s in samples)}).
Target for 1 h: <= 64 MiB and flat; the full hour is `bench/traffic_soak.sh` (section "Traffic generator, one hour").

CPU per request in the maximum-rate runs (user + system, `/usr/bin/time`; medians): generator
{gen_us:.1f} µs per completed request (it also schedules, and drops, the arrivals it cannot send),
wrk {wrk_us:.1f} µs.
The generator sends plain `http://` requests with its own lean HTTP/1.1 client
(`src/traffic/http1.rs`): each request's task writes the request as one buffer on a pooled
keep-alive TCP stream and parses the answer itself (`httparse`, Content-Length / chunked /
until-close bodies), so a request costs one task and no hand-off between tasks or threads;
reqwest remains only for `https://` targets. History: reqwest for everything reached 0.54x wrk
(20 µs of CPU per request against wrk's 9 µs; ~25% of its profile in malloc/free); hyper's
client connection API with a spawned connection task per connection reached 0.67x (two tasks
per request waking each other across threads, ~7 KB request futures copied on every spawn);
driving hyper's connection inside the request task and boxing the rarely taken paths (connect,
streams, reqwest) 0.7-0.8x on a loaded machine; the client of today, plus dropped arrivals
recorded in batches rather than one lock each, the figure above. What is left is mostly the
kernel's TCP work (~45% of the samples under `send`), which wrk pays too.
Without a connection bound (`Generator::with_max_connections`), every request in flight gets its
own connection: after a 1 s freeze at 5k req/s that is ~5,000 new connections, more than the
server's accept queue (`somaxconn` 4096 here), and SYN retries then add seconds (p99 measured
1.7 s with the first, reqwest client) — a real effect on a crowd of clients, but not the generator's measurement error, so the
coordinated-omission check bounds connections at 256 as wrk2 does.
Memory follows the connection count: each stall of the shared machine pushes the requests in
flight, and so the pooled connections (kept idle for 90 s), into the hundreds or thousands. In a
quiet moment (first client) the same 2k req/s run peaked at 11.7 MiB unbounded and 10.6 MiB with 64 connections;
the recorder itself is a few histograms per phase plus ~250 bytes per closed second.
"""
sys.path.insert(0, "bench")
from benchdoc import write_section
write_section(section)
print(section)
PY
