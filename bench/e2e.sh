#!/usr/bin/env bash
# End-to-end ingestion benchmark: the engine (`imapactors run --once` from an empty store) against the raw IMAP fetch
# ceiling (MailKit UID FETCH of every body over TLS, bytes counted and dropped), side by side in one run.
#
#   bash bench/e2e.sh [--quick] [--rounds N] [WORKLOAD...]
#
# WORKLOAD is any of:
#   5k       10,000 synthetic ~5 KB messages
#   pdf      2,000 synthetic messages with a 45,000-byte PDF attachment (~65 KB each)
#   corpus   the *.eml of ../shared/corpus (or $IMAPACTORS_SHARED/corpus) cycled to 5,000 (skipped when absent)
#   long     100,000 synthetic ~5 KB messages at one mailbox only (mbox on the server), to see the rates once the
#            fixed costs are spread over ten times the messages of 5k
#   memory   peak RSS: a 100,000-message mailbox against a 10,000-message one (both mbox on the server), and a
#            mailbox with one 50 MB attachment against the same mailbox without it (engine only)
# Default: 5k pdf corpus. Each throughput workload but long runs at 1 mailbox and spread over 64 mailboxes (64 users, one
# connection each), alternating ceiling and engine N times (default 2); the table gives medians.
# --quick divides the message counts by 10 for a smoke run.
# --baseline DIR also runs, in each round right after this tree's engine, the imapactors.dll published in DIR (another
# revision, to compare with side by side: git worktree add /tmp/base REV && dotnet publish -c Release -r linux-x64
# --self-contained false -p:PublishReadyToRun=true -o /tmp/base-cli /tmp/base/src/ImapActors.Cli); its rows are the
# workload's name with -baseline, against the same ceiling runs.
# The engine runs as deployed: the CLI published ReadyToRun (as docker/Dockerfile publishes it). --jit runs a plain
# Release build instead, every method compiled at run time.
#
# Starts the private Dovecot (scripts/dovecot.sh) and leaves it running; stop it with `bash scripts/dovecot.sh stop`.
# Every run writes under .state/bench/: the generated messages, one folder per run (config, SQLite file, logs,
# /usr/bin/time output; the engine runs' vaults are removed when the script ends), results.tsv (one line per run) and
# results.md (the tables).
# Must run as root (Dovecot's private instance and its mail user need it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$REPO/.state/bench"
QUICK=0
JIT=0
ROUNDS=2
BASELINE=""
WORKLOADS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --jit) JIT=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --baseline) BASELINE="$2"; shift ;;
        5k|pdf|corpus|long|memory) WORKLOADS+=("$1") ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) printf 'e2e.sh: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
    shift
done
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(5k pdf corpus)

say() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
scale() { if [ "$QUICK" = 1 ]; then echo $(( $1 / 10 )); else echo "$1"; fi; }

if [ ! -x /usr/bin/time ]; then
    say "installing /usr/bin/time (Debian package time)"
    apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1; apt-get install -y -q time >/dev/null; }
fi

say "starting Dovecot"
bash scripts/dovecot.sh start >/dev/null
# shellcheck disable=SC1091
. "$REPO/.state/dovecot/env"
MAILDIRS="$(cd "$REPO/.state/dovecot" && pwd -P)/mail"

if [ "$JIT" = 1 ]; then
    say "building the CLI (Release, JIT)"
    dotnet build -c Release -v q -nologo src/ImapActors.Cli >/dev/null
    CLI="$REPO/src/ImapActors.Cli/bin/Release/net10.0/imapactors.dll"
else
    case "$(uname -m)" in aarch64|arm64) RID=linux-arm64 ;; *) RID=linux-x64 ;; esac
    say "publishing the CLI ReadyToRun for $RID (a few minutes the first time)"
    dotnet publish -c Release -r "$RID" --self-contained false -p:PublishReadyToRun=true -v q -nologo \
        -o "$OUT/cli" src/ImapActors.Cli >/dev/null
    CLI="$OUT/cli/imapactors.dll"
fi
say "building the bench (Release)"
dotnet build -c Release -v q -nologo bench/ImapActors.Benchmarks >/dev/null
BENCH="$REPO/bench/ImapActors.Benchmarks/bin/Release/net10.0/ImapActors.Benchmarks.dll"

export BENCH_IMAP_PASSWORD=bench-password
export DOTNET_CLI_TELEMETRY_OPTOUT=1
# Earlier runs go now, in one sweep, and the vaults of this invocation's runs only when it ends: ext4 makes new files
# slowly for a while after many were deleted (it skips inodes freed in the last seconds to minutes, reading each
# candidate's inode block), so deleting one run's tens of thousands of vault files just before the next run put
# seconds of system CPU time into the engine's figures.
rm -rf "$OUT/runs"
trap 'rm -rf "$OUT"/runs/*/vault' EXIT
mkdir -p "$OUT/data" "$OUT/runs"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"

