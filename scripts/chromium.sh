#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (/usr/bin/chromium), for the console's browser tests (Microsoft.Playwright
# drives it; no browser is downloaded). Prints the browser's path. Runs as root on Debian 12.
#   bash scripts/chromium.sh
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium.sh: installing Debian's chromium (a minute or two the first time)" >&2
    log=/tmp/imapactors-chromium-apt.log
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >"$log" 2>&1; then
        apt-get update -q >>"$log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >>"$log" 2>&1 \
            || { echo "chromium.sh: apt-get install chromium failed; see $log" >&2; exit 1; }
    fi
fi
command -v chromium
