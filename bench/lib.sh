# Functions shared by the benchmark scripts (bench/e2e.sh, bench/cluster.sh); sourced, never run. They expect OUT
# (the state folder of the script), CLI (the imapactors.dll to run), MAILDIRS (the private Dovecot's mail folder),
# BENCH_IMAP_PASSWORD and a say function.

# generate NAME ARGS...: sample messages into $OUT/data/NAME (kept between runs of the script).
generate() {
    local name="$1"; shift
    local dir="$OUT/data/$name"
    if [ ! -f "$dir/.done" ]; then
        rm -rf "$dir"
        say "generating $name: samples write $*"
        dotnet "$CLI" samples write "$dir" "$@" >/dev/null
        touch "$dir/.done"
    fi
    printf '%s\n' "$dir"
}

# load_users PREFIX MAILBOXES DIR [EXTRA_FILE]: fresh users PREFIX-0..N-1 (mail folders wiped), INBOX of each loaded
# with every N-th message of DIR; prints the mailbox list ("user INBOX" lines) to PREFIX.mailboxes. The users get
# the mail location $MAIL_LOCATION when set (scripts/dovecot.sh adduser), else the server's maildir.
MAIL_LOCATION=""
load_users() {
    local prefix="$1" n="$2" dir="$3" extra="${4:-}" i
    mapfile -t files < <(find "$dir" -maxdepth 1 -name '*.eml' | LC_ALL=C sort)
    : > "$OUT/$prefix.mailboxes"
    for ((i = 0; i < n; i++)); do
        local user="$prefix-$i" part=() j
        for ((j = i; j < ${#files[@]}; j += n)); do part+=("${files[j]}"); done
        [ -n "$extra" ] && part+=("$extra")
        rm -rf "${MAILDIRS:?}/$user"
        bash scripts/dovecot.sh adduser "$user" "$BENCH_IMAP_PASSWORD" ${MAIL_LOCATION:+"$MAIL_LOCATION"}
        # One framed bundle instead of file arguments: 100,000 paths overflow the argument list.
        printf '%s\n' "${part[@]}" | perl -ne 'chomp; open(my $f, "<:raw", $_) or die "$_: $!\n"; local $/; my $d = <$f>;
            print length($d), "\n", $d;' > "$OUT/bundle"
        bash scripts/load-mailbox.sh "$user" INBOX --framed "$OUT/bundle" >/dev/null
        rm -f "$OUT/bundle"
        printf '%s INBOX\n' "$user" >> "$OUT/$prefix.mailboxes"
    done
}

# timed RUNDIR CMD...: runs CMD under /usr/bin/time -v; prints "wall cpu rss_kb end", end the Unix time at exit.
timed() {
    local run="$1"; shift
    local start end
    start="$(date +%s.%N)"
    /usr/bin/time -v -o "$run/time.txt" "$@" > "$run/stdout.txt" 2> "$run/stderr.txt" || {
        say "FAILED: $* (see $run)"; tail -n 5 "$run/stderr.txt" >&2; return 1; }
    end="$(date +%s.%N)"
    awk -v s="$start" -v e="$end" '
        /User time/ { u = $NF } /System time/ { y = $NF } /Maximum resident set size/ { r = $NF }
        END { printf "%.3f %.2f %d %.3f\n", e - s, u + y, r, e }' "$run/time.txt"
}

# since START END: END - START in seconds, or "-" when START is unknown.
since() { if [ -n "$1" ]; then awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", e - s }'; else printf -- '-'; fi; }

