#!/usr/bin/env bash
# A local cluster of engine nodes on loopback, over the private PostgreSQL and Dovecot (for demos and tests).
#
#   bash scripts/cluster.sh up N [--users U] [--folders F] [--emails E]   start N nodes (default 3), after seeding U users
#                                                                           (default 4) with F folders (default 2) of E
#                                                                           generated emails each (default 100)
#   bash scripts/cluster.sh status                                         each process, `imapactors cluster status`, containers by node
#   bash scripts/cluster.sh kill I                                         SIGKILL node I (the others take its mailboxes)
#   bash scripts/cluster.sh down                                           SIGTERM every node, wait for each to exit
#
# Node I listens on 127.0.0.1:(4052+I) (IMAPACTORS_CLUSTER_PORT); the first three are the seed nodes. Everything
# lives in .state/cluster: the configuration, one log per node, and the database `imapactors_cluster` of the private
# PostgreSQL, which holds the containers, the journals and the vault.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE_ROOT="${IMAPACTORS_STATE:-$REPO/.state}"
CL="$STATE_ROOT/cluster"
BASE_PORT=4052
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

imapactors() { dotnet "$CL/bin/imapactors.dll" "$@"; }

pg_env() {
    # shellcheck disable=SC1091
    source "$STATE_ROOT/postgres/env"
    # Host=...;Port=...;Username=...;Password=...;Database=imapactors -> the same server, the cluster's own database.
    CLUSTER_DB="${IMAPACTORS_PG/Database=imapactors/Database=imapactors_cluster}"
    export IMAPACTORS_CLUSTER_DB="$CLUSTER_DB"
}

field() { tr ';' '\n' <<<"$IMAPACTORS_PG" | sed -n "s/^$1=//p"; }

up() {
    local nodes="${1:-3}"; shift || true
    local users=4 folders=2 emails=100
    while [ $# -gt 0 ]; do
        case "$1" in
            --users) users="$2"; shift 2 ;;
            --folders) folders="$2"; shift 2 ;;
            --emails) emails="$2"; shift 2 ;;
            *) echo "cluster.sh: unknown option $1 (--users U, --folders F, --emails E)" >&2; exit 2 ;;
        esac
    done
    [[ "$nodes" =~ ^[1-9][0-9]*$ ]] || { echo "cluster.sh: up N needs a positive node count, not '$nodes'" >&2; exit 2; }
    if ls "$CL"/node-*.pid >/dev/null 2>&1; then
        echo "cluster.sh: a cluster is already up (bash scripts/cluster.sh down first)" >&2; exit 1
    fi

    mkdir -p "$CL"
    bash scripts/dovecot.sh start >/dev/null
    # shellcheck disable=SC1091
    source "$STATE_ROOT/dovecot/env"
    bash scripts/postgres.sh start >/dev/null
    pg_env
    PGPASSWORD="$(field Password)" psql -h "$(field Host)" -p "$(field Port)" -U "$(field Username)" -d imapactors -q \
        -c "DROP DATABASE IF EXISTS imapactors_cluster" -c "CREATE DATABASE imapactors_cluster" >/dev/null

    echo "cluster.sh: building the CLI"
    dotnet build src/ImapActors.Cli -c Release -o "$CL/bin" -nologo >"$CL/build.log" 2>&1 || { cat "$CL/build.log"; exit 1; }

    echo "cluster.sh: seeding $users users x $folders folders x $emails emails"
    rm -rf "$CL/vault" "$CL/mail"
    local password="cl-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s' "$password" > "$CL/password"
    chmod 600 "$CL/password"
    imapactors samples write "$CL/mail" --count "$emails" --seed 42 >/dev/null
    local assets="" folder_list=""
    for ((f = 0; f < folders; f++)); do
        local name; name=$([ "$f" = 0 ] && echo INBOX || echo "Reported$f")
        folder_list+="\"$name\", "
    done
    folder_list="${folder_list%, }"
    for ((u = 1; u <= users; u++)); do
        local user="cluster$u"
        bash scripts/dovecot.sh adduser "$user" "$password" >/dev/null
        for ((f = 0; f < folders; f++)); do
            local name; name=$([ "$f" = 0 ] && echo INBOX || echo "Reported$f")
            doveadm -c "$IMAPACTORS_DOVECOT_CONF" expunge -u "$user" mailbox "$name" all 2>/dev/null || true
            bash scripts/load-mailbox.sh "$user" "$name" "$CL/mail" >/dev/null
        done
        assets+="    $user { server = \"127.0.0.1\", port = $IMAPACTORS_IMAP_TLS_PORT, ca_file = \"$IMAPACTORS_IMAP_CA\", username = \"$user\", password_file = \"$CL/password\", folders = [$folder_list] }
