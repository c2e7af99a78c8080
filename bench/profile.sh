#!/usr/bin/env bash
# Where an engine run's CPU time goes: `imapactors run --once` under `perf record` (999 Hz, call graphs), its samples
# attributed to the library that spent them (bench/perf-attribute.py), the whole run and from its first UID FETCH on.
#
#   bash bench/profile.sh CLI_DLL CONFIG [OUT_DIR]
#
# CLI_DLL is an imapactors.dll (bench/e2e.sh publishes one to .state/bench/cli/); CONFIG an engine configuration whose
# store and vault are empty (copy one of .state/bench/runs/*-engine-*/imapactors.conf and point it at a new folder).
# The runtime writes its perf map (DOTNET_PerfMapEnabled=1) so managed frames have names. Installs perf (Debian
# package linux-perf) when it is missing. Writes perf.data, the engine's logs and attribution.txt to OUT_DIR (default
# .state/profile).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
CLI="$1" CONFIG="$2" OUT="${3:-$REPO/.state/profile}"
[ -f "$CLI" ] || { echo "profile.sh: no such file: $CLI" >&2; exit 2; }
[ -f "$CONFIG" ] || { echo "profile.sh: no such file: $CONFIG" >&2; exit 2; }
if ! command -v perf >/dev/null; then
    echo "profile.sh: installing perf (linux-perf)" >&2
    apt-get install -y -q linux-perf >/dev/null 2>&1 || { apt-get update -q >/dev/null; apt-get install -y -q linux-perf >/dev/null; }
fi
mkdir -p "$OUT"
rm -f "$OUT/perf.data"
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -k CLOCK_REALTIME -F 999 -g -o "$OUT/perf.data" -- dotnet "$CLI" run --once --config "$CONFIG" \
    > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"
# The engine's first "Poll of ... takes N emails" line comes just before its first UID FETCH.
first="$(grep -m 1 -o '"@t":"[^"]*","@mt":"Poll of {Mailbox}' "$OUT/stderr.txt" | sed 's/"@t":"\([^"]*\)".*/\1/' || true)"
perf script -i "$OUT/perf.data" -F comm,pid,tid,time,ip,sym,dso 2>/dev/null > "$OUT/samples.txt"
{
    echo "## the whole run"
    python3 "$REPO/bench/perf-attribute.py" --runtime-to-caller < "$OUT/samples.txt"
    if [ -n "$first" ]; then
        echo
        echo "## from the first UID FETCH ($first) on"
        python3 "$REPO/bench/perf-attribute.py" --runtime-to-caller --from-unix "$(date -d "$first" +%s.%N)" < "$OUT/samples.txt"
    fi
} | tee "$OUT/attribution.txt"
