#!/usr/bin/env bash
# Benchmarks of the embedded fault proxy (`gameday proxy`), measured side by
# side in one run against direct loopback and a plain tokio
# copy_bidirectional relay (bench/proxy-tools), alternating the order of the
# three targets on every round; the median of the rounds is reported.
#
# Each round also measures a 100 ms latency toxic's accuracy with 0, 100,
# 1,000 and 5,000 other connections ping-ponging through the same toxic (in
# ascending order on odd rounds, descending on even ones), each time beside
# a baseline client that pings the echo server directly and sleeps 100 ms
# between round trips: the machine's own wake-up delay at that moment. And
# a 100 KB/s bandwidth toxic's rate on 1 and on each of 100 connections.
#
#   bench/proxy.sh [ROUNDS]     # default 5; needs iperf3, wrk, curl, python3
#                               # (apt-get install -y iperf3 wrk curl)
#   LAT_COUNT=150 LOADS="0 100 1000 5000" bench/proxy.sh   # the defaults
#
# Writes the raw samples to bench/results/proxy-latest.tsv and replaces the
# "## Proxy" section of docs/benchmarks.md (other sections are kept).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
LAT_COUNT=${LAT_COUNT:-150}
read -r -a LOADS <<<"${LOADS:-0 100 1000 5000}"
BW_BYTES=400000
for tool in iperf3 wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y iperf3 wrk curl)" >&2; exit 2; }
done

cargo build --release --bin gameday
cargo build --release --manifest-path bench/proxy-tools/Cargo.toml --target-dir target/bench-tools
GAMEDAY=target/release/gameday
TOOLS=target/bench-tools/release/proxy-tools

# Ports: upstreams 252xx, proxy listeners 253xx, relays 254xx, API 25474.
API=25474
IPERF=25201 ECHO=25202 HTTP=25203 SOURCE=25204
P_IPERF=25301 P_ECHO=25302 P_HTTP=25303 P_LATENCY=25304 P_BANDWIDTH=25305
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
start "$TOOLS" source "127.0.0.1:$SOURCE" "$BW_BYTES"
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
  {\"name\":\"latency\",\"listen\":\"127.0.0.1:$P_LATENCY\",\"upstream\":\"127.0.0.1:$ECHO\"},
  {\"name\":\"bandwidth\",\"listen\":\"127.0.0.1:$P_BANDWIDTH\",\"upstream\":\"127.0.0.1:$SOURCE\"}]" >/dev/null
curl -sf -XPOST "http://127.0.0.1:$API/proxies/latency/toxics" \
    -d '{"type":"latency","attributes":{"latency":100}}' >/dev/null
curl -sf -XPOST "http://127.0.0.1:$API/proxies/bandwidth/toxics" \
    -d '{"type":"bandwidth","attributes":{"rate":100}}' >/dev/null
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

    # The latency toxic, with LOADS other connections through it.
    loads=("${LOADS[@]}")
    if (( round % 2 == 0 )); then
        mapfile -t loads < <(printf '%s\n' "${LOADS[@]}" | sort -rn)
    fi
    for load in "${loads[@]}"; do
        pingers_pid=
        if (( load > 0 )); then
            rm -f /tmp/proxy-bench-ready
            # Long enough to outlast the measurement (LAT_COUNT x ~0.1 s).
            "$TOOLS" pingers "127.0.0.1:$P_LATENCY" "$load" $(( LAT_COUNT / 10 + 5 )) \
                /tmp/proxy-bench-ready >/tmp/proxy-bench-pingers.txt &
            pingers_pid=$!
            while [[ ! -e /tmp/proxy-bench-ready ]]; do sleep 0.1; done
            sleep 1 # the toxic fills up
        fi
        record "lat_load" "others$load" "$round" "$(cut -d' ' -f1 /proc/loadavg)"
        read -r b50 b99 bmin p50 p99 pmin pmax < <("$TOOLS" latency \
            "127.0.0.1:$ECHO" "127.0.0.1:$P_LATENCY" "$LAT_COUNT")
        record lat_base_p50_us "others$load" "$round" "$b50"
        record lat_base_p99_us "others$load" "$round" "$b99"
        record lat_base_min_us "others$load" "$round" "$bmin"
        record lat_p50_us "others$load" "$round" "$p50"
        record lat_p99_us "others$load" "$round" "$p99"
        record lat_min_us "others$load" "$round" "$pmin"
        record lat_max_us "others$load" "$round" "$pmax"
        if [[ -n $pingers_pid ]]; then
            wait "$pingers_pid"
            read -r pings seconds </tmp/proxy-bench-pingers.txt
            record lat_releases_s "others$load" "$round" "$(python3 -c "print($pings / $seconds)")"
        fi
    done

    # A 100 KB/s bandwidth toxic on one connection and on each of 100.
    for conns in 1 100; do
        read -r low mid high < <("$TOOLS" bandwidth "127.0.0.1:$P_BANDWIDTH" "$conns")
        record bw_min_kb_s "conns$conns" "$round" "$low"
        record bw_median_kb_s "conns$conns" "$round" "$mid"
        record bw_max_kb_s "conns$conns" "$round" "$high"
    done
done

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