"
    done

    local seeds=""
    for ((i = 1; i <= nodes && i <= 3; i++)); do seeds+="\"127.0.0.1:$((BASE_PORT + i))\", "; done
    cat > "$CL/imapactors.conf" <<CONF
# Written by scripts/cluster.sh: $nodes nodes on loopback over the private PostgreSQL, the vault in its database.
imapactors {
  storage { provider = postgresql, connection-string = \${?IMAPACTORS_CLUSTER_DB} }
  vault { store = database, path = "$CL/vault" }
  cluster {
    enabled = true
    seed-nodes = [${seeds%, }]
    min-members = $((nodes < 3 ? nodes : 3))
  }
  asset-defaults { first_run_max_emails = 100000, max_emails = 100 }
  assets {
$assets  }
}
CONF

    for ((i = 1; i <= nodes; i++)); do start_node "$i"; done
    echo "cluster.sh: $nodes nodes started (logs: $CL/node-I.log); bash scripts/cluster.sh status"
}

start_node() {
    local i="$1"
    IMAPACTORS_CLUSTER_PORT=$((BASE_PORT + i)) nohup dotnet "$CL/bin/imapactors.dll" run --config "$CL/imapactors.conf" \
        >"$CL/node-$i.log" 2>&1 &
    echo $! > "$CL/node-$i.pid"
}

status() {
    [ -f "$CL/imapactors.conf" ] || { echo "cluster.sh: no cluster here (bash scripts/cluster.sh up N)"; exit 3; }
    pg_env
    local pidfile
    for pidfile in "$CL"/node-*.pid; do
        [ -e "$pidfile" ] || continue
        local i pid; i="$(basename "$pidfile" .pid)"; i="${i#node-}"; pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            echo "node $i  127.0.0.1:$((BASE_PORT + i))  running (pid $pid)"
        else
            echo "node $i  127.0.0.1:$((BASE_PORT + i))  stopped"
        fi
    done
    echo
    imapactors cluster status --config "$CL/imapactors.conf" || true
    echo
    echo "containers by node:"
    imapactors containers list --config "$CL/imapactors.conf" --format json 2>/dev/null \
        | sed -n 's/.*"node":"\([^"]*\)".*/\1/p' | sort | uniq -c | sed 's/^/  /'
}

kill_node() {
    local i="${1:?cluster.sh: kill I needs a node number}"
    local pid; pid="$(cat "$CL/node-$i.pid" 2>/dev/null)" || { echo "cluster.sh: no node $i" >&2; exit 1; }
    kill -KILL "$pid" 2>/dev/null && echo "cluster.sh: node $i (pid $pid) killed" || echo "cluster.sh: node $i was not running"
}

down() {
    local pidfile rc=0
    for pidfile in "$CL"/node-*.pid; do
        [ -e "$pidfile" ] || continue
        local pid; pid="$(cat "$pidfile")"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pidfile in "$CL"/node-*.pid; do
        [ -e "$pidfile" ] || continue
        local pid; pid="$(cat "$pidfile")"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "cluster.sh: $(basename "$pidfile" .pid) (pid $pid) did not stop within 60 s; killed" >&2
            kill -KILL "$pid" 2>/dev/null || true
            rc=1
        fi
        rm -f "$pidfile"
    done
    echo "cluster.sh: down"
    return $rc
}

case "${1:-}" in
    up) shift; up "$@" ;;
    status) status ;;
    kill) kill_node "${2:-}" ;;
    down) down ;;
    *) echo "usage: bash scripts/cluster.sh up N [--users U] [--folders F] [--emails E] | status | kill I | down" >&2; exit 2 ;;
esac
