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
#            mailbox with one 50 MB attachment against the same mailbox without it (engine only; the four runs
#            alternated N times, each round's ratios tabled)
#   idle     many mailboxes, IDLE on (engine only, `imapactors run`): 1,000 users of 20 ~5 KB messages each, and 100
#            such users for comparison; the time until all are containers, peak RSS, RSS at rest with every mailbox
#            idle, and the latency of new mail: 100 probes delivered one by one into random users' maildir INBOX, each
#            timed from its rename into new/ to its container's commit (created_at)
#   cluster  PostgreSQL: one engine process against a 1-node and a 3-node cluster on this machine, alternated
#            (bench/cluster.sh with this run's --rounds and --quick; its table is appended to results.md)
# Default: 5k pdf corpus. Each throughput workload but long runs at 1 mailbox and spread over 64 mailboxes (64 users, one
# connection each), alternating ceiling and engine N times (default 2); the table gives medians.
# --quick divides the message counts by 10 for a smoke run.
# --baseline DIR also runs, in each round right after this tree's engine, the imapactors.dll published in DIR (another
# revision, to compare with side by side: git worktree add /tmp/base REV && dotnet publish -c Release -r linux-x64
# --self-contained false -p:PublishReadyToRun=true -o /tmp/base-cli /tmp/base/src/ImapActors.Cli); its rows are the
# workload's name with -baseline, against the same ceiling runs.
# --postgres also runs, in each round right after the SQLite run, the same engine on the private PostgreSQL
# (scripts/postgres.sh; a fresh database per run, the same file vault); its rows are the workload's name with
# -postgresql, against the same ceiling runs.
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
POSTGRES=0
WORKLOADS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --jit) JIT=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --baseline) BASELINE="$2"; shift ;;
        --postgres) POSTGRES=1 ;;
        5k|pdf|corpus|long|memory|idle|cluster) WORKLOADS+=("$1") ;;
        -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
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
if [ "$POSTGRES" = 1 ]; then
    say "starting PostgreSQL"
    bash scripts/postgres.sh start >/dev/null
    # shellcheck disable=SC1091
    . "$REPO/.state/postgres/env"
    PG_HOST="$(sed 's/.*Host=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
    PG_PORT="$(sed 's/.*Port=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
    PG_USER="$(sed 's/.*Username=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
    PGPASSWORD="$(sed 's/.*Password=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
    export PGPASSWORD PGOPTIONS='-c client_min_messages=warning'
fi
pg_sql() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAqc "$1"; }

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
rm -f "$OUT/idle.tsv"

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

