#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and local cluster-mode runs.
#
#   scripts/postgres.sh install   install the PostgreSQL server package when initdb is missing
#   scripts/postgres.sh start     initialise (once) and start; writes and prints $STATE/postgres/env
#   scripts/postgres.sh stop      stop the cluster started here (by its recorded PID)
#   scripts/postgres.sh status    "running port=N pid=P" (exit 0) or "stopped" (exit 3)
#   scripts/postgres.sh env       print the export line of a running cluster
#
# The cluster lives in ${IMAPACTORS_STATE:-<repo>/.state}/postgres (a link to /var/tmp/imapactors-postgres-* when a
# parent folder such as /root is not world-executable), runs as the `postgres` system user when started by
# root, listens on 127.0.0.1 only (a free port chosen once and kept) and on a unix socket inside the state folder. It
# never touches the distribution's own cluster. The env file holds one line:
#   export IMAPACTORS_PG='Host=127.0.0.1;Port=N;Username=imapactors;Password=...;Database=imapactors'
# IMAPACTORS_PG_UNSAFE_FAST=1 at first start turns fsync and full-page writes off (throw-away test data only).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${IMAPACTORS_STATE:-$repo/.state}"
base="$state/postgres"

# True when every folder from $1 up to / is world-executable (the postgres user must reach the data folder).
world_traversable() {
    local p="$1" mode
    while :; do
        mode="$(stat -L -c %A "$p" 2>/dev/null)" || return 1
        case "${mode:9:1}" in x|t) ;; *) return 1 ;; esac
        [[ "$p" == / ]] && return 0
        p="$(dirname "$p")"
    done
}

# A repository under a private folder (e.g. /root, mode 0700) keeps the cluster in /var/tmp and links it from the
# usual place, because the postgres user could not reach it there.
if [[ -L "$base" ]]; then
    base="$(readlink -f "$base")"
elif [[ ! -e "$base" && $EUID -eq 0 ]]; then
    parent="$state"
    while [[ ! -d "$parent" ]]; do parent="$(dirname "$parent")"; done
    if ! world_traversable "$parent"; then
        real="/var/tmp/imapactors-postgres-$(printf '%s' "$base" | cksum | cut -d' ' -f1)"
        mkdir -p "$real" "$state"
        chmod 755 "$real"
        ln -sfn "$real" "$base"
        base="$real"
    fi
fi

data="$base/data"
sock="$base/run"
log="$base/postgres.log"
port_file="$base/port"
pid_file="$base/pid"
password_file="$base/password"
env_file="$base/env"
lock_file="$state/postgres.lock"
db_name=imapactors
db_user=imapactors

die() { echo "postgres.sh: $*" >&2; exit 1; }

bin_dir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

# Runs a command as the cluster's owner: `postgres` when we are root (PostgreSQL refuses to run as root), else ourselves.
as_owner() {
    if [[ $EUID -eq 0 ]]; then
        # From /, since the postgres user may not be allowed into the caller's folder.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

do_install() {
    if [[ -n "$(bin_dir)" ]]; then
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root"
    echo "postgres.sh: installing postgresql" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    [[ -n "$(bin_dir)" ]] || die "initdb still missing after installing postgresql"
}

# The PID of the running postmaster of this cluster, or nothing (a stale PID file is ignored).
running_pid() {
    local pid=""
    if [[ -f "$data/postmaster.pid" ]]; then
        pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
    elif [[ -f "$pid_file" ]]; then
        pid="$(cat "$pid_file" 2>/dev/null || true)"
    fi
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    # The PID must still be a postgres process serving this data folder; after a reboot it may belong to anything.
    if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$data"; then
        echo "$pid"
    fi
}

free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

connection_string() {
    echo "Host=127.0.0.1;Port=$(cat "$port_file");Username=$db_user;Password=$(cat "$password_file");Database=$db_name"
}

write_env() {
    local tmp="$env_file.tmp"
    (umask 077; echo "export IMAPACTORS_PG='$(connection_string)'" >"$tmp")
    mv -f "$tmp" "$env_file"
}

psql_owner() {
    as_owner "$(bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$(cat "$port_file")" -U postgres -d postgres "$@"
}

init_cluster() {
    local bin
    bin="$(bin_dir)"
    mkdir -p "$base" "$sock"
    if [[ $EUID -eq 0 ]]; then
        chown postgres:postgres "$base" "$sock"
    fi
    chmod 700 "$base"
    [[ -f "$password_file" ]] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$password_file")
    [[ -f "$port_file" ]] || free_port >"$port_file"
    if [[ ! -f "$data/PG_VERSION" ]]; then
        as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
            || { cat "$base/initdb.log" >&2; die "initdb failed"; }
        local fast="off"
        [[ "${IMAPACTORS_PG_UNSAFE_FAST:-0}" == "1" ]] && fast="on"
        {
            echo "# Settings of the ImapActors private cluster (scripts/postgres.sh)."
            echo "listen_addresses = '127.0.0.1'"
            echo "unix_socket_directories = '$sock'"
            echo "max_connections = 200"
            echo "shared_buffers = 64MB"
            if [[ "$fast" == "on" ]]; then
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
            fi
        } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi
}

do_start() {
    do_install
    mkdir -p "$state"
    exec 9>"$lock_file"
    flock 9
    init_cluster
    local pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$data/postmaster.pid" "$pid_file"
        if port_in_use "$(cat "$port_file")"; then
            free_port >"$port_file"
        fi
        # fd 9 (the lock) must not leak into the server, or it would hold the lock for its whole life.
        as_owner "$(bin_dir)/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "-p $(cat "$port_file")" start >/dev/null 9>&- \
            || { tail -n 20 "$log" >&2; die "pg_ctl start failed"; }
        pid="$(running_pid)"
        [[ -n "$pid" ]] || die "postgres started but its PID file is missing"
        echo "$pid" >"$pid_file"
        psql_owner <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$db_user', '$(cat "$password_file")')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$db_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$db_name', '$db_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db_name') \gexec
SQL
    fi
    write_env
    cat "$env_file"
}

do_stop() {
    mkdir -p "$state"
    exec 9>"$lock_file"
    flock 9
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        as_owner "$(bin_dir)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
        echo "postgres.sh: stopped (pid $pid)"
    else
        if [[ -f "$data/postmaster.pid" || -f "$pid_file" ]]; then
            echo "postgres.sh: removing a stale PID file" >&2
            rm -f "$data/postmaster.pid"
        fi
        echo "postgres.sh: not running"
    fi
    rm -f "$pid_file"
}

do_status() {
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        echo "running port=$(cat "$port_file") pid=$pid data=$data"
    else
        echo "stopped"
        exit 3
    fi
}

do_env() {
    [[ -n "$(running_pid)" && -f "$env_file" ]] || die "not running; use: scripts/postgres.sh start"
    cat "$env_file"
}

case "${1:-}" in
    install) do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    env) do_env ;;
    *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