# corpus_cycled COUNT: the corpus messages repeated in order up to COUNT files (links), or nothing when absent.
corpus_cycled() {
    local count="$1" src="${IMAPACTORS_SHARED:-$REPO/../shared}/corpus" dir="$OUT/data/corpus-$1"
    [ -d "$src" ] || return 0
    if [ ! -f "$dir/.done" ]; then
        rm -rf "$dir"; mkdir -p "$dir"
        mapfile -t files < <(find "$src" -name '*.eml' -type f | LC_ALL=C sort)
        local i
        for ((i = 0; i < count; i++)); do
            ln -s "${files[i % ${#files[@]}]}" "$dir/$(printf 'c-%06d.eml' "$i")"
        done
        touch "$dir/.done"
    fi
    printf '%s\n' "$dir"
}

# write_config RUNDIR MAILBOX_FILE: an engine configuration with one asset per user, an empty store and vault.
write_config() {
    local run="$1" list="$2" user folder
    {
        printf 'imapactors {\n'
        printf '  storage { provider = sqlite, connection-string = "Data Source=%s/imapactors.db" }\n' "$run"
        printf '  vault { path = "%s/vault" }\n' "$run"
        printf '  assets {\n'
        while read -r user folder; do
            printf '    "%s" {\n' "$user"
            printf '      server = "%s", port = %s, use_ssl = true, ca_file = "%s"\n' "$IMAPACTORS_IMAP_HOST" "$IMAPACTORS_IMAP_TLS_PORT" "$IMAPACTORS_IMAP_CA"
            printf '      username = "%s", password = ${?BENCH_IMAP_PASSWORD}, folders = ["%s"]\n' "$user" "$folder"
            # One catch-up pass takes everything: the defaults (2,000 then 100 per poll) would add polls, not work.
            printf '      first_run_max_emails = 1000000, max_emails = 1000000\n'
            printf '    }\n'
        done < "$list"
        printf '  }\n}\n'
    } > "$run/imapactors.conf"
}

# ceiling WORKLOAD PREFIX ROUND
run_ceiling() {
    local wl="$1" prefix="$2" round="$3" run n line msgs bytes
    run="$OUT/runs/$prefix-ceiling-$round"; rm -rf "$run"; mkdir -p "$run"
    n="$(wc -l < "$OUT/$prefix.mailboxes")"
    read -r wall cpu rss end < <(timed "$run" dotnet "$BENCH" ceiling "$IMAPACTORS_IMAP_HOST" "$IMAPACTORS_IMAP_TLS_PORT" "$IMAPACTORS_IMAP_CA" 100 "$OUT/$prefix.mailboxes")
    line="$(grep '^ceiling ' "$run/stdout.txt")"
    msgs="$(sed 's/.*messages=\([0-9]*\).*/\1/' <<< "$line")"
    bytes="$(sed 's/.*bytes=\([0-9]*\).*/\1/' <<< "$line")"
    first="$(sed 's/.*first_fetch=\([0-9.]*\).*/\1/' <<< "$line")"
    printf '%s\t%s\tceiling\t%s\t%s\t%s\t%s\t%s\t%s\tok\t%s\n' "$wl" "$n" "$round" "$msgs" "$bytes" "$wall" "$cpu" "$rss" \
        "$(since "$first" "$end")" >> "$RESULTS"
    say "$prefix ceiling #$round: $msgs msgs in ${wall}s, cpu ${cpu}s, rss ${rss} KB"
    printf '%s %s\n' "$msgs" "$bytes" > "$OUT/$prefix.size"
}