# write_config RUNDIR MAILBOX_FILE: an engine configuration with one asset per user, an empty store and vault; the
# store is SQLite in RUNDIR, or with STORE=postgresql the database of $BENCH_DB.
write_config() {
    local run="$1" list="$2" user folder
    {
        printf 'imapactors {\n'
        if [ "${STORE:-sqlite}" = postgresql ]; then
            printf '  storage { provider = postgresql, connection-string = ${?BENCH_DB} }\n'
        else
            printf '  storage { provider = sqlite, connection-string = "Data Source=%s/imapactors.db" }\n' "$run"
        fi
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
            # The same ceiling run counts for the baseline's and PostgreSQL's rows of the table.
            local ceiling_line
            ceiling_line="$(tail -n 1 "$RESULTS")"
            [ -n "$BASELINE" ] && sed "s/^$wl\t/$wl-baseline\t/" <<< "$ceiling_line" >> "$RESULTS"
            [ "$POSTGRES" = 1 ] && sed "s/^$wl\t/$wl-postgresql\t/" <<< "$ceiling_line" >> "$RESULTS"
            run_engine "$wl" "$prefix" "$round"
            if [ -n "$BASELINE" ]; then
                local cli="$CLI"
                CLI="$BASELINE/imapactors.dll" RUN_KIND=baseline run_engine "$wl-baseline" "$prefix" "$round"
                CLI="$cli"
            fi
            if [ "$POSTGRES" = 1 ]; then
                pg_sql "DROP DATABASE IF EXISTS bench_e2e WITH (FORCE)" >/dev/null
                pg_sql "CREATE DATABASE bench_e2e" >/dev/null
                BENCH_DB="${IMAPACTORS_PG/Database=imapactors/Database=bench_e2e}" STORE=postgresql RUN_KIND=postgresql \
                    run_engine "$wl-postgresql" "$prefix" "$round"
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
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        run_engine "mem:$count10 small messages" "mem$count10" "$round" "$count10"
        run_engine "mem:$count100 small messages" "mem$count100" "$round" "$count100"
        run_engine "mem:100 small messages" mem-small "$round" 100
        run_engine "mem:100 small + one 50 MB attachment" mem-50mb "$round" 101
    done
}

# idle_run USERS ROUND: USERS mailboxes of 20 messages, `imapactors run` until all are containers and every mailbox has
# had time to enter IDLE, then the probes; the engine is stopped with SIGTERM as an orchestrator stops it.
idle_run() {
    local users="$1" round="$2" per=20 prefix run dir pid start caught rest probes=100 i k user status=ok
    prefix="idle$users"
    run="$OUT/runs/$prefix-engine-$round"; rm -rf "$run"; mkdir -p "$run"
    dir="$(generate "5k-$((users * per))" --count "$((users * per))" --size 5000)"
    say "loading $users mailboxes of $per messages"
    load_users "$prefix" "$users" "$dir"
    write_config "$run" "$OUT/$prefix.mailboxes"
    start="$(date +%s.%N)"
    /usr/bin/time -v -o "$run/time.txt" dotnet "$CLI" run --config "$run/imapactors.conf" > "$run/stdout.txt" 2> "$run/stderr.txt" &
    pid="$!"
    local expected=$((users * per)) limit=$((SECONDS + 900)) count=0
    while count="$(idle_count "$run")"; [ "$count" -lt "$expected" ]; do
        if [ "$SECONDS" -gt "$limit" ] || ! kill -0 "$pid" 2>/dev/null; then status="TIMEOUT:$count"; break; fi
        sleep 0.5
    done
    caught="$(since "$start" "$(date +%s.%N)")"
    say "$prefix #$round: $count of $expected containers after ${caught}s"
    # Every mailbox idles after its catch-up poll; a few seconds for the last ones, then the RSS at rest.
    sleep 10
    local engine_pid
    engine_pid="$(pgrep -P "$pid" | head -n 1)"
    rest="$(awk '/^VmRSS/ { print $2 }' "/proc/$engine_pid/status")"
    local sessions
    sessions="$(doveadm -c "$REPO/.state/dovecot/dovecot.conf" who -1 2>/dev/null | grep -c "^$prefix-" || true)"
    say "$prefix #$round: RSS at rest ${rest} KB, $sessions IMAP sessions on the server"
    # Each probe is delivered as an MTA delivers to maildir: written into tmp/, then renamed into new/ (where the
    # server's IDLE learns of it through inotify); the time is taken just before the rename.
    : > "$run/probes.tsv"
    for ((k = 1; k <= probes; k++)); do
        user="$prefix-$((RANDOM % users))"
        python3 - "$MAILDIRS/$user/Maildir" "$user" "$k" "$round" >> "$run/probes.tsv" <<'PY'
import os, sys, time
from email.utils import formatdate
maildir, user, k, rnd = sys.argv[1:]
name = f"{time.time():.6f}.idle-probe-{k}-{rnd}.bench"
body = (f"From: probe@bench.invalid\r\nTo: {user}@bench.invalid\r\nSubject: idle-probe-{k}\r\n"
        f"Message-ID: <idle-probe-{k}-{rnd}@bench.invalid>\r\nDate: {formatdate()}\r\n\r\n"
        "A new message for the IDLE latency probe.\r\n").encode()
st = os.stat(maildir)
with open(f"{maildir}/tmp/{name}", "wb") as f:
    f.write(body)
os.chown(f"{maildir}/tmp/{name}", st.st_uid, st.st_gid)
t = time.time()
os.rename(f"{maildir}/tmp/{name}", f"{maildir}/new/{name}")
print(f"{k}\t{user}\t{t:.6f}")
PY
        sleep 0.2
    done
    limit=$((SECONDS + 120))
    while count="$(idle_count "$run")"; [ "$count" -lt $((expected + probes)) ]; do
        if [ "$SECONDS" -gt "$limit" ]; then status="PROBES:$((count - expected))"; break; fi
        sleep 0.5
    done
    pkill -TERM -P "$pid" 2>/dev/null || true
    wait "$pid" || status="EXIT:$status"
    local rss cpu
    rss="$(awk '/Maximum resident set size/ { print $NF }' "$run/time.txt")"
    cpu="$(awk '/User time/ { u = $NF } /System time/ { y = $NF } END { printf "%.2f", u + y }' "$run/time.txt")"
    python3 - "$run" "$users" "$round" "$expected" "$caught" "$rest" "$rss" "$cpu" "$sessions" "$status" >> "$OUT/idle.tsv" <<'PY'
import json, sqlite3, sys
from datetime import datetime
run, users, rnd, expected, caught, rest, rss, cpu, sessions, status = sys.argv[1:]
sent = {}
for line in open(f"{run}/probes.tsv"):
    k, user, t = line.split("\t")
    sent[f"idle-probe-{k}"] = float(t)
db = sqlite3.connect(f"{run}/imapactors.db")
lat = []
for name, created in db.execute("SELECT name, created_at FROM containers WHERE name LIKE 'idle-probe-%'"):
    lat.append(datetime.fromisoformat(created).timestamp() - sent[name])
# The engine logs "Poll of USER/INBOX ... takes N emails" just before it fetches: the probe's first such line after its
# delivery splits the latency into the server's notice (IDLE's EXISTS, then DONE) and the engine's fetch to commit.
polls = {}
for line in open(f"{run}/stderr.txt", encoding="utf-8", errors="replace"):
    if '"@mt":"Poll of' in line:
        e = json.loads(line)
        polls.setdefault(e["Mailbox"], []).append(datetime.fromisoformat(e["@t"].replace("Z", "+00:00")).timestamp())
users_of = {}
for line in open(f"{run}/probes.tsv"):
    k, user, t = line.rstrip("\n").split("\t")
    users_of[f"idle-probe-{k}"] = user
to_poll = []
for name, user in users_of.items():
    after = [t for t in polls.get(f"{user}/INBOX", []) if t >= sent[name]]
    if after:
        to_poll.append(min(after) - sent[name])
def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))] if values else float("nan")
print("\t".join([users, rnd, expected, caught, rest, rss, cpu, sessions, str(len(lat)), f"{q(lat, 0.5):.3f}",
                 f"{q(lat, 0.95):.3f}", f"{q(lat, 1):.3f}", f"{q(to_poll, 0.5):.3f}", f"{q(to_poll, 0.95):.3f}", status]))
