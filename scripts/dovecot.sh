#!/usr/bin/env bash
# A private Dovecot IMAP server for tests and local runs, listening on loopback only.
#
#   scripts/dovecot.sh install            install dovecot-core and dovecot-imapd when missing
#   scripts/dovecot.sh start [--foreground]
#                                          generate the config, certificate and users, start (no-op when running)
#   scripts/dovecot.sh stop               stop the master and every process it started
#   scripts/dovecot.sh restart-hard       kill -9 the master and all its processes, start again on the same ports
#   scripts/dovecot.sh status             print whether it runs; exit 0 when it does, 3 when it does not
#   scripts/dovecot.sh env                print the export lines of the env contract
#   scripts/dovecot.sh adduser NAME PASS [MAIL]
#                                          add or replace a user (the running server sees it at its next login);
#                                          MAIL gives the user its own mail location instead of the server's
#                                          maildir:~/Maildir, e.g. mbox:~/mail:INBOX=~/inbox.mbox
#
# Everything lives in ${IMAPACTORS_STATE:-<repo>/.state}/dovecot (a link to /var/tmp/imapactors-dovecot-*
# when a parent folder such as /root is not world-executable): dovecot.conf, tls/ (self-signed
# certificate for localhost and 127.0.0.1, also the CA file for clients), users/ (one passwd-file per
# user), mail/ (one maildir
# per user, Maildir++ layout, folder separator "/"), dovecot.log, run/ (base_dir with master.pid),
# ports, env.
#
# Ports: IMAPACTORS_IMAP_TLS_PORT (implicit TLS) and IMAPACTORS_IMAP_PLAIN_PORT (STARTTLS) when set,
# otherwise the ones remembered in the state dir, otherwise free ones picked once.
#
# Default users: soc / soc-password and user1..user8 / pass-1..pass-8.
#
# For containers (docker/dovecot): IMAPACTORS_IMAP_LISTEN replaces the listen addresses (e.g. "*"),
# IMAPACTORS_IMAP_CERT_NAMES adds DNS names to a newly made certificate (e.g. "dovecot"), and
# IMAPACTORS_DOVECOT_LOG replaces the log file (e.g. /dev/stderr).
#
# OAuth (opt-in per instance): IMAPACTORS_OAUTH2_INTROSPECTION_URL at `start` (e.g. http://127.0.0.1:PORT/introspect)
# adds XOAUTH2 and OAUTHBEARER, checked by Dovecot's oauth2 passdb against that RFC 7662 introspection endpoint
# (POST token=...; the reply must say "active": true and "username": the login name). The URL is remembered in the
# state dir for later starts; set it empty to turn OAuth off again. A running server keeps its configuration: stop
# it first. Passwords keep working as before.
#
# Production-like settings (opt-in per instance): IMAPACTORS_DOVECOT_PROFILE=production at `start` makes the server
# behave as real ones do: a refused login is answered after 2 s (auth_failure_delay), and a user may hold only 10
# connections from one IP (mail_max_userip_connections; IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS=N sets another
# number), and every password checked is logged (auth_verbose). The default profile, test, answers at once and
# allows 200. Both are remembered in the state dir for later starts (IMAPACTORS_DOVECOT_PROFILE=test, or the limit
# set empty, goes back); a running server keeps its configuration: stop it first. The per-IP auth penalty stays off in both: every test logs in from 127.0.0.1.
#
# A server without IDLE (opt-in per instance): IMAPACTORS_DOVECOT_NO_IDLE=1 at `start` leaves IDLE out of the
# capabilities announced after login; remembered like the others (0 or empty turns it back on).
#
# Raw IMAP protocol log (opt-in per instance): IMAPACTORS_DOVECOT_RAWLOG=1 at `start` makes every IMAP session after
# login write what the client sent (YYYYMMDD-HHMMSS.PID.N.in, one timestamped line per command) and what the server
# answered (.out) into the user's home, mail/NAME/ (created with the user's first mail). Remembered in the state dir
# for later starts; set it to 0 or empty to turn it off again. A running server keeps its configuration: stop it first.
#
# Plaintext authentication: disable_plaintext_auth = yes, but Dovecot counts a connection whose
# remote address equals its local address (127.0.0.1 -> 127.0.0.1) as secure, so LOGIN without
# STARTTLS succeeds on 127.0.0.1. The server therefore also listens on 127.0.0.2: a client connecting
# there comes from 127.0.0.1, is not "secure", and LOGIN before STARTTLS is refused. 127.0.0.2 is
# also not in the certificate, which gives a host-name mismatch to test against.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_ROOT="${IMAPACTORS_STATE:-$REPO/.state}"
DIR="$STATE_ROOT/dovecot"
HOST=127.0.0.1
ALT_HOST=127.0.0.2
MAIL_USER=vmail

