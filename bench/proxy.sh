#!/usr/bin/env bash
# Benchmarks of the embedded fault proxy (`gameday proxy`), measured side by
# side in one run against direct loopback and a plain tokio
# copy_bidirectional relay (bench/proxy-tools), alternating the order of the
# three targets on every round; the median of the rounds is reported.
#
#   bench/proxy.sh [ROUNDS]     # default 5; needs iperf3, wrk, curl, python3
#                               # (apt-get install -y iperf3 wrk curl)
#
# Writes the raw samples to bench/results/proxy-latest.tsv and replaces the
# "## Proxy" section of docs/benchmarks.md (other sections are kept).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
for tool in iperf3 wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y iperf3 wrk curl)" >&2; exit 2; }
done

cargo build --release --bin gameday
cargo build --release --manifest-path bench/proxy-tools/Cargo.toml --target-dir target/bench-tools
GAMEDAY=target/release/gameday
TOOLS=target/bench-tools/release/proxy-tools

# Ports: upstreams 252xx, proxy listeners 253xx, relays 254xx, API 25474.
API=25474
IPERF=25201 ECHO=25202 HTTP=25203
P_IPERF=25301 P_ECHO=25302 P_HTTP=25303 P_LATENCY=25304
R_IPERF=25401 R_ECHO=25402 R_HTTP=25403

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
start() { "$@" & PIDS+=($!); }

start iperf3 -s -p "$IPERF" >/dev/null 2>&1
start "$TOOLS" echo "127.0.0.1:$ECHO"
start "$TOOLS" http "127.0.0.1:$HTTP"
start "$TOOLS" relay "127.0.0.1:$R_IPERF" "127.0.0.1:$IPERF"
start "$TOOLS" relay "127.0.0.1:$R_ECHO" "127.0.0.1:$ECHO"
start "$TOOLS" relay "127.0.0.1:$R_HTTP" "127.0.0.1:$HTTP"
RUST_LOG=warn start "$GAMEDAY" proxy --listen "127.0.0.1:$API" --seed 1
GAMEDAY_PID=${PIDS[-1]}

for _ in $(seq 50); do curl -sf "http://127.0.0.1:$API/version" >/dev/null && break; sleep 0.2; done
curl -sf -XPOST "http://127.0.0.1:$API/populate" -d "[
  {\"name\":\"iperf\",\"listen\":\"127.0.0.1:$P_IPERF\",\"upstream\":\"127.0.0.1:$IPERF\"},
  {\"name\":\"echo\",\"listen\":\"127.0.0.1:$P_ECHO\",\"upstream\":\"127.0.0.1:$ECHO\"},
  {\"name\":\"http\",\"listen\":\"127.0.0.1:$P_HTTP\",\"upstream\":\"127.0.0.1:$HTTP\"},
  {\"name\":\"latency\",\"listen\":\"127.0.0.1:$P_LATENCY\",\"upstream\":\"127.0.0.1:$ECHO\"}]" >/dev/null
curl -sf -XPOST "http://127.0.0.1:$API/proxies/latency/toxics" \
    -d '{"type":"latency","attributes":{"latency":100}}' >/dev/null
sleep 0.5

mkdir -p bench/results
OUT=bench/results/proxy-latest.tsv
printf 'metric\ttarget\tround\tvalue\n' >"$OUT"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$OUT"; }
# The 1-minute load average, to tell a busy machine from a slow proxy.
record load_start machine 1 "$(cut -d' ' -f1 /proc/loadavg)"

port_of() { # metric target
    case "$1:$2" in
        iperf:direct) echo "$IPERF" ;; iperf:proxy) echo "$P_IPERF" ;; iperf:relay) echo "$R_IPERF" ;;
        echo:direct) echo "$ECHO" ;; echo:proxy) echo "$P_ECHO" ;; echo:relay) echo "$R_ECHO" ;;
        http:direct) echo "$HTTP" ;; http:proxy) echo "$P_HTTP" ;; http:relay) echo "$R_HTTP" ;;
    esac
}
order() { # round -> the three targets, rotated
    local targets=(direct proxy relay) i=$(( $1 % 3 ))
    echo "${targets[@]:$i} ${targets[@]:0:$i}"
}

for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    for target in $(order "$round"); do
        gbits=$(iperf3 -c 127.0.0.1 -p "$(port_of iperf "$target")" -t 3 -J |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)')
        record iperf_gbit_s "$target" "$round" "$gbits"
    done
    for target in $(order "$round"); do
        rps=$(wrk -t2 -c64 -d3s "http://127.0.0.1:$(port_of http "$target")/" | awk '/Requests\/sec/ {print $2}')
        record wrk_requests_s "$target" "$round" "$rps"
    done
    for target in $(order "$round"); do
        read -r p50 p99 _ _ < <("$TOOLS" rtt "127.0.0.1:$(port_of echo "$target")" 20000 1)
        record rtt_p50_us "$target" "$round" "$p50"
        record rtt_p99_us "$target" "$round" "$p99"
    done
done

# A 100 ms latency toxic: 300 one-byte round trips, minus the direct median.
# The baseline idles 100 ms between round trips too, so it shows how late a
# sleeping client and echo server wake up on this machine without any proxy.
read -r p50 p99 min max < <("$TOOLS" rtt "127.0.0.1:$ECHO" 300 1 100)
record idle_rtt_p50_us direct 1 "$p50"
record idle_rtt_p99_us direct 1 "$p99"
read -r p50 p99 min max < <("$TOOLS" rtt "127.0.0.1:$P_LATENCY" 300 1)
record latency100_p50_us proxy 1 "$p50"
record latency100_p99_us proxy 1 "$p99"
record latency100_min_us proxy 1 "$min"
record latency100_max_us proxy 1 "$max"

# The same while 1,000 other connections keep a chunk in the toxic at all
# times (about 10,000 releases a second): many timers must not make it late.
"$TOOLS" pingers "127.0.0.1:$P_LATENCY" 1000 40 >/tmp/proxy-bench-pingers.txt &
pingers_pid=$!
sleep 5
read -r p50 p99 min max < <("$TOOLS" rtt "127.0.0.1:$P_LATENCY" 200 1)
wait "$pingers_pid"
record loaded_latency100_p50_us proxy 1 "$p50"
record loaded_latency100_p99_us proxy 1 "$p99"
record loaded_latency100_min_us proxy 1 "$min"
record loaded_pings proxy 1 "$(cat /tmp/proxy-bench-pingers.txt)"

# 1,000 concurrent connections through the proxy, then closed: the proxy's
# open file descriptors must come back to where they were.
fds() { ls "/proc/$GAMEDAY_PID/fd" | wc -l; }
before=$(fds)
"$TOOLS" conns "127.0.0.1:$P_ECHO" 1000 1500 >/tmp/proxy-bench-conns.txt &
conns_pid=$!
peak=$before
while kill -0 "$conns_pid" 2>/dev/null; do
    now=$(fds); (( now > peak )) && peak=$now
    sleep 0.1
done
wait "$conns_pid"
sleep 1
after=$(fds)
record conns_ok proxy 1 "$(cat /tmp/proxy-bench-conns.txt)"
record fds_before proxy 1 "$before"
record fds_peak proxy 1 "$peak"
record fds_after proxy 1 "$after"

record load_end machine 1 "$(cut -d' ' -f1 /proc/loadavg)"

python3 bench/proxy_report.py "$OUT" docs/benchmarks.md
echo "wrote $OUT and the ## Proxy section of docs/benchmarks.md" >&2
