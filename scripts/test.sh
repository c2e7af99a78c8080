#!/usr/bin/env bash
# The project's test command: starts the private Dovecot (and PostgreSQL when scripts/postgres.sh exists),
# builds the solution in Release, runs every test project, stops what it started, and prints one line
#   Tests: N passed, N failed, N skipped
# Extra arguments go to `dotnet test` (e.g. --filter FullyQualifiedName~Mail). Runs as root on Debian 12;
# installs Dovecot and Chromium (the console's browser tests) with apt-get when they are missing. Exits with dotnet
# test's status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
export IMAPACTORS_STATE="${IMAPACTORS_STATE:-$REPO/.state}"
RESULTS="$REPO/artifacts/test-results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

started_dovecot=0
started_postgres=0

cleanup() {
    local rc=$?
    set +e
    # Private servers some tests start for fault injection; normally already stopped by the tests.
    local d
    for d in "$IMAPACTORS_STATE"/private/*/; do
        [ -d "${d}dovecot" ] && IMAPACTORS_STATE="${d%/}" bash scripts/dovecot.sh stop
    done
    [ "$started_postgres" = 1 ] && bash scripts/postgres.sh stop
    [ "$started_dovecot" = 1 ] && bash scripts/dovecot.sh stop
    exit "$rc"
}
trap cleanup EXIT

if ! bash scripts/dovecot.sh status >/dev/null 2>&1; then
    started_dovecot=1
fi
bash scripts/dovecot.sh start >/dev/null
# shellcheck disable=SC1091
. "$IMAPACTORS_STATE/dovecot/env"

if [ -f scripts/postgres.sh ]; then
    started_postgres=1
    bash scripts/postgres.sh start >/dev/null
    if [ -f "$IMAPACTORS_STATE/postgres/env" ]; then
        # shellcheck disable=SC1091
        . "$IMAPACTORS_STATE/postgres/env"
    fi
fi

# The console's browser tests drive Debian's Chromium; without it they say they are skipped.
IMAPACTORS_CHROMIUM="$(bash scripts/chromium.sh)" || IMAPACTORS_CHROMIUM=""
export IMAPACTORS_CHROMIUM

dotnet build ImapActors.sln -c Release -nologo -v minimal

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
status=0
dotnet test ImapActors.sln -c Release --no-build -nologo \
    --logger "console;verbosity=minimal" \
    --logger "trx" \
    --results-directory "$RESULTS" \
    "$@" || status=$?

# Totals over every project's TRX file (one per test assembly).
passed=0 failed=0 total=0
for trx in "$RESULTS"/*.trx; do
    [ -f "$trx" ] || continue
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
    attr() { printf '%s' "$counters" | sed -n "s/.* $1=\"\\([0-9]*\\)\".*/\\1/p"; }
    t="$(attr total)"; p="$(attr passed)"; f="$(attr failed)"; e="$(attr error)"; to="$(attr timeout)"; a="$(attr aborted)"
    total=$((total + ${t:-0}))
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${to:-0} + ${a:-0}))
done
skipped=$((total - passed - failed))
[ "$skipped" -ge 0 ] || skipped=0
echo "Tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
