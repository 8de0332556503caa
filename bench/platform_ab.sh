#!/usr/bin/env bash
# A/B of the reference platform against an earlier commit, in one run: the
# platform benchmark's load (open model, chat turns that miss the cache and
# write to PostgreSQL) sent in alternating rounds to the lab of COMMIT and to
# the lab of the working tree, both up at once, and to the simulator direct.
# For telling a regression from a noisy machine; prints, writes no docs.
#
# usage: bench/platform_ab.sh COMMIT [RATE] [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
commit=${1:?usage: bench/platform_ab.sh COMMIT [RATE] [SECONDS] [ROUNDS]}
rate=${2:-2000}
seconds=${3:-10}
rounds=${4:-4}

work=$(mktemp -d)
git worktree add --detach -q "$work/base" "$commit"
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    git worktree remove --force "$work/base" 2>/dev/null || true
    rm -rf "$work"
}
pids=()
trap cleanup EXIT
echo "building $commit and the working tree (release)" >&2
(cd "$work/base" && CARGO_TARGET_DIR="$work/target" cargo build --release --quiet --bin gameday)
cargo build --release --quiet --bin gameday --example openloop
openloop=target/release/examples/openloop

lab() { # binary, output file
    GAMEDAY_PROMETHEUS= RUST_LOG=error "$1" lab --json >"$2" 2>/dev/null &
    pids+=($!)
}
lab "$work/target/release/gameday" "$work/base.json"
lab target/release/gameday "$work/head.json"
for _ in $(seq 1 600); do [[ -s $work/base.json && -s $work/head.json ]] && break; sleep 0.2; done
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
base=$(field "$work/base.json" platform)
head=$(field "$work/head.json" platform)
primary=$(field "$work/head.json" primary)

"$openloop" platform "$base/v1/chat" "$rate" 3 >/dev/null
"$openloop" platform "$head/v1/chat" "$rate" 3 >/dev/null
"$openloop" openai "$primary/v1/chat/completions" "$rate" 3 >/dev/null
for round in $(seq 1 "$rounds"); do
    echo "round $round/$rounds" >&2
    if ((round % 2)); then order="base head direct"; else order="head base direct"; fi
    for kind in $order; do
        case $kind in
            base) url="$base/v1/chat" api=platform ;;
            head) url="$head/v1/chat" api=platform ;;
            direct) url="$primary/v1/chat/completions" api=openai ;;
        esac
        echo "$kind $("$openloop" "$api" "$url" "$rate" "$seconds")" >>"$work/rows"
    done
done
python3 - "$work/rows" "$commit" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, data = line.split(" ", 1)
    rows.setdefault(kind, []).append(json.loads(data))
names = {"base": sys.argv[2], "head": "working tree", "direct": "simulator direct"}
for kind in ("base", "head", "direct"):
    runs = rows[kind]
    p99 = ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
    print(f"{names[kind]:>16}: p50 {statistics.median(r['p50_ms'] for r in runs):.2f} ms, "
          f"p99 {statistics.median(r['p99_ms'] for r in runs):.2f} ms (medians; p99 per round {p99}), "
          f"errors {sum(r['errors'] for r in runs)}")
PY