# engine WORKLOAD PREFIX ROUND [EXPECTED] (the CLI in $CLI; $RUN_KIND names its run folders)
run_engine() {
    local wl="$1" prefix="$2" round="$3" expected="${4:-}" run n msgs bytes count status=ok
    run="$OUT/runs/$prefix-${RUN_KIND:-engine}-$round"; rm -rf "$run"; mkdir -p "$run"
    n="$(wc -l < "$OUT/$prefix.mailboxes")"
    write_config "$run" "$OUT/$prefix.mailboxes"
    read -r wall cpu rss end < <(timed "$run" dotnet "$CLI" run --once --config "$run/imapactors.conf")
    # The engine's first "Poll of ... takes N emails" line is logged just before its first UID FETCH.
    first="$(grep -m 1 -o '"@t":"[^"]*","@mt":"Poll of {Mailbox}' "$run/stderr.txt" | sed 's/"@t":"\([^"]*\)".*/\1/')"
    first="$([ -n "$first" ] && date -d "$first" +%s.%N || true)"
    count="$(dotnet "$CLI" containers list --config "$run/imapactors.conf" --format json | wc -l)"
    if [ -f "$OUT/$prefix.size" ]; then read -r msgs bytes < "$OUT/$prefix.size"; else msgs="$expected"; bytes=0; fi
    [ -n "$expected" ] && msgs="$expected"
    if [ "$count" != "$msgs" ]; then
        status="MISMATCH:$count"
        say "$prefix engine #$round: $count containers for $msgs messages"
    fi
    printf '%s\t%s\tengine\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$n" "$round" "$msgs" "$bytes" "$wall" "$cpu" "$rss" "$status" \
        "$(since "$first" "$end")" >> "$RESULTS"
    say "$prefix engine #$round: $count containers in ${wall}s, cpu ${cpu}s, rss ${rss} KB"
}

# throughput WORKLOAD DIR [MAILBOX_COUNTS]: ceiling and engine alternated, at each mailbox count (default "1 64").
throughput() {
    local wl="$1" dir="$2" counts="${3:-1 64}" mailboxes prefix round
    for mailboxes in $counts; do
        prefix="b$wl-$mailboxes"
        say "loading $wl into $mailboxes mailbox(es)"
        load_users "$prefix" "$mailboxes" "$dir"
        rm -f "$OUT/$prefix.size"
        for ((round = 1; round <= ROUNDS; round++)); do
            run_ceiling "$wl" "$prefix" "$round"
            if [ -n "$BASELINE" ]; then
                # The same ceiling run counts for the baseline's row of the table.
                tail -n 1 "$RESULTS" | sed "s/^$wl\t/$wl-baseline\t/" >> "$RESULTS"
            fi
            run_engine "$wl" "$prefix" "$round"
            if [ -n "$BASELINE" ]; then
                local cli="$CLI"
                CLI="$BASELINE/imapactors.dll" RUN_KIND=baseline run_engine "$wl-baseline" "$prefix" "$round"
                CLI="$cli"
            fi
        done
    done
}

memory() {
    local big100 small count100 count10 dir10 big
    count100="$(scale 100000)"; count10="$(scale 10000)"
    big100="$(generate "mem-$count100" --count "$count100" --size 5000)"
    dir10="$OUT/data/mem-first-$count10"
    if [ ! -f "$dir10/.done" ]; then
        rm -rf "$dir10"; mkdir -p "$dir10"
        mapfile -t files < <(find "$big100" -maxdepth 1 -name '*.eml' | LC_ALL=C sort)
        ln -s "${files[@]:0:count10}" "$dir10/"
        touch "$dir10/.done"
    fi
    small="$(generate mem-small-100 --count 100 --size 5000)"
    big="$(generate mem-50mb --count 1 --start 900000 --pdf-bytes 50000000)"
    say "loading the memory mailboxes"
    # mbox for the two sizes compared: Dovecot indexes a 100,000-message mbox in seconds, where its maildir sync of
    # 100,000 files takes minutes and runs into the engine's command timeout.
    MAIL_LOCATION="mbox:~/mail:INBOX=~/inbox.mbox"
    load_users "mem$count10" 1 "$dir10"
    load_users "mem$count100" 1 "$big100"
    MAIL_LOCATION=""
    load_users "mem-small" 1 "$small"
    load_users "mem-50mb" 1 "$small" "$(find "$big" -name '*.eml' | head -n 1)"
    for prefix in "mem$count10" "mem$count100" "mem-small" "mem-50mb"; do rm -f "$OUT/$prefix.size"; done
    run_engine "mem:$count10 small messages" "mem$count10" 1 "$count10"
    run_engine "mem:$count100 small messages" "mem$count100" 1 "$count100"
    run_engine "mem:100 small messages" mem-small 1 100
    run_engine "mem:100 small + one 50 MB attachment" mem-50mb 1 101
}

for wl in "${WORKLOADS[@]}"; do
    case "$wl" in
        5k) throughput 5k "$(generate "5k-$(scale 10000)" --count "$(scale 10000)" --size 5000)" ;;
        pdf) throughput pdf "$(generate "pdf-$(scale 2000)" --count "$(scale 2000)" --pdf-bytes 45000)" ;;
        corpus)
            dir="$(corpus_cycled "$(scale 5000)")"
            if [ -z "$dir" ]; then say "corpus: ../shared/corpus is absent, skipped"; continue; fi
            throughput corpus "$dir" ;;
        long)
            # The 100,000 messages of the memory check, at one mailbox: fixed costs spread over ten times the messages.
            # mbox on the server, as for the memory check (see there).
            MAIL_LOCATION="mbox:~/mail:INBOX=~/inbox.mbox"
            throughput long "$(generate "mem-$(scale 100000)" --count "$(scale 100000)" --size 5000)" 1
            MAIL_LOCATION="" ;;
        memory) memory ;;
    esac
done

python3 "$REPO/bench/e2e-report.py" "$RESULTS" | tee "$OUT/results.md"
say "done; Dovecot is still running (bash scripts/dovecot.sh stop)"
