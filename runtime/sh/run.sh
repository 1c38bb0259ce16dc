# shellcheck shell=sh disable=SC2034
## run.sh -- wf_run: the user's command in the work dir, its environment in a subshell so the
## wrapper keeps its own; records the return code however the command ends. With a time limit
## (WF_TIME_LIMIT, seconds) a watchdog stops the command when it is over, and the outcome says so.

wf_run() {
    _wr_in=${WF_STDIN:-/dev/null}
    # The command runs where the plan says: the work dir, or the path it is also mounted at.
    _wr_dir=${WF_WORK_ALIAS:-$WF_WORK}
    # The command runs in the background so that a signal reaches the wrapper's trap at once.
    if [ "$WF_SHELL_USED" = none ]; then
        (
            cd "$_wr_dir" && wf_plan_env && wf_plan_argv
        ) <"$_wr_in" >"$WF_STDOUT" 2>"$WF_STDERR" &
    else
        (
            cd "$_wr_dir" && wf_plan_env && exec "$WF_SHELL_USED" "$WF_META/command"
        ) <"$_wr_in" >"$WF_STDOUT" 2>"$WF_STDERR" &
    fi
    WF_CHILD=$!
    if [ -n "$WF_TIME_LIMIT" ]; then
        rm -f "$WF_META/timed_out" "$WF_META/command_done"
        wf_watchdog "$WF_CHILD" &
        WF_WATCHDOG=$!
    fi
    set +e
    wait "$WF_CHILD"
    WF_RC=$?
    set -e
    WF_CHILD=
    wf_stop_watchdog
    # a failed command may have filled the disk: look before the kept room is given back
    [ "$WF_RC" = 0 ] || wf_disk_full || :
    wf_release_reserve
    printf '%s\n' "$WF_RC" >"$WF_META/rc"
    if [ -n "$WF_TIME_LIMIT" ] && [ -f "$WF_META/timed_out" ]; then
        WF_OUTCOME=command_failed
        WF_MESSAGE="the command exceeded its time limit of $WF_TIME_LIMIT s and was stopped (exit status $WF_RC)"
    elif wf_code_in "$WF_RC" "$WF_TEMPFAIL_CODES"; then
        WF_OUTCOME=command_tempfail
    elif wf_code_in "$WF_RC" "$WF_PERMFAIL_CODES"; then
        WF_OUTCOME=command_failed
    elif [ "$WF_SUCCESS_CODES" = '*' ] || wf_code_in "$WF_RC" "$WF_SUCCESS_CODES"; then
        WF_OUTCOME=
    else
        WF_OUTCOME=command_failed
    fi
    if [ -n "$WF_OUTCOME" ]; then
        WF_MESSAGE=${WF_MESSAGE:-"the command exited with $WF_RC"}
        [ -z "$WF_FULL" ] || WF_MESSAGE="$WF_MESSAGE; the disk holding $WF_FULL is full"
        wf_say "$WF_MESSAGE"
        WF_PARTIAL=true
    fi
}

# wf_watchdog PID (in the background): after WF_TIME_LIMIT seconds, unless the command is done,
# leave a mark and stop PID (TERM, then KILL after 5 s). TERM ends the watchdog and its sleep; a
# TERM that comes before the trap is set is lost, so the watchdog also looks for the
# command_done mark every 10 s and ends then. Its output goes to /dev/null with `exec` (a
# redirection of the call would keep a saved copy of the script's stdout open).
wf_watchdog() {
    exec >/dev/null 2>&1
    set +e
    _wd_sleep=
    trap 'kill "$_wd_sleep" 2>/dev/null; exit 0' TERM
    _wd_left=$WF_TIME_LIMIT
    while [ "$_wd_left" -gt 0 ]; do
        _wd_step=10
        [ "$_wd_left" -ge 10 ] || _wd_step=$_wd_left
        sleep "$_wd_step" &
        _wd_sleep=$!
        wait "$_wd_sleep" || exit 0
        [ ! -f "$WF_META/command_done" ] || exit 0
        _wd_left=$((_wd_left - _wd_step))
    done
    : >"$WF_META/timed_out"
    kill -TERM "$1" || exit 0
    sleep 5 &
    _wd_sleep=$!
    wait "$_wd_sleep" || exit 0
    [ ! -f "$WF_META/command_done" ] || exit 0
    kill -KILL "$1"
    exit 0
}

# wf_stop_watchdog: the command is done; the watchdog ends (it is not waited for).
wf_stop_watchdog() {
    if [ -n "$WF_WATCHDOG" ]; then
        : >"$WF_META/command_done"
        kill -TERM "$WF_WATCHDOG" 2>/dev/null || :
        WF_WATCHDOG=
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
