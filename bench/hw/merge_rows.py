"""Merges re-measured rows into a table file (ONLY=... runs of bench/hw/*.sh).

Usage: merge_rows.py OLD NEW HEADER_LINES KIND FORMATS
Keeps OLD's lines in place, replacing the rows of FORMATS by NEW's rows of those formats
(NEW's first HEADER_LINES lines are its header); writes the result to NEW. KIND says how a
line names its format: "md" (a markdown row, format in the first cell) or "inc" (a C++
initializer line {"format", ...}).
"""
import sys

old, new, header, kind, only = sys.argv[1:]
only = only.split()


def fmt_of(line):
    if kind == "md":
        return line.split("|")[1].strip() if line.count("|") > 2 else None
    return line.split('"')[1] if line.startswith("{") else None


new_rows = open(new).read().splitlines()[int(header):]
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
