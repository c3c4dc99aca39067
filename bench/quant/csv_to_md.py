#!/usr/bin/env python3
"""Markdown table of ptq_table.sh's CSV: per model and spec, fp32 / fake-quant / true-int8
top-1 and the drop of each from fp32 (points).  usage: csv_to_md.py PTQ.csv"""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
print("| model | spec | fp32 | fake-quant (drop) | true int8 (drop) | weight bytes fp32 -> quantized |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for r in rows:
    fp = float(r["fp32"])
    def cell(k):
        if not r[k]:
            return "-"
        v = float(r[k])
        return f"{v:.2f} ({fp - v:+.2f})"
    print(f"| {r['model'].replace('.onnx', '')} | `{r['spec']}` | {fp:.2f} | {cell('fake_quant')} | "
          f"{cell('true_int8')} | {int(r['weight_bytes_fp32']):,} -> {int(r['weight_bytes_quant']):,} |")
