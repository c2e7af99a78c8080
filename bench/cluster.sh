#!/usr/bin/env bash
# Cluster benchmark: the same mailboxes ingested from an empty PostgreSQL store by one engine process (`run --once`,
# cluster off), by a one-node cluster and by a three-node cluster on this machine, alternated in one run.
#
#   bash bench/cluster.sh [--quick] [--rounds N] [--emails N] [--mailboxes M]
#
# Default: 12,000 synthetic ~5 KB messages spread over 12 mailboxes (12 users, INBOX each), 3 rounds; --quick divides
# the messages by 10. Every variant keeps the vault in the database (a cluster needs a vault every node reads) on the
# private PostgreSQL (scripts/postgres.sh) and reads the private Dovecot over TLS. A clustered run is timed from the
# start of its first process to the moment the store holds every message as a container (counted every 0.2 s), so
# joining the cluster is included, as `run --once`'s start-up is; its CPU time is the sum over its processes.
# The engine runs as deployed: the CLI published ReadyToRun.
#
# Writes under .state/bench-cluster/: one folder per run (config, logs, /usr/bin/time output), results.tsv and
# results.md. Leaves Dovecot and PostgreSQL running (bash scripts/dovecot.sh stop; bash scripts/postgres.sh stop).
# Must run as root (Dovecot's private instance and its mail user need it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$REPO/.state/bench-cluster"
QUICK=0
ROUNDS=3
EMAILS=12000
MAILBOXES=12
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --emails) EMAILS="$2"; shift ;;
        --mailboxes) MAILBOXES="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) printf 'cluster.sh: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
    shift
done
[ "$QUICK" = 1 ] && EMAILS=$((EMAILS / 10))

say() { printf '[bench-cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

if [ ! -x /usr/bin/time ]; then
    say "installing /usr/bin/time (Debian package time)"
    apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1; apt-get install -y -q time >/dev/null; }
fi

say "starting Dovecot and PostgreSQL"
bash scripts/dovecot.sh start >/dev/null
bash scripts/postgres.sh start >/dev/null
# shellcheck disable=SC1091
. "$REPO/.state/dovecot/env"
# shellcheck disable=SC1091
. "$REPO/.state/postgres/env"
MAILDIRS="$(cd "$REPO/.state/dovecot" && pwd -P)/mail"
PG_HOST="$(sed 's/.*Host=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
PG_PORT="$(sed 's/.*Port=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
PG_USER="$(sed 's/.*Username=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
export PGPASSWORD="$(sed 's/.*Password=\([^;]*\).*/\1/' <<< "$IMAPACTORS_PG")"
export PGOPTIONS='-c client_min_messages=warning'
sql() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$1" -tAqc "$2"; }

case "$(uname -m)" in aarch64|arm64) RID=linux-arm64 ;; *) RID=linux-x64 ;; esac
say "publishing the CLI ReadyToRun for $RID (a few minutes the first time)"
dotnet publish -c Release -r "$RID" --self-contained false -p:PublishReadyToRun=true -v q -nologo \
    -o "$OUT/cli" src/ImapActors.Cli >/dev/null
CLI="$OUT/cli/imapactors.dll"

export BENCH_IMAP_PASSWORD=bench-password DOTNET_CLI_TELEMETRY_OPTOUT=1
rm -rf "$OUT/runs"
mkdir -p "$OUT/data" "$OUT/runs"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"

# write_config RUNDIR DATABASE: one asset per mailbox of $OUT/bc.mailboxes, PostgreSQL database DATABASE, vault in it.
write_config() {
    local run="$1" db="$2" user folder
    {
        printf 'imapactors {\n'
        printf '  storage { provider = postgresql, connection-string = ${?BENCH_DB} }\n'
        printf '  vault { store = database }\n'
        printf '  engine.shutdown-timeout = 20s\n'
        printf '  assets {\n'
        while read -r user folder; do
            printf '    "%s" {\n' "$user"
            printf '      server = "%s", port = %s, use_ssl = true, ca_file = "%s"\n' "$IMAPACTORS_IMAP_HOST" "$IMAPACTORS_IMAP_TLS_PORT" "$IMAPACTORS_IMAP_CA"
            printf '      username = "%s", password = ${?BENCH_IMAP_PASSWORD}, folders = ["%s"]\n' "$user" "$folder"
            printf '      first_run_max_emails = 1000000, max_emails = 1000000\n'
            printf '    }\n'
        done < "$OUT/bc.mailboxes"
        printf '  }\n}\n'
    } > "$run/imapactors.conf"
}

# fresh_db NAME: an empty database on the private PostgreSQL; prints its connection string.
fresh_db() {
    sql postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
    sql postgres "CREATE DATABASE $1" >/dev/null
    printf '%s\n' "${IMAPACTORS_PG/Database=imapactors/Database=$1}"
}

count_containers() { sql "$1" "SELECT count(*) FROM containers" 2>/dev/null || echo 0; }
# From the first container's commit to the last: the ingestion alone, without start-up or cluster formation.
ingest_seconds() { sql "$1" "SELECT round(extract(epoch FROM max(created_at) - min(created_at))::numeric, 3) FROM containers"; }

# run_single ROUND: `run --once`, cluster off.
run_single() {
    local round="$1" run db count status=ok
    run="$OUT/runs/single-$round"; mkdir -p "$run"
    db="bench_single_$round"
    BENCH_DB="$(fresh_db "$db")"; export BENCH_DB
    write_config "$run" "$db"
    read -r wall cpu rss _ < <(timed "$run" dotnet "$CLI" run --once --config "$run/imapactors.conf")
    count="$(count_containers "$db")"
    [ "$count" = "$EMAILS" ] || status="MISMATCH:$count"
    printf 'single\t1\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$EMAILS" "$wall" "$cpu" "$rss" "$status" "$(ingest_seconds "$db")" >> "$RESULTS"
    say "single #$round: $count containers in ${wall}s, cpu ${cpu}s, rss ${rss} KB"
    sql postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null
}