PY
    say "$prefix #$round: $(tail -n 1 "$OUT/idle.tsv")"
}

idle_count() {
    python3 -c 'import sqlite3, sys
try:
    print(sqlite3.connect(f"file:{sys.argv[1]}/imapactors.db?mode=ro", uri=True).execute("SELECT count(*) FROM containers").fetchone()[0])
except sqlite3.Error:
    print(0)' "$1"
}

idle() {
    local round users
    : > "$OUT/idle.tsv"
    # The server must allow a thousand sessions at once (scripts/dovecot.sh's process limits): a server started
    # before that limit existed is restarted.
    grep -q 'default_process_limit = 1200' "$REPO/.state/dovecot/dovecot.conf" || {
        bash scripts/dovecot.sh stop >/dev/null; bash scripts/dovecot.sh start >/dev/null; }
    # Each idle session of the server's mail user holds an inotify instance; past the kernel's limit (128 by default)
    # Dovecot disables it for the session ("Inotify instance limit ... exceeded") and checks the mailbox only every
    # 30 s, which is the server's latency, not the engine's. A server for a thousand users raises it.
    local instances
    instances="$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)"
    if [ "$instances" -lt 2048 ]; then
        if sysctl -q -w fs.inotify.max_user_instances=2048 2>/dev/null; then
            say "raised fs.inotify.max_user_instances from $instances to 2048 for the server's idle sessions"
        else
            say "fs.inotify.max_user_instances is $instances and cannot be raised here: past that many sessions, new mail waits for Dovecot's 30 s check"
        fi
    fi
    for ((round = 1; round <= ROUNDS; round++)); do
        for users in "$(scale 100)" "$(scale 1000)"; do idle_run "$users" "$round"; done
    done
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
        idle) idle ;;
        cluster)
            cluster_args=(--rounds "$ROUNDS")
            [ "$QUICK" = 1 ] && cluster_args+=(--quick)
            bash "$REPO/bench/cluster.sh" "${cluster_args[@]}" >/dev/null
            CLUSTER_RESULTS="$REPO/.state/bench-cluster/results.md" ;;
    esac
done

idle_results=()
[ -s "$OUT/idle.tsv" ] && idle_results=("$OUT/idle.tsv")
python3 "$REPO/bench/e2e-report.py" "$RESULTS" "${idle_results[@]}" > "$OUT/results.md"
if [ -n "${CLUSTER_RESULTS:-}" ]; then
    printf '\n' >> "$OUT/results.md"
    cat "$CLUSTER_RESULTS" >> "$OUT/results.md"
fi
cat "$OUT/results.md"
say "done; Dovecot is still running (bash scripts/dovecot.sh stop)"
