"""Merges re-measured rows into a table file (ONLY=... runs of bench/hw/*.sh).

Usage: merge_rows.py OLD NEW HEADER_LINES KIND FORMATS [OPS]
Keeps OLD's lines in place, replacing the rows of FORMATS by NEW's rows of those formats
(NEW's first HEADER_LINES lines are its header); writes the result to NEW. KIND says how a
line names its format: "md" (a markdown row, format in the first cell) or "inc" (a C++
initializer line {"format", ...}). With OPS (md only), only the rows of FORMATS whose second
cell starts with one of OPS are replaced, each by NEW's row with the same first two cells.
"""
import sys

old, new, header, kind, only = sys.argv[1:6]
only = only.split()
ops = sys.argv[6].split() if len(sys.argv) > 6 else []


def fmt_of(line):
    if kind == "md":
        return line.split("|")[1].strip() if line.count("|") > 2 else None
    return line.split('"')[1] if line.startswith("{") else None


new_rows = open(new).read().splitlines()[int(header):]
if ops:
    def key(line):
        cells = line.split("|")
        return (cells[1].strip(), cells[2].strip()) if len(cells) > 3 else None

    fresh = {key(r): r for r in new_rows}
    rows = [fresh.pop(key(line), line) for line in open(old).read().splitlines()]
    open(new, "w").write("\n".join(rows + list(fresh.values())) + "\n")
    sys.exit(0)
rows, seen = [], set()
for line in open(old).read().splitlines():
    f = fmt_of(line)
    if f not in only:
        rows.append(line)
    elif f not in seen:
        rows += [r for r in new_rows if fmt_of(r) == f]
        seen.add(f)
rows += [r for r in new_rows if fmt_of(r) not in seen]
open(new, "w").write("\n".join(rows) + "\n")