log() { printf 'dovecot.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# True when every folder from $1 up to / is world-executable (Dovecot's vmail, dovecot and dovenull users
# must traverse to the state dir).
world_traversable() {
    local p="$1" mode
    while :; do
        mode="$(stat -L -c %A "$p" 2>/dev/null)" || return 1
        case "${mode:9:1}" in x|t) ;; *) return 1 ;; esac
        [ "$p" = / ] && return 0
        p="$(dirname "$p")"
    done
}

# A repository under a private folder (e.g. /root, mode 0700) keeps the Dovecot state in /var/tmp and
# links it from the usual place, so paths in dovecot.conf are ones the unprivileged processes can reach.
resolve_dir() {
    if [ -L "$DIR" ]; then
        DIR="$(readlink -f "$DIR")"
        return 0
    fi
    [ -e "$DIR" ] && return 0
    local parent="$STATE_ROOT"
    while [ ! -d "$parent" ]; do parent="$(dirname "$parent")"; done
    if ! world_traversable "$parent"; then
        local real
        real="/var/tmp/imapactors-dovecot-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
        mkdir -p "$real" "$STATE_ROOT"
        chmod 755 "$real"
        ln -sfn "$real" "$DIR"
        DIR="$real"
    fi
}
resolve_dir

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (Dovecot's master binds ports and switches to the $MAIL_USER user)"; }

# Unix socket paths are limited to 108 bytes; a deep state dir gets its base_dir under /run or /tmp.
run_dir() {
    local candidate="$DIR/run"
    if [ "${#candidate}" -le 60 ]; then
        printf '%s\n' "$candidate"
    else
        local sum
        sum="$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
        printf '%s\n' "/tmp/imapactors-dovecot-$sum"
    fi
}

RUN="$(run_dir)"
CONF="$DIR/dovecot.conf"
PIDFILE="$RUN/master.pid"

cmd_install() {
    if command -v dovecot >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1 \
        && [ -e /usr/lib/dovecot/imap ]; then
        return 0
    fi
    need_root
    log "installing dovecot-core and dovecot-imapd"
    # The package would start the distribution's own instance (ports 143/993); policy-rc.d forbids it.
    local created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    if ! apt-get install -y -q --no-install-recommends dovecot-core dovecot-imapd >/tmp/imapactors-dovecot-apt.log 2>&1; then
        apt-get update -q >/tmp/imapactors-dovecot-apt.log 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-core dovecot-imapd \
            >>/tmp/imapactors-dovecot-apt.log 2>&1 || rc=$?
    fi
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$rc" != 0 ]; then
        cat /tmp/imapactors-dovecot-apt.log >&2
        die "apt-get install failed"
    fi
    # Never run the system instance: a leftover one would hold 143/993.
    if [ -x /etc/init.d/dovecot ]; then
        /etc/init.d/dovecot stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d dovecot disable >/dev/null 2>&1 || true
    fi
}

ensure_mail_user() {
    if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$MAIL_USER"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

pick_port() {
    local p i
    for i in $(seq 1 200); do
        p=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
        if ! port_in_use "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    die "no free port found"
}

# Decides the ports once; later starts reuse them so clients holding the env keep working. At a start
# (REPICK_BUSY=1), remembered ports that another program took meanwhile are given up for free ones.
load_ports() {
    TLS_PORT="" PLAIN_PORT=""
    if [ -f "$DIR/ports" ]; then
        # shellcheck disable=SC1091
        . "$DIR/ports"
        if [ "${REPICK_BUSY:-0}" = 1 ] && { port_in_use "$TLS_PORT" || port_in_use "$PLAIN_PORT"; }; then
            log "remembered ports $TLS_PORT/$PLAIN_PORT are taken by another program: picking new ones"
            TLS_PORT="" PLAIN_PORT=""
        fi
    fi
    TLS_PORT="${IMAPACTORS_IMAP_TLS_PORT:-$TLS_PORT}"
    PLAIN_PORT="${IMAPACTORS_IMAP_PLAIN_PORT:-$PLAIN_PORT}"
    [ -n "$TLS_PORT" ] || TLS_PORT="$(pick_port)"
    if [ -z "$PLAIN_PORT" ]; then
        PLAIN_PORT="$(pick_port)"
        while [ "$PLAIN_PORT" = "$TLS_PORT" ]; do PLAIN_PORT="$(pick_port)"; done
    fi
    printf 'TLS_PORT=%s\nPLAIN_PORT=%s\n' "$TLS_PORT" "$PLAIN_PORT" > "$DIR/ports"
}

extra_cert_names() {
    local name
    for name in ${IMAPACTORS_IMAP_CERT_NAMES:-}; do
        printf ',DNS:%s' "$name"
    done
}

ensure_cert() {
    mkdir -p "$DIR/tls"
    if [ -s "$DIR/tls/cert.pem" ] && [ -s "$DIR/tls/key.pem" ]; then
        return 0
    fi
    command -v openssl >/dev/null 2>&1 || { apt-get install -y -q openssl >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1; apt-get install -y -q openssl >/dev/null; }; }
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
        -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1$(extra_cert_names)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -addext "extendedKeyUsage=serverAuth" \
        -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" >/dev/null 2>&1 \
        || die "openssl could not create the certificate"
    chmod 600 "$DIR/tls/key.pem"
    chmod 644 "$DIR/tls/cert.pem"
}

# One passwd-file per user (users/NAME, one line: user:{PLAIN}password:uid:gid::home::[userdb_mail=MAIL]).
# Dovecot re-reads a shared passwd-file at most once a second, so a user added right after a login would stay
# unknown for up to a second; a file per user is opened fresh at its first lookup.
set_user() {
    local name="$1" pass="$2" mail="${3:-}" uid gid tmp extra=""
    case "$name" in
        ''|.*|*[!A-Za-z0-9._@+-]*) die "user names are letters, digits and . _ @ + - (not starting with a dot)" ;;
    esac
    case "$pass" in
        *:*|*$'\n'*) die "passwords must not contain ':' or a newline" ;;
    esac
    if [ -n "$mail" ]; then
        # Extra fields are separated by spaces.
        case "$mail" in
            *[[:space:]]*) die "a mail location must not contain white space" ;;
        esac
        extra="userdb_mail=$mail"
    fi
    uid="$(id -u "$MAIL_USER")"
    gid="$(id -g "$MAIL_USER")"
    mkdir -p "$DIR/users"
    tmp="$(mktemp "$DIR/users/.new.XXXXXX")"
    printf '%s:{PLAIN}%s:%s:%s::%s::%s\n' "$name" "$pass" "$uid" "$gid" "$DIR/mail/$name" "$extra" > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$DIR/users/$name"
}

