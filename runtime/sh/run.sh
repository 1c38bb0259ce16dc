# shellcheck shell=sh disable=SC2154,SC2034
## run.sh -- wf_run: the user's command in the work dir, its environment in a subshell so the
## wrapper keeps its own; records the return code however the command ends.

wf_run() {
    _wr_in=${WF_STDIN:-/dev/null}
    # The command runs in the background so that a signal reaches the wrapper's trap at once.
    if [ "$WF_SHELL_USED" = none ]; then
        (
            cd "$WF_WORK" && wf_plan_env && wf_plan_argv
        ) <"$_wr_in" >"$WF_STDOUT" 2>"$WF_STDERR" &
    else
        (
            cd "$WF_WORK" && wf_plan_env && exec "$WF_SHELL_USED" "$WF_META/command"
        ) <"$_wr_in" >"$WF_STDOUT" 2>"$WF_STDERR" &
    fi
    WF_CHILD=$!
    set +e
    wait "$WF_CHILD"
    WF_RC=$?
    set -e
    WF_CHILD=
    printf '%s\n' "$WF_RC" >"$WF_META/rc"
    if wf_code_in "$WF_RC" "$WF_TEMPFAIL_CODES"; then
        WF_OUTCOME=command_tempfail
    elif wf_code_in "$WF_RC" "$WF_PERMFAIL_CODES"; then
        WF_OUTCOME=command_failed
    elif [ "$WF_SUCCESS_CODES" = '*' ] || wf_code_in "$WF_RC" "$WF_SUCCESS_CODES"; then
        WF_OUTCOME=
    else
        WF_OUTCOME=command_failed
    fi
    if [ -n "$WF_OUTCOME" ]; then
        wf_say "the command exited with $WF_RC"
        WF_PARTIAL=true
    fi
}

wf_code_in() {
    for _wc in $2; do
        [ "$_wc" != "$1" ] || return 0
    done
    return 1
}

wf_setenv() {
    export "$1=$2"
}
