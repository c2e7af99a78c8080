#!/usr/bin/env bash
# Runs the seeded mutation fuzzer (bench/ImapActors.Fuzz) over the corpus seeds of ../shared/corpus (or
# $IMAPACTORS_SHARED/corpus, or --corpus DIR) for --minutes N (default 30). Each finding is saved as an .eml under
# --out DIR (default .state/fuzz) with a line in findings.tsv; the run's log is .state/fuzz/run-<seed>.log.
#
#   bash scripts/fuzz.sh [--minutes N] [--seed N] [--out DIR] [--corpus DIR]
#   bash scripts/fuzz.sh --replay .state/fuzz/*.eml      # check saved findings again (exit 1 while any still fails)
#
# The same seed and the same build give the same inputs. Exit code: 0 without findings, 1 with, 2 on bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/ImapActors.Fuzz -c Release -v quiet -nologo 1>&2
mkdir -p .state/fuzz
seed=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == "--seed" ]] && seed="${args[$((i + 1))]}"
done
if [[ " $* " != *" --replay "* && -z "$seed" ]]; then
  seed=$(( $(date +%s) % 1000000 ))
  args+=(--seed "$seed")
fi
dotnet bench/ImapActors.Fuzz/bin/Release/net10.0/ImapActors.Fuzz.dll "${args[@]}" 2>&1 | tee ".state/fuzz/run-${seed:-replay}.log"