# The introspection URL of the oauth2 passdb: the env var when set (empty turns OAuth off), else the remembered one.
oauth2_url() {
    if [ -n "${IMAPACTORS_OAUTH2_INTROSPECTION_URL+set}" ]; then
        if [ -n "$IMAPACTORS_OAUTH2_INTROSPECTION_URL" ]; then
            printf '%s\n' "$IMAPACTORS_OAUTH2_INTROSPECTION_URL" > "$DIR/oauth2-url"
        else
            rm -f "$DIR/oauth2-url"
        fi
    fi
    cat "$DIR/oauth2-url" 2>/dev/null || true
}

# The server's profile, test or production: the env var when set (empty or test goes back to test), else the remembered one.
server_profile() {
    if [ -n "${IMAPACTORS_DOVECOT_PROFILE+set}" ]; then
        case "$IMAPACTORS_DOVECOT_PROFILE" in
            ""|test) rm -f "$DIR/profile" ;;
            production) printf 'production\n' > "$DIR/profile" ;;
            *) die "IMAPACTORS_DOVECOT_PROFILE must be test or production, got '$IMAPACTORS_DOVECOT_PROFILE'" ;;
        esac
    fi
    cat "$DIR/profile" 2>/dev/null || printf 'test\n'
}

# Connections a user may hold from one IP: the env var when set, else the remembered one, else the profile's.
max_userip_connections() {
    if [ -n "${IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS+set}" ]; then
        case "$IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS" in
            "") rm -f "$DIR/max-userip-connections" ;;
            *[!0-9]*|0) die "IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS must be a positive number, got '$IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS'" ;;
            *) printf '%s\n' "$IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS" > "$DIR/max-userip-connections" ;;
        esac
    fi
    if [ -f "$DIR/max-userip-connections" ]; then
        cat "$DIR/max-userip-connections"
    elif [ "$1" = production ]; then
        printf '10\n'
    else
        printf '200\n'
    fi
}