# run_cluster NODES ROUND: NODES `run` processes clustered on loopback, timed until every message is a container.
run_cluster() {
    local nodes="$1" round="$2" run db i start end count status=ok seeds="" pids=()
    run="$OUT/runs/cluster$nodes-$round"; mkdir -p "$run"
    db="bench_cluster${nodes}_$round"
    BENCH_DB="$(fresh_db "$db")"; export BENCH_DB
    write_config "$run" "$db"
    for ((i = 1; i <= nodes; i++)); do seeds+="${seeds:+, }\"127.0.0.1:$((4152 + i))\""; done
    printf 'imapactors.cluster { enabled = true, min-members = %s, seed-nodes = [%s] }\n' "$nodes" "$seeds" >> "$run/imapactors.conf"
    start="$(date +%s.%N)"
    for ((i = 1; i <= nodes; i++)); do
        IMAPACTORS_CLUSTER_PORT=$((4152 + i)) /usr/bin/time -v -o "$run/time-$i.txt" \
            dotnet "$CLI" run --config "$run/imapactors.conf" > "$run/node-$i.log" 2>&1 &
        pids+=("$!")
    done
    local limit=$((SECONDS + 900))
    while count="$(count_containers "$db")"; [ "$count" -lt "$EMAILS" ]; do
        if [ "$SECONDS" -gt "$limit" ]; then status="TIMEOUT:$count"; break; fi
        sleep 0.2
    done
    end="$(date +%s.%N)"
    # SIGTERM to each engine (the child of its /usr/bin/time), as an orchestrator stops a node; time exits with it.
    for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" || status="EXIT:$status"; done
    count="$(count_containers "$db")"
    [ "$count" = "$EMAILS" ] || status="MISMATCH:$count"
    local wall cpu rss
    wall="$(since "$start" "$end")"
    cpu="$(cat "$run"/time-*.txt | awk '/User time/ { t += $NF } /System time/ { t += $NF } END { printf "%.2f", t }')"
    rss="$(cat "$run"/time-*.txt | awk '/Maximum resident set size/ { if ($NF > m) m = $NF } END { print m }')"
    printf 'cluster\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$nodes" "$round" "$EMAILS" "$wall" "$cpu" "$rss" "$status" "$(ingest_seconds "$db")" >> "$RESULTS"
    say "cluster of $nodes #$round: $count containers in ${wall}s, cpu ${cpu}s (all nodes), largest rss ${rss} KB"
    sql postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null
}

say "loading $EMAILS messages into $MAILBOXES mailboxes"
load_users bc "$MAILBOXES" "$(generate "5k-$EMAILS" --count "$EMAILS" --size 5000)"
for ((round = 1; round <= ROUNDS; round++)); do
    run_single "$round"
    run_cluster 1 "$round"
    run_cluster 3 "$round"
done

{
    printf '# Cluster benchmark, %s, %s messages in %s mailboxes, %s rounds (medians)\n\n' "$(date -u +%Y-%m-%d)" "$EMAILS" "$MAILBOXES" "$ROUNDS"
    printf '| variant | nodes | wall s | msg/s | vs single | first to last container s | msg/s | vs single | CPU s | largest RSS MB | runs ok |\n'
    printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
    awk -F'\t' '
        function median(list,   n, a, i, j, t) { n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        { k = $1 "\t" $2; wall[k] = wall[k] " " $5; ingest[k] = ingest[k] " " $9; cpu[k] = cpu[k] " " $6; rss[k] = rss[k] " " $7; total[k]++; if ($8 == "ok") ok[k]++; msgs = $4
          if (!(k in seen)) { order[++n] = k; seen[k] = 1 } }
        END { base = median(wall["single\t1"]); ibase = median(ingest["single\t1"])
            for (i = 1; i <= n; i++) { k = order[i]; split(k, p, "\t"); w = median(wall[k]); g = median(ingest[k])
            printf "| %s | %s | %.1f | %.0f | %.2f | %.1f | %.0f | %.2f | %.1f | %.0f | %d/%d |\n", p[1], p[2], w, msgs / w, base / w, g, msgs / g, ibase / g,
                median(cpu[k]), median(rss[k]) / 1024, ok[k], total[k] } }
    ' "$RESULTS"
    printf '\nBy round, each cluster against the single process of its round (wall time; first to last container):\n\n'
    printf '| round | 1 node vs single | 3 nodes vs single | 1 node, first to last | 3 nodes, first to last |\n'
    printf '| --- | --- | --- | --- | --- |\n'
    awk -F'\t' '
        { w[$1 "\t" $2 "\t" $3] = $5; g[$1 "\t" $2 "\t" $3] = $9; if ($3 > rounds) rounds = $3 }
        END { for (r = 1; r <= rounds; r++) { sw = w["single\t1\t" r]; sg = g["single\t1\t" r]
            printf "| %d | %.2f | %.2f | %.2f | %.2f |\n", r, sw / w["cluster\t1\t" r], sw / w["cluster\t3\t" r], sg / g["cluster\t1\t" r], sg / g["cluster\t3\t" r] } }
    ' "$RESULTS"
} > "$OUT/results.md"
cat "$OUT/results.md"
