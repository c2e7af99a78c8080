#!/usr/bin/env bash
# The quickstart: a private Dovecot with a mailbox of generated phishing reports, one ingestion pass into the
# embedded SQLite store, and the containers and artifacts it made.
#
#   bash scripts/quickstart.sh [COUNT]      (default 12 emails)
#
# Installs Dovecot when missing (Debian, as root). Everything it writes lives in .state/quickstart; the Dovecot it
# starts keeps running for a second look (stop it with scripts/dovecot.sh stop).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE_ROOT="${IMAPACTORS_STATE:-$REPO/.state}"
QS="$STATE_ROOT/quickstart"
COUNT="${1:-12}"
USER_NAME=quickstart
PASSWORD="qs-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
# The configuration reads the password from the environment, never from the file.
export QUICKSTART_PASSWORD="$PASSWORD"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

command -v dotnet >/dev/null || { echo "quickstart: the .NET SDK (dotnet) is required" >&2; exit 1; }

say "Starting a private Dovecot on 127.0.0.1 (installed when missing)"
bash scripts/dovecot.sh start >/dev/null
# shellcheck disable=SC1091
source "$STATE_ROOT/dovecot/env"

say "Building the imapactors CLI"
mkdir -p "$QS"
dotnet build src/ImapActors.Cli -c Release -o "$QS/bin" -nologo >"$QS/build.log" 2>&1 || { cat "$QS/build.log"; exit 1; }
imapactors() { dotnet "$QS/bin/imapactors.dll" "$@"; }

say "Seeding mailbox '$USER_NAME' with $COUNT generated phishing reports"
rm -rf "$QS/mail" "$QS/imapactors.db"* "$QS/vault"
bash scripts/dovecot.sh adduser "$USER_NAME" "$PASSWORD" >/dev/null
doveadm -c "$IMAPACTORS_DOVECOT_CONF" expunge -u "$USER_NAME" mailbox INBOX all 2>/dev/null || true
imapactors samples write "$QS/mail" --count "$COUNT" --seed "$RANDOM"
bash scripts/load-mailbox.sh "$USER_NAME" INBOX "$QS/mail"

cat > "$QS/imapactors.conf" <<CONF
# Written by scripts/quickstart.sh: one asset on the private Dovecot, the embedded SQLite store.
imapactors {
  storage { provider = sqlite, connection-string = "Data Source=$QS/imapactors.db" }
  vault { path = "$QS/vault" }
  assets {
    quickstart {
      server = "127.0.0.1"
      port = $IMAPACTORS_IMAP_TLS_PORT
      use_ssl = true
      verify_server_cert = true
      ca_file = "$IMAPACTORS_IMAP_CA"
      username = "$USER_NAME"
      password = \${?QUICKSTART_PASSWORD}
      folder = "INBOX"
      ingest_manner = "oldest first"
      first_run_max_emails = 2000
      max_emails = 100
    }
  }
}
CONF

say "Ingesting: imapactors run --once --config $QS/imapactors.conf"
imapactors run --once --config "$QS/imapactors.conf" 2>"$QS/run.log"

say "Containers: imapactors containers list"
imapactors containers list --config "$QS/imapactors.conf"

say "One container with its artifacts: imapactors containers show 3 (a report with the phish attached)"
imapactors containers show --config "$QS/imapactors.conf" --brief 3

say "Done"
echo "Config: $QS/imapactors.conf   Store: $QS/imapactors.db   Vault: $QS/vault   Log: $QS/run.log"
echo "Dovecot keeps running for a second look; stop it with: bash scripts/dovecot.sh stop"