write_conf() {
    local uid gid url mechanisms="plain login" oauth_passdb="" profile failure_delay=0 auth_verbose=no userip
    profile="$(server_profile)"
    if [ "$profile" = production ]; then
        failure_delay="2 secs"
        # One log line per password checked ("Password mismatch"), as a lockout policy would count them.
        auth_verbose=yes
    fi
    userip="$(max_userip_connections "$profile")"
    uid="$(id -u "$MAIL_USER")"
    gid="$(id -g "$MAIL_USER")"
    url="$(oauth2_url)"
    if [ -n "$url" ]; then
        case "$url" in
            http://*|https://*) ;;
            *) die "IMAPACTORS_OAUTH2_INTROSPECTION_URL must be an http(s) URL, got '$url'" ;;
        esac
        cat > "$DIR/dovecot-oauth2.conf.ext" <<EOF
# Generated by scripts/dovecot.sh from IMAPACTORS_OAUTH2_INTROSPECTION_URL.
introspection_mode = post
introspection_url = $url
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
EOF
        chmod 644 "$DIR/dovecot-oauth2.conf.ext"
        mechanisms="plain login xoauth2 oauthbearer"
        oauth_passdb="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $DIR/dovecot-oauth2.conf.ext
}"
    else
        rm -f "$DIR/dovecot-oauth2.conf.ext"
    fi
    cat > "$CONF.tmp" <<EOF
# Generated by scripts/dovecot.sh; rewritten on every start.
base_dir = $RUN
instance_name = imapactors-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
protocols = imap
listen = ${IMAPACTORS_IMAP_LISTEN:-$HOST, $ALT_HOST}
log_path = ${IMAPACTORS_DOVECOT_LOG:-$DIR/dovecot.log}
info_log_path = ${IMAPACTORS_DOVECOT_LOG:-$DIR/dovecot.log}
debug_log_path = ${IMAPACTORS_DOVECOT_LOG:-$DIR/dovecot.log}
state_dir = $DIR/lib

ssl = yes
ssl_cert = <$DIR/tls/cert.pem
ssl_key = <$DIR/tls/key.pem
disable_plaintext_auth = yes
auth_mechanisms = $mechanisms
# Profile $profile.
auth_failure_delay = $failure_delay
auth_verbose = $auth_verbose
auth_cache_size = 0

first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_uid = $uid
mail_gid = $gid
mail_location = maildir:~/Maildir
mail_plugins =
mail_fsync = never
mail_max_userip_connections = $userip

# Room for a thousand users connected at once (bench/e2e.sh idle), as a production server gives: each TLS
# connection holds one imap-login and one imap process.
default_process_limit = 1200
default_client_limit = 4000

namespace inbox {
  inbox = yes
  separator = /
}

$oauth_passdb
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DIR/users/%u
}
userdb {
  driver = passwd-file
  args = $DIR/users/%u
}

service imap-login {
  inet_listener imap {
    port = $PLAIN_PORT
  }
  inet_listener imaps {
    port = $TLS_PORT
    ssl = yes
  }
}
service imap {
  process_limit = 1200
}
# No auth penalty: tests log in with wrong passwords from 127.0.0.1, and the penalty (2 to 15 s, per IP)
# would slow every other login from that address.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
    mv -f "$CONF.tmp" "$CONF"
}

