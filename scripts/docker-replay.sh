#!/usr/bin/env bash
# Checks docker/Dockerfile without Docker: replays the COPY and RUN steps of its build stage into a scratch folder
# and runs the published imapactors --help at the end.
#
#   bash scripts/docker-replay.sh [--check] [--scratch DIR] [--keep] [--build-arg NAME=VALUE]... [--dockerfile FILE]
#
# COPY sources are read from the build context (the repository root) through the Dockerfile's .dockerignore;
# absolute image paths (WORKDIR, COPY destinations, `-o`/`--output` folders, /tmp) become folders inside the scratch
# folder, and RUN commands run there with bash, in a clean environment with the ARG and ENV values of the stage.
# TARGETARCH and the other platform arguments are those of this machine, as `docker build` would set them here.
# Anything it cannot replay faithfully (ADD, USER, SHELL, VOLUME, flags such as --mount or --chown, heredocs, exec-form
# RUN, an absolute path outside the mapped folders, ...) stops it with one line and a non-zero exit before any step
# has run; so does a project under src/ whose .csproj is not copied before `dotnet restore` (the restore layer).
# --check stops after those checks. The scratch folder must be outside the repository (MSBuild, NuGet and
# .editorconfig look in parent folders, which would hide a missing COPY); without --scratch a new one is made under
# ${TMPDIR:-/tmp} and removed at the end unless --keep is given. The last line of a successful replay is
#   docker-replay: published PATH
set -euo pipefail
shopt -s nullglob dotglob

CONTEXT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="$CONTEXT/docker/Dockerfile"
STAGE=build
BINARY=imapactors
SCRATCH=""
CHECK_ONLY=0
KEEP=0
declare -A BUILD_ARGS=()

