# shellcheck shell=sh disable=SC2154,SC2034
## lib.sh -- small helpers shared by every phase. Plan values (WF_*) are defined by the data
## section the emitter writes above this file. Helpers that compute a value set a variable
## (WF_REAL, ...) instead of printing it: a command substitution costs a fork.

# Exit codes of the script, one per outcome (kept in step with wfrewrite.runtime.manifest.EXIT_CODES).
WF_EXIT_PROBE=80
WF_EXIT_STAGE=81
WF_EXIT_COMMAND=82
WF_EXIT_TEMPFAIL=83
WF_EXIT_COLLECT=84
WF_EXIT_INTERNAL=85
WF_EXIT_TERMINATED=86
WF_EXIT_UPLOAD=87

WF_TAB='	'
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

wf_say() {
    printf 'wfrewrite[%s] %s\n' "$WF_TASK" "$*" >&2
}

# wf_fail STATUS MESSAGE: record the outcome and leave; the EXIT trap writes the manifest.
wf_fail() {
    WF_STATUS=$1
    WF_MESSAGE=$2
    [ "$1" != collection_failed ] || WF_PARTIAL=true
    wf_say "error: $2"
    case $1 in
        probe_failed) exit "$WF_EXIT_PROBE" ;;
        staging_failed) exit "$WF_EXIT_STAGE" ;;
        command_failed) exit "$WF_EXIT_COMMAND" ;;
        command_tempfail) exit "$WF_EXIT_TEMPFAIL" ;;
        collection_failed) exit "$WF_EXIT_COLLECT" ;;
        terminated) exit "$WF_EXIT_TERMINATED" ;;
        upload_failed) exit "$WF_EXIT_UPLOAD" ;;
        *) exit "$WF_EXIT_INTERNAL" ;;
    esac
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