# The raw protocol log (see the header), remembered like the OAuth URL; its block goes at the end of dovecot.conf.
append_rawlog_conf() {
    if [ -n "${IMAPACTORS_DOVECOT_RAWLOG+set}" ]; then
        case "$IMAPACTORS_DOVECOT_RAWLOG" in
            1) : > "$DIR/rawlog-enabled" ;;
            ''|0) rm -f "$DIR/rawlog-enabled" ;;
            *) die "IMAPACTORS_DOVECOT_RAWLOG must be 1, 0 or empty, got '$IMAPACTORS_DOVECOT_RAWLOG'" ;;
        esac
    fi
    [ -f "$DIR/rawlog-enabled" ] || return 0
    cat >> "$CONF" <<'EOF'

# IMAPACTORS_DOVECOT_RAWLOG: each IMAP session logs its raw protocol into the user's home (written as the mail user).
protocol imap {
  rawlog_dir = %h
}
EOF
}

# IMAPACTORS_DOVECOT_NO_IDLE: the capabilities Dovecot 2.3 announces after login, without IDLE.
append_no_idle_conf() {
    if [ -n "${IMAPACTORS_DOVECOT_NO_IDLE+set}" ]; then
        case "$IMAPACTORS_DOVECOT_NO_IDLE" in
            1) : > "$DIR/no-idle" ;;
            ''|0) rm -f "$DIR/no-idle" ;;
            *) die "IMAPACTORS_DOVECOT_NO_IDLE must be 1, 0 or empty, got '$IMAPACTORS_DOVECOT_NO_IDLE'" ;;
        esac
    fi
    [ -f "$DIR/no-idle" ] || return 0
    cat >> "$CONF" <<'EOF'

# IMAPACTORS_DOVECOT_NO_IDLE: no IDLE among the capabilities.
imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+
EOF
}

write_env() {
    cat > "$DIR/env.tmp" <<EOF
export IMAPACTORS_IMAP_HOST=$HOST
export IMAPACTORS_IMAP_ALT_HOST=$ALT_HOST
export IMAPACTORS_IMAP_TLS_PORT=$TLS_PORT
export IMAPACTORS_IMAP_PLAIN_PORT=$PLAIN_PORT
export IMAPACTORS_IMAP_CA=$DIR/tls/cert.pem
export IMAPACTORS_DOVECOT_CONF=$CONF
EOF
    mv -f "$DIR/env.tmp" "$DIR/env"
}

