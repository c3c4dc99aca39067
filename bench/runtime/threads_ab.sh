#!/usr/bin/env bash
# A/B of two frugal binaries (say a copy of the previous build and the current one) on zoo
# models at 1 and 2 threads, fp32 batch 1, --backend cpu: the binaries alternate within each
# round (so that load from other users of a shared machine falls on both alike), and the
# table gives per (model, threads, binary) the median over rounds of bench's p50 latency,
# the spread (min..max of those p50s) and the median of bench's min latency.
# Usage: threads_ab.sh A_BINARY B_BINARY [ROUNDS] [DURATION_S] [MODEL...]
set -euo pipefail
a="$1"; b="$2"; rounds="${3:-5}"; dur="${4:-1.5}"; shift $(( $# < 4 ? $# : 4 ))
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(resnet18 mobilenet_v2)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for m in "${models[@]}"; do "$b" zoo "$m" -o "$tmp/$m.onnx" >/dev/null; done
for r in $(seq "$rounds"); do
  for m in "${models[@]}"; do
    for t in 1 2; do
      for which in A B; do
        bin="$a"; [ "$which" = B ] && bin="$b"
        "$bin" bench "$tmp/$m.onnx" --backend cpu --threads "$t" --duration "$dur" --warmup 0.3 --json \
          | python3 -c "import json,sys; l=json.load(sys.stdin)['results']['latency']; print('$m $t $which', l['p50_ms'], l['min_ms'])" \
          >>"$tmp/rows"
      done
    done
  done
done
python3 - "$tmp/rows" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    m, t, w, p50, mn = line.split()
    rows.setdefault((m, int(t), w), []).append((float(p50), float(mn)))
print("| model | threads | A p50 ms (spread) | B p50 ms (spread) | A min ms | B min ms | B/A p50 |")
print("|---|---|---|---|---|---|---|")
for (m, t) in sorted({(k[0], k[1]) for k in rows}):
    a, b = rows[(m, t, "A")], rows[(m, t, "B")]
    ap, bp = st.median(x[0] for x in a), st.median(x[0] for x in b)
    f = lambda v: f"{v:.3f}"
    print(f"| {m} | {t} | {f(ap)} ({f(min(x[0] for x in a))}..{f(max(x[0] for x in a))}) | "
          f"{f(bp)} ({f(min(x[0] for x in b))}..{f(max(x[0] for x in b))}) | "
          f"{f(st.median(x[1] for x in a))} | {f(st.median(x[1] for x in b))} | {bp/ap:.2f} |")
PY
