#!/usr/bin/env bash
# Loads messages straight into a user's folder of the private Dovecot (scripts/dovecot.sh), far faster
# than APPEND: 10,000 small messages take about a second.
#
#   scripts/load-mailbox.sh USER FOLDER FILE_OR_DIR...
#   scripts/load-mailbox.sh USER FOLDER --framed BUNDLE
#
# Each FILE is one RFC 822 message; a DIR contributes its regular files in name order. A BUNDLE holds
# many messages in one file, each as "<byte count>\n<bytes>" (what the C# test helper writes: one file
# is much cheaper than thousands on slow file systems). Messages get
# UIDs in the order given. The folder is created when missing (any name Dovecot accepts, "/" as the
# hierarchy separator, INBOX in any case). The files land in the folder's maildir new/ folder (unseen,
# no flags) under unique names, owned by the mail user; then `doveadm force-resync` indexes them.
# The user must exist (scripts/dovecot.sh adduser) and the server must have been started once.
#
# A user added with an mbox mail location (scripts/dovecot.sh adduser NAME PASS mbox:~/mail:INBOX=~/inbox.mbox)
# gets the messages appended to the folder's mbox file instead, and the same force-resync indexes it. That is
# what a mailbox of 100,000 messages needs (bench/e2e.sh memory): Dovecot serves it within seconds, where the
# maildir sync of as many files takes minutes. mbox stores a body line "From ..." as ">From ..." and serves it
# so; a message without a final newline gets one.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_ROOT="${IMAPACTORS_STATE:-$REPO/.state}"
DIR="$STATE_ROOT/dovecot"
CONF="$DIR/dovecot.conf"
MAIL_USER=vmail

die() { printf 'load-mailbox.sh: %s\n' "$*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: load-mailbox.sh USER FOLDER FILE_OR_DIR..."
user="$1" folder="$2"
shift 2
[ -f "$CONF" ] || die "$CONF missing: run scripts/dovecot.sh start first"

# The user's own mail location (a userdb "mail" field) or the server's mail_location.
location="$(doveadm -c "$CONF" user -f mail "$user")" || die "unknown user '$user'"
format="${location%%:*}"
case "$format" in
    maildir|mbox) ;;
    *) die "user '$user' has mail format '$format'; only maildir and mbox can be loaded" ;;
esac

path="$(doveadm -c "$CONF" mailbox path -t mailbox -u "$user" "$folder")" || die "no $format path for '$folder' of '$user'"
[ -n "$path" ] || die "no $format path for '$folder' of '$user'"
if [ "$format" = mbox ]; then
    if [ ! -f "$path" ]; then
        doveadm -c "$CONF" mailbox create -u "$user" "$folder" 2>/dev/null || true
        if [ ! -f "$path" ]; then
            mkdir -p "$(dirname "$path")"
            : > "$path"
        fi
    fi
    chown "$MAIL_USER:$MAIL_USER" "$path"
elif [ ! -d "$path/new" ]; then
    # Creating through Dovecot gives the right layout, encoding and ownership; INBOX may already "exist".
    doveadm -c "$CONF" mailbox create -u "$user" "$folder" 2>/dev/null || true
    if [ ! -d "$path/new" ]; then
        mkdir -p "$path/new" "$path/cur" "$path/tmp"
        chown -R "$MAIL_USER:$MAIL_USER" "$(dirname "$path")"
    fi
fi

# One perl process copies everything: no fork per message. The names sort (Dovecot's maildir_time_cmp)
# in argument order, so UIDs follow it.
perl -e '
    use strict; use warnings;
    my ($format, $dir, $uid, $gid, $host, @inputs) = @ARGV;
    my $base = time();
    my $n = 0;
    my ($mbox, $store);
    if ($format eq "mbox") {
        # $dir is the mbox file: one "From " line per message, body lines "From ..." escaped (mboxrd), a blank
        # line after each message.
        open($mbox, ">>:raw", $dir) or die "cannot append to $dir: $!\n";
        my $from = "From MAILER-DAEMON " . scalar(gmtime($base)) . "\n";
        $store = sub {
            my ($data) = @_;
            $data =~ s/^(>*From )/>$1/mg;
            $data .= "\n" unless $data =~ /\n\z/;
            print $mbox $from, $data, "\n" or die "cannot write $dir: $!\n";
            $n++;
        };
    }
    $store //= sub {
        my ($data) = @_;
        my $size = length($data);
        my $name = sprintf("%d.M%06dP%dQ%d.%s,S=%d", $base + int($n / 1000000), $n % 1000000, $$, $n, $host, $size);
        my $tmp = "$dir/tmp/$name";
        open(my $ofh, ">:raw", $tmp) or die "cannot write $tmp: $!\n";
        print $ofh $data or die "cannot write $tmp: $!\n";
        close($ofh) or die "cannot write $tmp: $!\n";
        chown($uid, $gid, $tmp);
        rename($tmp, "$dir/new/$name") or die "cannot move $tmp: $!\n";
        $n++;
    };
    if (@inputs == 2 && $inputs[0] eq "--framed") {
        open(my $bfh, "<:raw", $inputs[1]) or die "cannot read $inputs[1]: $!\n";
        while (defined(my $header = <$bfh>)) {
            chomp $header;
            $header =~ /^\d+$/ or die "bad record header in $inputs[1]: $header\n";
            my $data = "";
            my $got = read($bfh, $data, $header);
            defined($got) && $got == $header or die "truncated record in $inputs[1]\n";
            $store->($data);
        }
        close($bfh);
        @inputs = ();
    }
    my @files;
    for my $in (@inputs) {
        if (-d $in) {
            opendir(my $dh, $in) or die "cannot read $in: $!\n";
            push @files, map { "$in/$_" } sort grep { -f "$in/$_" } readdir($dh);
            closedir($dh);
        } elsif (-f $in) {
            push @files, $in;
        } else {
            die "no such file: $in\n";
        }
    }
    for my $src (@files) {
        open(my $ifh, "<:raw", $src) or die "cannot read $src: $!\n";
        local $/;
        my $data = <$ifh>;
        close($ifh);
        $store->(defined $data ? $data : "");
    }
    if ($mbox) { close($mbox) or die "cannot write $dir: $!\n"; }
    print STDERR "loaded $n messages\n" if $ENV{LOAD_MAILBOX_VERBOSE};
' "$format" "$path" "$(id -u "$MAIL_USER")" "$(id -g "$MAIL_USER")" "$(printf '%s' "${HOSTNAME:-localhost}" | tr -c 'A-Za-z0-9-' '_')" "$@"

doveadm -c "$CONF" force-resync -u "$user" "$folder"