master_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    grep -q dovecot "/proc/$pid/comm" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# Every process of one instance shares the session the master created when it daemonized.
session_pids() {
    local sid="$1" f rest
    for f in /proc/[0-9]*/stat; do
        { read -r rest < "$f"; } 2>/dev/null || continue
        rest="${rest##*) }"
        # shellcheck disable=SC2086
        set -- $rest
        # fields after comm: state ppid pgrp session
        # Zombies (state Z) are already dead; an init that does not reap would keep them forever.
        if [ "${4:-}" = "$sid" ] && [ "${1:-}" != Z ]; then
            f="${f#/proc/}"
            f="${f%/stat}"
            # A remembered session id may have been reused by unrelated processes: only Dovecot's own count.
            case "$(readlink "/proc/$f/exe" 2>/dev/null)" in
                */dovecot|*/dovecot/*) printf '%s\n' "$f" ;;
            esac
        fi
    done
}

remembered_sid() { cat "$DIR/session" 2>/dev/null || true; }

kill_session() {
    local sig="$1" sid pids
    sid="$(remembered_sid)"
    [ -n "$sid" ] || return 0
    pids="$(session_pids "$sid")"
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill "-$sig" $pids 2>/dev/null || true
}

wait_session_gone() {
    local sid i
    sid="$(remembered_sid)"
    [ -n "$sid" ] || return 0
    for i in $(seq 1 100); do
        [ -z "$(session_pids "$sid")" ] && return 0
        sleep 0.1
    done
    return 1
}

wait_listening() {
    local i
    for i in $(seq 1 100); do
        if port_in_use "$TLS_PORT" && port_in_use "$PLAIN_PORT"; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$DIR/dovecot.log" >&2 2>/dev/null || true
    die "Dovecot did not start listening on $HOST:$TLS_PORT and $HOST:$PLAIN_PORT"
}

prepare() {
    need_root
    cmd_install
    ensure_mail_user
    mkdir -p "$DIR" "$DIR/mail" "$DIR/lib"
    chmod 755 "$DIR"
    chown "$MAIL_USER:$MAIL_USER" "$DIR/mail"
    # Dovecot's unprivileged processes (vmail, dovecot, dovenull) must reach the state dir; a parent such
    # as /root (0700) would hide it, so say so instead of failing later with an obscure error.
    if ! runuser -u "$MAIL_USER" -- test -x "$DIR/mail" 2>/dev/null; then
        die "$DIR is not reachable by the $MAIL_USER user (a parent folder is not world-executable); set IMAPACTORS_STATE to a folder it can reach"
    fi
    load_ports
    ensure_cert
    if [ ! -f "$DIR/users/soc" ]; then
        set_user soc soc-password
        local n
        for n in 1 2 3 4 5 6 7 8; do set_user "user$n" "pass-$n"; done
    fi
    write_conf
    append_rawlog_conf
    append_no_idle_conf
    write_env
}

cmd_start() {
    local foreground=0
    [ "${1:-}" = "--foreground" ] && foreground=1
    if master_pid >/dev/null; then
        load_ports
        write_env
        cmd_env
        return 0
    fi
    # A master killed with -9 leaves its imap processes behind; end them before reusing the ports.
    kill_session KILL
    wait_session_gone || true
    REPICK_BUSY=1 prepare
    rm -f "$PIDFILE"
    if [ "$foreground" = 1 ]; then
        printf '%s\n' "$$" > "$DIR/session"
        cmd_env
        exec 8>&-
        exec dovecot -F -c "$CONF"
    fi
    # The daemon must not inherit the caller's stdout/stderr: a caller reading them to the end would wait forever.
    if ! dovecot -c "$CONF" </dev/null >"$DIR/startup.log" 2>&1 8>&- 9>&-; then
        cat "$DIR/startup.log" >&2
        tail -n 20 "$DIR/dovecot.log" >&2 2>/dev/null || true
        die "dovecot failed to start"
    fi
    local i pid=""
    for i in $(seq 1 50); do
        pid="$(master_pid || true)"
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || die "dovecot wrote no pid file to $PIDFILE"
    awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[4] }' "/proc/$pid/stat" > "$DIR/session"
    wait_listening
    cmd_env
}

cmd_stop() {
    local pid
    if pid="$(master_pid)"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_session_gone || true
    fi
    # Stale pid file or leftovers of a killed master: end whatever remains of the session.
    kill_session KILL
    wait_session_gone || true
    rm -f "$PIDFILE" "$DIR/session"
}

cmd_restart_hard() {
    local pid
    if pid="$(master_pid)"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    kill_session KILL
    wait_session_gone || die "processes of the killed instance did not exit"
    rm -f "$PIDFILE"
    cmd_start
}

cmd_status() {
    local pid
    if pid="$(master_pid)"; then
        load_ports
        printf 'running (pid %s) on %s: TLS %s, STARTTLS %s\n' "$pid" "$HOST" "$TLS_PORT" "$PLAIN_PORT"
        return 0
    fi
    printf 'stopped\n'
    return 3
}

cmd_env() {
    if [ -f "$DIR/env" ]; then
        cat "$DIR/env"
    else
        [ -d "$DIR" ] || die "not started yet: run scripts/dovecot.sh start"
        load_ports
        write_env
        cat "$DIR/env"
    fi
}

cmd_adduser() {
    [ $# = 2 ] || [ $# = 3 ] || die "usage: dovecot.sh adduser NAME PASSWORD [MAIL_LOCATION]"
    need_root
    ensure_mail_user
    mkdir -p "$DIR"
    set_user "$1" "$2" "${3:-}"
}

# One start, stop or restart at a time per state dir (parallel test processes may all ask for a server).
lock_instance() {
    mkdir -p "$DIR"
    exec 8>"$DIR/instance.lock"
    flock 8
}

verb="${1:-}"
[ $# -gt 0 ] && shift
case "$verb" in
    start|stop|restart-hard) lock_instance ;;
esac
case "$verb" in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    restart-hard) cmd_restart_hard ;;
    status) cmd_status ;;
    env) cmd_env ;;
    adduser) cmd_adduser "$@" ;;
    *) die "usage: dovecot.sh install|start [--foreground]|stop|restart-hard|status|env|adduser NAME PASSWORD [MAIL_LOCATION]" ;;
esac
