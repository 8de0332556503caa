#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 600) at low priority on its
# corpus plus seeds, and reports coverage over time (from when libFuzzer has
# loaded the corpus): at the start, at half time and at the end, and when
# the last new coverage was found. A target whose coverage grew by less than
# 1% over the second half is at a plateau. Runs resume from the corpus the
# previous ones grew, so a second run shows whether the first had plateaued.
#
# usage: fuzz/plateau.sh [SECONDS] [TARGET...]      (from the repository root)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(scenario proxy_api llm_sse llm_reply traffic_sse traffic_http1)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
echo "| target | time | execs | coverage: start → half time → end | second half | last new coverage at | crash |"
echo "|---|---|---|---|---|---|---|"
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    nice -n 19 cargo fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 2>&1 |
        python3 -c '
import re, sys, time
target, seconds = sys.argv[1], float(sys.argv[2])
start = None  # the clock starts when libFuzzer has loaded the corpus (INITED), not at the build
points, last_new, crash, execs = [], None, None, None
for line in sys.stdin:
    if start is None and "INITED" in line:
        start = time.time()
    t = time.time() - start if start is not None else 0.0
    m = re.search(r"cov: (\d+)", line)
    if m:
        points.append((t, int(m.group(1))))
    if "NEW" in line:
        last_new = t
    if "ERROR: libFuzzer" in line or "panicked" in line or "SUMMARY:" in line:
        crash = line.strip()
    m = re.search(r"stat::number_of_executed_units: (\d+)", line)
    if m:
        execs = int(m.group(1))
def cov_at(when):
    seen = [c for (t, c) in points if t <= when]
    return seen[-1] if seen else (points[0][1] if points else 0)
first = points[0][1] if points else 0
half = cov_at(seconds / 2)
end = points[-1][1] if points else 0
growth = (end - half) / half * 100 if half else 0.0
plateau = "plateau" if growth < 1.0 else "still growing"
print(f"| `{target}` | {seconds:.0f} s | {execs if execs is not None else 0:,} | {first:,} → {half:,} → {end:,} | "
      f"{growth:+.2f}% ({plateau}) | {last_new or 0:.0f} s | {crash or 0} |", flush=True)
' "$target" "$seconds"
done