die() { echo "docker-replay: $*" >&2; exit 1; }
note() { echo "docker-replay: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --check) CHECK_ONLY=1 ;;
        --keep) KEEP=1 ;;
        --scratch) [ $# -ge 2 ] || die "--scratch needs a folder"; SCRATCH="$2"; shift ;;
        --dockerfile) [ $# -ge 2 ] || die "--dockerfile needs a file"; DOCKERFILE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift ;;
        --build-arg)
            [ $# -ge 2 ] && [[ "$2" == *=* ]] || die "--build-arg needs NAME=VALUE"
            BUILD_ARGS["${2%%=*}"]="${2#*=}"; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
    shift
done
[ -f "$DOCKERFILE" ] || die "no Dockerfile at $DOCKERFILE"
DF_NAME="${DOCKERFILE#"$CONTEXT"/}"

# ---------------------------------------------------------------- parsing: one instruction per entry, continuations joined
INS_LINE=() INS_KEY=() INS_ARGS=()
parse_dockerfile() {
    local lineno=0 line start=0 text="" directives=1
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        line="${line%$'\r'}"
        if [ "$directives" = 1 ]; then
            if [[ "$line" =~ ^#[[:space:]]*([A-Za-z]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
                local key="${BASH_REMATCH[1],,}" value="${BASH_REMATCH[2]}"
                [ "$key" = escape ] && [ "${value%% *}" != '\' ] && die "$DF_NAME:$lineno: escape directive '$value' is not supported"
                continue
            fi
            directives=0
        fi
        if [ -z "$text" ]; then
            [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
            start=$lineno
        elif [[ "$line" =~ ^[[:space:]]*(#|$) ]]; then
            continue # comments and empty lines inside a continued instruction are dropped, as by Docker's parser
        fi
        if [[ "$line" =~ ^(.*)\\[[:space:]]*$ ]]; then
            text+="${BASH_REMATCH[1]}"
            continue
        fi
        text+="$line"
        add_instruction "$start" "$text"
        text=""
    done < "$DOCKERFILE"
    [ -z "$text" ] || add_instruction "$start" "$text"
}
add_instruction() {
    local text="${2#"${2%%[![:space:]]*}"}"
    local key="${text%%[[:space:]]*}" args=""
    [ "$key" != "$text" ] && args="${text#"$key"}" && args="${args#"${args%%[![:space:]]*}"}"
    INS_LINE+=("$1") INS_KEY+=("${key^^}") INS_ARGS+=("$args")
}

# ---------------------------------------------------------------- .dockerignore (moby/patternmatcher semantics)
IGNORE_RES=()
load_dockerignore() {
    local file="${DOCKERFILE}.dockerignore" line pattern re i ch next
    [ -f "$file" ] || file="$CONTEXT/.dockerignore"
    [ -f "$file" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%$'\r'}"
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        pattern="$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')"
        [[ "$pattern" == '!'* ]] && die "${file#"$CONTEXT"/}: exception pattern '$pattern' is not supported"
        [[ "$pattern" == *\\* ]] && die "${file#"$CONTEXT"/}: escaped pattern '$pattern' is not supported"
        pattern="$(printf '%s' "$pattern" | sed -e 's#//*#/#g' -e 's#^/##' -e 's#/$##' -e 's#^\./##')"
        [ -n "$pattern" ] && [ "$pattern" != . ] || continue
        re="^"
        for ((i = 0; i < ${#pattern}; i++)); do
            ch="${pattern:i:1}" next="${pattern:i+1:1}"
            if [ "$ch" = '*' ] && [ "$next" = '*' ]; then
                i=$((i + 1))
                [ "${pattern:i+1:1}" = / ] && i=$((i + 1))
                if [ $((i + 1)) -ge ${#pattern} ]; then re+=".*"; else re+="(.*/)?"; fi
            elif [ "$ch" = '*' ]; then re+="[^/]*"
            elif [ "$ch" = '?' ]; then re+="[^/]"
            elif [[ "$ch" == [.+\(\)\|\^\$\{\}] ]]; then re+="\\$ch"
            else re+="$ch"
            fi
        done
        IGNORE_RES+=("$re\$")
    done < "$file"
}
# True when the context-relative path itself matches a pattern (callers walk parents first).
ignored_self() {
    local re
    for re in "${IGNORE_RES[@]}"; do
        [[ "$1" =~ $re ]] && return 0
    done
    return 1
}
ignored() {
    local path="$1"
    while :; do
        ignored_self "$path" && return 0
        [[ "$path" == */* ]] || return 1
        path="${path%/*}"
    done
}

# ---------------------------------------------------------------- image paths inside the scratch folder
# Image folders that live in the scratch folder: /tmp, and the top folders of WORKDIR, COPY destinations and
# `-o`/`--output` arguments (collected before anything runs).
declare -A MAPPED=([tmp]=1)
host_path() { printf '%s%s' "$SCRATCH" "$1"; }
clean_abs() { # an absolute image path without . and .. parts or doubled slashes; keeps one trailing slash
    local - p="$1" trail="" part out=()
    set -f
    [[ "$p" == */ ]] && [ "$p" != / ] && trail=/
    local IFS=/
    for part in $p; do
        case "$part" in ''|.) ;; ..) [ ${#out[@]} -gt 0 ] && unset 'out[${#out[@]}-1]' ;; *) out+=("$part") ;; esac
    done
    if [ ${#out[@]} -eq 0 ]; then printf '/'; else printf '/%s%s' "${out[*]}" "$trail"; fi
}
# Absolute paths in a shell command or ENV value: each must be under a mapped folder (rewritten) or /dev/null,
# /dev/stdout, /dev/stderr (kept); anything else would touch this machine instead of the image.
ABS_RE='(?<![^\s"'"'"'=<>(`:|;&])/[A-Za-z0-9_.+-]+(?:/[^\s"'"'"';)`|&<>]*)?'
check_abs_paths() { # lineno instruction text
    local path top
    while IFS= read -r path; do
        [ -n "$path" ] || continue
        case "$path" in /dev/null|/dev/stdout|/dev/stderr) continue ;; esac
        top="${path#/}" top="${top%%/*}"
        [ -n "${MAPPED[$top]:-}" ] || die "$DF_NAME:$1: $2 uses $path, outside the image folders this replay maps ($(mapped_list)); cannot replay it faithfully"
    done < <(TEXT="$3" perl -e 'while ($ENV{TEXT} =~ m{'"$ABS_RE"'}g) { print "$&\n" }')
}
rewrite_abs_paths() {
    local roots
    roots="$(printf '%s\n' "${!MAPPED[@]}" | sort | sed 's/[.+]/\\&/g' | paste -sd'|')"
    TEXT="$1" ROOT="$SCRATCH" perl -e '$t = $ENV{TEXT}; $t =~ s{(?<![^\s"'"'"'=<>(`:|;&])/('"$roots"')(?=[/\s"'"'"';)`|&<>]|$)}{$ENV{ROOT}/$1}g; print $t'
}
mapped_list() { printf '/%s\n' "${!MAPPED[@]}" | sort | paste -sd' '; }

# ---------------------------------------------------------------- the stage
STAGE_FIRST=-1 STAGE_LAST=-1 STAGE_IMAGE=""
EXPORTS=()
find_stage() {
    local i n=${#INS_KEY[@]} current="" words
    for ((i = 0; i < n; i++)); do
        if [ "${INS_KEY[i]}" = FROM ]; then
            set -f; read -r -a words <<< "${INS_ARGS[i]}"; set +f
            current=""
            [[ "${words[0]}" == --* ]] && [ ${#words[@]} -eq 4 ] && [ "${words[3]}" = "$STAGE" ] \
                && die "$DF_NAME:${INS_LINE[i]}: FROM ${words[0]} is not supported"
            [ ${#words[@]} -eq 3 ] && [ "${words[1],,}" = as ] && current="${words[2]}"
            if [ "$current" = "$STAGE" ]; then
                STAGE_FIRST=$((i + 1)) STAGE_IMAGE="${words[0]}"
            elif [ "$STAGE_FIRST" -ge 0 ] && [ "$STAGE_LAST" -lt 0 ]; then
                STAGE_LAST=$((i - 1))
            fi
        elif [ "${INS_KEY[i]}" = COPY ] && [[ "${INS_ARGS[i]}" =~ ^--from=([^[:space:]]+)[[:space:]]+([^[:space:]]+) ]] \
            && [ "${BASH_REMATCH[1]}" = "$STAGE" ]; then
            EXPORTS+=("${BASH_REMATCH[2]}")
        fi
    done
    [ "$STAGE_FIRST" -ge 0 ] || die "$DF_NAME: no stage named '$STAGE' (FROM ... AS $STAGE)"
    [ "$STAGE_LAST" -ge 0 ] || STAGE_LAST=$((n - 1))
    # The SDK on this machine stands in for the SDK image; it must be the same major version.
    if [[ "$STAGE_IMAGE" =~ ^mcr\.microsoft\.com/dotnet/sdk:([0-9]+)(\.[0-9]+)? ]]; then
        local want="${BASH_REMATCH[1]}" have
        have="$(dotnet --version 2>/dev/null)" || die "dotnet is not on PATH"
        [ "${have%%.*}" = "$want" ] || die "$DF_NAME: stage '$STAGE' is FROM $STAGE_IMAGE but this machine's SDK is $have"
    else
        die "$DF_NAME: stage '$STAGE' is FROM $STAGE_IMAGE; only mcr.microsoft.com/dotnet/sdk images can be stood in for by this machine's SDK"
    fi
}

# ---------------------------------------------------------------- steps
declare -A ARGS=() ENVS=() GLOBAL_ARGS=() COPIED=()
WORKDIR=/
RESTORE_LINE=""
host_platform() {
    case "$(uname -m)" in x86_64|amd64) echo amd64 ;; aarch64|arm64) echo arm64 ;; armv7l) echo arm ;; *) uname -m ;; esac
}
declare -A PLATFORM_ARGS=()
PLATFORM_ARGS[TARGETOS]=linux PLATFORM_ARGS[BUILDOS]=linux
PLATFORM_ARGS[TARGETARCH]="$(host_platform)" PLATFORM_ARGS[BUILDARCH]="$(host_platform)"
PLATFORM_ARGS[TARGETPLATFORM]="linux/$(host_platform)" PLATFORM_ARGS[BUILDPLATFORM]="linux/$(host_platform)"
PLATFORM_ARGS[TARGETVARIANT]="" PLATFORM_ARGS[BUILDVARIANT]=""

step_arg() { # lineno args; DRY
    local spec name value specs
    set -f; read -r -a specs <<< "$1"; set +f
    for spec in "${specs[@]}"; do
        [[ "$spec" == *'$'* || "$spec" == *[\"\']* ]] && die "$DF_NAME:$2: ARG $spec: quotes and substitutions are not supported"
        name="${spec%%=*}"
        [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$DF_NAME:$2: ARG $spec is not NAME or NAME=VALUE"
        if [ -n "${BUILD_ARGS[$name]+x}" ]; then value="${BUILD_ARGS[$name]}"
        elif [[ "$spec" == *=* ]]; then value="${spec#*=}"
        elif [ -n "${PLATFORM_ARGS[$name]+x}" ]; then value="${PLATFORM_ARGS[$name]}"
        elif [ -n "${GLOBAL_ARGS[$name]+x}" ]; then value="${GLOBAL_ARGS[$name]}"
        else unset 'ARGS[$name]'; continue
        fi
        ARGS[$name]="$value"
    done
}
step_env() { # args lineno
    local spec specs
    set -f; read -r -a specs <<< "$1"; set +f
    for spec in "${specs[@]}"; do
        [[ "$spec" == *=* ]] || die "$DF_NAME:$2: ENV $1: only the NAME=VALUE form is supported"
        [[ "$spec" == *'$'* || "$spec" == *[\"\'\\]* ]] && die "$DF_NAME:$2: ENV $spec: quotes and substitutions are not supported"
        check_abs_paths "$2" ENV "${spec#*=}"
        ENVS["${spec%%=*}"]="$(rewrite_abs_paths "${spec#*=}")"
    done
}
step_workdir() { # args lineno dry
    [[ "$1" == *'$'* || "$1" == *[\"\'[:space:]]* ]] && die "$DF_NAME:$2: WORKDIR $1: quotes, spaces and substitutions are not supported"
    if [[ "$1" == /* ]]; then WORKDIR="$(clean_abs "$1")"; else WORKDIR="$(clean_abs "$WORKDIR/$1")"; fi
    WORKDIR="${WORKDIR%/}"; [ -n "$WORKDIR" ] || WORKDIR=/
    [ "$3" = 1 ] || mkdir -p "$(host_path "$WORKDIR")"
}
# Copies a context file or folder (its contents, as COPY does) to a host path, through .dockerignore.
copy_entry() { # relpath host-dest dry
    local rel="$1" dest="$2" e name
    if [ -d "$CONTEXT/$rel" ] && [ ! -L "$CONTEXT/$rel" ]; then
        [ "$3" = 1 ] || mkdir -p "$dest"
        for e in "$CONTEXT/${rel:+$rel/}"*; do
            name="${e##*/}"
            ignored_self "${rel:+$rel/}$name" && continue
            copy_entry "${rel:+$rel/}$name" "$dest/$name" "$3"
        done
    else
        COPIED["$rel"]=1
        if [ "$3" != 1 ]; then
            mkdir -p "$(dirname "$dest")"
            [ -d "$dest" ] && [ ! -L "$dest" ] && die "COPY $rel: $dest is a folder"
            cp -P --preserve=mode,timestamps "$CONTEXT/$rel" "$dest"
        fi
    fi
}
step_copy() { # args lineno dry
    local args="$1" lineno="$2" dry="$3" words=() src dest rel matches m n
    [[ "$args" == --* ]] && die "$DF_NAME:$lineno: COPY ${args%% *}: flags are not supported"
    [[ "$args" == \[* ]] && die "$DF_NAME:$lineno: COPY in JSON form is not supported"
    [[ "$args" == *'<<'* ]] && die "$DF_NAME:$lineno: COPY with a heredoc is not supported"
    [[ "$args" == *'$'* || "$args" == *[\"\'\\]* ]] && die "$DF_NAME:$lineno: COPY $args: quotes and substitutions are not supported"
    set -f; read -r -a words <<< "$args"; set +f
    n=${#words[@]}
    [ "$n" -ge 2 ] || die "$DF_NAME:$lineno: COPY needs a source and a destination"
    dest="${words[n-1]}"
    [[ "$dest" == /* ]] || dest="$WORKDIR/$dest"
    local dest_dir=0
    [[ "$dest" == */ ]] && dest_dir=1
    dest="$(clean_abs "$dest")"
    if [ "$n" -gt 2 ] && [ "$dest_dir" = 0 ]; then
        die "$DF_NAME:$lineno: COPY with several sources needs a destination ending in /"
    fi
    for src in "${words[@]:0:n-1}"; do
        rel="$(clean_abs "/$src")"; rel="${rel#/}"; rel="${rel%/}"
        [[ "/$src/" == */../* ]] && die "$DF_NAME:$lineno: COPY $src: paths outside the build context are not supported"
        if [[ "$src" == *[\*\?\[]* ]]; then
            [ "$dest_dir" = 1 ] || die "$DF_NAME:$lineno: COPY $src with a wildcard needs a destination ending in /"
            matches=()
            for m in "$CONTEXT"/$rel; do
                m="${m#"$CONTEXT"/}"
                ignored "$m" || matches+=("$m")
            done
            [ ${#matches[@]} -gt 0 ] || die "$DF_NAME:$lineno: COPY $src matches no file in the build context"
        else
            [ -e "$CONTEXT/$rel" ] || [ -z "$rel" ] || die "$DF_NAME:$lineno: COPY $src: not found in the build context"
            [ -n "$rel" ] && ignored "$rel" && die "$DF_NAME:$lineno: COPY $src: excluded by the .dockerignore"
            matches=("$rel")
        fi
        for m in "${matches[@]}"; do
            if [ -d "$CONTEXT/$m" ] && [ ! -L "$CONTEXT/$m" ]; then
                copy_entry "$m" "$(host_path "${dest%/}")" "$dry"
            elif [ "$dest_dir" = 1 ] || [ -d "$(host_path "$dest")" ]; then
                copy_entry "$m" "$(host_path "${dest%/}/${m##*/}")" "$dry"
            else
                copy_entry "$m" "$(host_path "$dest")" "$dry"
            fi
        done
    done
}
step_run() { # args lineno dry
    local cmd="$1" lineno="$2" dry="$3" rc=0
    [[ "$cmd" == --* ]] && die "$DF_NAME:$lineno: RUN ${cmd%% *}: flags are not supported"
    [[ "$cmd" == \[* ]] && die "$DF_NAME:$lineno: RUN in exec (JSON) form is not supported"
    [[ "$cmd" =~ \<\<-?[\"\']?[A-Za-z_] ]] && die "$DF_NAME:$lineno: RUN with a heredoc is not supported"
    check_abs_paths "$lineno" RUN "$cmd"
    if [ "$dry" = 1 ]; then
        [ -z "$RESTORE_LINE" ] && [[ "$cmd" =~ dotnet[[:space:]]+restore ]] && RESTORE_LINE="$lineno" && check_restore_inputs
        return 0
    fi
    cmd="$(rewrite_abs_paths "$cmd")"
    note "line $lineno: RUN $cmd"
    # A clean environment like the build container's, with this machine's SDK and NuGet settings; build servers off,
    # so that nothing outlives the replay (or holds its output open).
    local envs=(HOME="$HOME" PATH="$PATH" TMPDIR="$(host_path /tmp)" LANG=C.UTF-8
        MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false) name
    while IFS= read -r name; do
        case "$name" in DOTNET_CLI_*|DOTNET_NOLOGO|DOTNET_SKIP_FIRST_TIME_EXPERIENCE|DOTNET_ROOT|NUGET_*) envs+=("$name=${!name}") ;; esac
    done < <(compgen -e)
    for name in "${!ARGS[@]}"; do envs+=("$name=${ARGS[$name]}"); done
    for name in "${!ENVS[@]}"; do envs+=("$name=${ENVS[$name]}"); done
    (cd "$(host_path "$WORKDIR")" && exec env -i "${envs[@]}" bash -c "$cmd") < /dev/null || rc=$?
    [ "$rc" = 0 ] || die "$DF_NAME:$lineno: RUN exited with $rc"
}
# Every project under src/ must be in the restore layer, or publish --no-restore fails far from the cause.
check_restore_inputs() {
    local proj missing=0
    while IFS= read -r proj; do
        proj="${proj#"$CONTEXT"/}"
        ignored "$proj" && continue
        if [ -z "${COPIED[$proj]:-}" ]; then
            echo "docker-replay: $DF_NAME:$RESTORE_LINE: $proj is not copied before dotnet restore; add: COPY $proj ${proj%/*}/" >&2
            missing=1
        fi
    done < <(find "$CONTEXT/src" -name '*.csproj' -not -path '*/bin/*' -not -path '*/obj/*' | sort)
    [ "$missing" = 0 ] || exit 1
}

replay() { # dry
    local i key args lineno
    ARGS=() ENVS=() COPIED=() WORKDIR=/
    for ((i = STAGE_FIRST; i <= STAGE_LAST; i++)); do
        key="${INS_KEY[i]}" args="${INS_ARGS[i]}" lineno="${INS_LINE[i]}"
        case "$key" in
            ARG) step_arg "$args" "$lineno" ;;
            ENV) step_env "$args" "$lineno" ;;
            WORKDIR) step_workdir "$args" "$lineno" "$1" ;;
            COPY) step_copy "$args" "$lineno" "$1"; [ "$1" = 1 ] || note "line $lineno: COPY $args" ;;
            RUN) step_run "$args" "$lineno" "$1" ;;
            # Image metadata: nothing in the build stage's files depends on it.
            LABEL|EXPOSE|CMD|ENTRYPOINT|HEALTHCHECK|STOPSIGNAL|MAINTAINER) ;;
            *) die "$DF_NAME:$lineno: $key cannot be replayed without Docker" ;;
        esac
    done
}

# ---------------------------------------------------------------- main
parse_dockerfile
load_dockerignore
find_stage
i=0
while [ "$i" -lt ${#INS_KEY[@]} ] && [ "${INS_KEY[i]}" != FROM ]; do
    [ "${INS_KEY[i]}" = ARG ] || die "$DF_NAME:${INS_LINE[i]}: ${INS_KEY[i]} before the first FROM"
    set -f; read -r -a specs <<< "${INS_ARGS[i]}"; set +f
    for spec in "${specs[@]}"; do
        [[ "$spec" == *=* ]] && GLOBAL_ARGS["${spec%%=*}"]="${spec#*=}"
    done
    i=$((i + 1))
done

# Mapped folders first, so that every path check below sees all of them.
map_top() {
    local top="${1#/}"
    top="${top%%/*}"
    [ -n "$top" ] || die "$DF_NAME: stage '$STAGE' writes to / itself; cannot map it into a scratch folder"
    MAPPED[$top]=1
}
for ((i = STAGE_FIRST; i <= STAGE_LAST; i++)); do
    args="${INS_ARGS[i]}"
    case "${INS_KEY[i]}" in
        WORKDIR) if [[ "$args" == /* ]]; then map_top "$args"; fi ;;
        COPY) last="${args##*[[:space:]]}"; if [[ "$last" == /* ]]; then map_top "$last"; fi ;;
        RUN)
            while IFS= read -r out; do
                [ -z "$out" ] || map_top "$out"
            done < <(TEXT="$args" perl -e 'while ($ENV{TEXT} =~ m{(?:^|\s)(?:-o|--output)[\s=]+"?(/[^\s"/]+)}g) { print "$1\n" }')
            ;;
    esac
done
for e in "${EXPORTS[@]}"; do map_top "$e"; done

REQUESTED_SCRATCH="$SCRATCH"
SCRATCH=/nonexistent-scratch
replay 1
[ -n "$RESTORE_LINE" ] || die "$DF_NAME: stage '$STAGE' has no RUN dotnet restore"
[ ${#EXPORTS[@]} -gt 0 ] || die "$DF_NAME: no later stage copies anything --from=$STAGE; nothing to check"
if [ "$CHECK_ONLY" = 1 ]; then
    note "$DF_NAME: stage '$STAGE' can be replayed (image folders mapped: $(mapped_list))"
    exit 0
fi

REMOVE=0
if [ -z "$REQUESTED_SCRATCH" ]; then
    SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/imapactors-docker-replay.XXXXXX")"
    [ "$KEEP" = 1 ] || { REMOVE=1; trap 'rm -rf "$SCRATCH"' EXIT; }
else
    mkdir -p "$REQUESTED_SCRATCH"
    SCRATCH="$(cd "$REQUESTED_SCRATCH" && pwd -P)"
    [ -z "$(ls -A "$SCRATCH")" ] || die "scratch folder $SCRATCH is not empty"
fi
case "$SCRATCH/" in "$(cd "$CONTEXT" && pwd -P)"/*) die "scratch folder $SCRATCH is inside the build context" ;; esac
mkdir -p "$SCRATCH/tmp"
note "replaying $DF_NAME stage '$STAGE' in $SCRATCH (TARGETARCH=${BUILD_ARGS[TARGETARCH]:-${PLATFORM_ARGS[TARGETARCH]}})"
replay 0

bin="$(host_path "$(clean_abs "${EXPORTS[0]}")")"
bin="${bin%/}/$BINARY"
[ -x "$bin" ] || die "the stage's output ${EXPORTS[0]} has no executable $BINARY"
# The runtime image has the .NET runtime where this machine's dotnet is; the apphost finds it through DOTNET_ROOT.
DOTNET_ROOT="$(dirname "$(readlink -f "$(command -v dotnet)")")" "$bin" --help < /dev/null \
    || die "$bin --help exited with $?"
if [ "$REMOVE" = 1 ]; then
    echo "docker-replay: published $bin (removed on exit; --keep keeps it)"
else
    echo "docker-replay: published $bin"
fi
