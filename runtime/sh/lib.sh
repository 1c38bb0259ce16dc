# shellcheck shell=sh disable=SC2034
## lib.sh -- small helpers shared by every phase, and the globals the phases share (hence SC2034:
## they are read in the other files). Plan values (WF_*) are defined by the data section the
## emitter writes above this file (contract.sh lists them). Helpers that compute a value set a variable
## (WF_REAL, ...) instead of printing it: a command substitution costs a fork.

WF_TAB='	'
WF_NL='
'
WF_PHASE=setup
WF_MODE=all
WF_STATUS=
WF_MESSAGE=
WF_RC=
WF_SHELL_USED=
WF_PARTIAL=false
WF_OUTCOME=
WF_CHILD=
WF_WATCHDOG=
WF_SHA1=
WF_REAL=
WF_CODE=
WF_REFLINK=
WF_FULL=
## wf_main's second word `outbox`: the outputs, the logs and the manifest are also linked under
## WF_OUTBOX for a platform that takes them from one directory, and the transport sets
## WF_DELIVERED once the manifest is there (the script then exits 0: see main.sh)
WF_OUTBOX=
WF_DELIVERED=

wf_say() {
    printf 'wfrewrite[%s] %s\n' "$WF_TASK" "$*" >&2
}

# wf_exit_code STATUS: set WF_CODE to the script's exit code for the outcome STATUS. The one
# table of outcomes and codes (wfrewrite.compiler.emit.contract.EXIT_CODES is held to it).
wf_exit_code() {
    case $1 in
        succeeded) WF_CODE=0 ;;
        probe_failed) WF_CODE=80 ;;
        staging_failed) WF_CODE=81 ;;
        command_failed) WF_CODE=82 ;;
        command_tempfail) WF_CODE=83 ;;
        collection_failed) WF_CODE=84 ;;
        terminated) WF_CODE=86 ;;
        upload_failed) WF_CODE=87 ;;
        *) WF_CODE=85 ;; # internal_error
    esac
}

# wf_fail STATUS MESSAGE: record the outcome and leave; the EXIT trap writes the manifest. A
# failure to stage, collect or upload on a full disk says so.
wf_fail() {
    WF_STATUS=$1
    WF_MESSAGE=$2
    case $1 in
        staging_failed | collection_failed | upload_failed)
            ! wf_disk_full || WF_MESSAGE="$2; the disk holding $WF_FULL is full"
            ;;
    esac
    [ "$1" != collection_failed ] || WF_PARTIAL=true
    wf_say "error: $WF_MESSAGE"
    wf_exit_code "$1"
    exit "$WF_CODE"
}

# wf_disk_full: true if the task's area has no room left (WF_FULL: the directory). A file can
# be made there but 4 KiB cannot be written to it (a read-only directory is not "full").
wf_disk_full() {
    for _df_d in "$WF_WORK" "$WF_META"; do
        if [ ! -d "$_df_d" ] || ! { : >"$_df_d/.wfr-room"; } 2>/dev/null; then
            continue
        fi
        if ! { printf '%4096s' '' >"$_df_d/.wfr-room"; } 2>/dev/null; then
            rm -f "$_df_d/.wfr-room" 2>/dev/null || :
            WF_FULL=$_df_d
            return 0
        fi
        rm -f "$_df_d/.wfr-room" 2>/dev/null || :
    done
    return 1
}

wf_have() {
    command -v "$1" >/dev/null 2>&1
}

# wf_need TOOL WHY: fail the probe unless TOOL is on PATH.
wf_need() {
    wf_have "$1" || wf_fail probe_failed "this image has no '$1', which is needed $2; choose an image that provides '$1'"
}

# wf_json STRING: print STRING as a JSON string literal (forks only if it needs escaping).
wf_json() {
    case $1 in
        *[\\\"]* | *[[:cntrl:]]*)
            printf '"'
            printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
            printf '"'
            ;;
        *) printf '"%s"' "$1" ;;
    esac
}

# wf_realpath PATH: set WF_REAL to the physical path of the existing absolute PATH (symlinks
# resolved), without a subshell; returns 1 if it does not resolve.
wf_realpath() {
    _rp_p=$1
    _rp_n=0
    while [ -L "$_rp_p" ]; do
        _rp_n=$((_rp_n + 1))
        [ "$_rp_n" -le 40 ] || return 1
        wf_have readlink || return 1
        _rp_t=$(readlink "$_rp_p") || return 1
        case $_rp_t in
            /*) _rp_p=$_rp_t ;;
            *) _rp_p=${_rp_p%/*}/$_rp_t ;;
        esac
    done
    [ -e "$_rp_p" ] || return 1
    _rp_here=$PWD
    if [ -d "$_rp_p" ]; then
        cd -P -- "$_rp_p" 2>/dev/null || return 1
        WF_REAL=$PWD
    else
        cd -P -- "${_rp_p%/*}/" 2>/dev/null || return 1
        WF_REAL=${PWD%/}/${_rp_p##*/}
    fi
    cd -- "$_rp_here" || return 1
}

# wf_inside PATH DIR: true if the physical PATH is DIR or lies under it (DIR physical already).
wf_inside() {
    case $1 in
        "$2" | "$2"/*) return 0 ;;
    esac
    [ "$2" = / ]
}
