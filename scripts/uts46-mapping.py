#!/usr/bin/env python3
# Writes src/ImapActors.Extraction/Internal/Uts46Mapping.txt, the mapping step of UTS #46 (IDNA compatibility
# processing), from the table of the Python `idna` package (pip install idna; its uts46data is generated from
# Unicode's IdnaMappingTable.txt). One line per code point that UTS #46 maps or ignores:
#
#   <code point, hex> <mapped code points, hex, blank-separated; nothing when the code point is ignored>
#
# Valid, deviation (kept: non-transitional processing) and disallowed code points are not listed.
#
#   python3 scripts/uts46-mapping.py
import os
import idna.uts46data as u

table = u.uts46data
out = os.path.join(os.path.dirname(__file__), "..", "src", "ImapActors.Extraction", "Internal", "Uts46Mapping.txt")
lines = [f"# UTS #46 mapping, Unicode {u.__version__}, written by scripts/uts46-mapping.py; do not edit."]
for i, entry in enumerate(table):
    end = table[i + 1][0] if i + 1 < len(table) else 0x110000
    status = entry[1]
    if status not in ("M", "I"):
        continue
    target = entry[2] if status == "M" else ""
    for cp in range(entry[0], end):
        lines.append(" ".join([f"{cp:X}"] + [f"{ord(c):X}" for c in target]))
with open(out, "w", encoding="ascii", newline="\n") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines) - 1} code points written to {os.path.normpath(out)}")
