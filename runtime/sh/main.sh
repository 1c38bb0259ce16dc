# shellcheck shell=sh
## main.sh -- wf_main and the EXIT trap. The trap always runs: it records the user's rc and an
## outcome, lets the transport send the outputs away, and writes manifest.json last and
## atomically (tmp file, then mv); the transport then commits it (uploads it, for `url`).
## wf_main MODE [outbox]: MODE is all (the default) | prologue (set up, probe, stage; no manifest
## on success) | epilogue (collect and write the manifest, for a command some other container
## ran). `outbox` is for a platform that keeps the files of a container only when it exits 0 and
## takes them from one directory (a TES server: its outputs are not uploaded after a failed
## executor): the transport links every output, the logs and the manifest under
## $WF_META/outbox, and once the manifest is there the script exits 0, its outcome in the
## manifest.

wf_manifest() {
    _wm=$WF_META/manifest.json
    {
        printf '{\n  "manifest_version": 1,\n  "task": '
        wf_json "$WF_TASK"
        printf ',\n  "status": "%s",\n  "exit_code": %s,\n' "$WF_STATUS" "$1"
        printf '  "rc": %s,\n  "shell": "%s",\n  "mode": "%s",\n' "${WF_RC:-null}" "${WF_SHELL_USED:-none}" "$WF_MODE"
        printf '  "partial": %s,\n  "message": ' "$WF_PARTIAL"
        wf_json "$WF_MESSAGE"
        printf ',\n  "files": ['
        _wm_sep=
        if [ -f "$WF_META/outputs.tsv" ]; then
            while IFS=$WF_TAB read -r _wm_out _wm_type _wm_path _wm_size _wm_sum; do
                [ "$_wm_size" != - ] || _wm_size=null
                if [ "$_wm_sum" = - ]; then _wm_sum=null; else _wm_sum="\"$_wm_sum\""; fi
                printf '%s\n    {"output": ' "$_wm_sep"
                wf_json "$_wm_out"
                printf ', "type": "%s", "path": ' "$_wm_type"
                wf_json "$_wm_path"
                printf ', "size": %s, "sha1": %s}' "$_wm_size" "$_wm_sum"
                _wm_sep=,
            done <"$WF_META/outputs.tsv"
        fi
        printf '\n  ]\n}\n'
    } >"$_wm.tmp" && mv -f "$_wm.tmp" "$_wm"
}

# shellcheck disable=SC2153  # WF_CODE is set by wf_exit_code (lib.sh)
wf_on_exit() {
    _we_rc=$?
    trap - EXIT
    set +e
    if [ -z "$WF_STATUS" ] && [ "$WF_PHASE" = staged ]; then
        exit 0
    fi
    if [ -z "$WF_STATUS" ]; then
        if [ "$WF_PHASE" = finished ]; then
            WF_STATUS=${WF_OUTCOME:-succeeded}
        else
            WF_STATUS=internal_error
            WF_MESSAGE="the wrapper stopped in phase '$WF_PHASE' with status $_we_rc"
            wf_say "error: $WF_MESSAGE"
        fi
    fi
    wf_release_reserve
    # The transport sends the outputs away (the url transport uploads them; a failed upload
    # makes the status upload_failed and leaves the object out of the manifest).
    [ ! -d "$WF_META" ] || wf_transport_unstage
    wf_exit_code "$WF_STATUS"
    _we_code=$WF_CODE
    if [ -d "$WF_META" ]; then
        wf_manifest "$_we_code" || wf_say "error: could not write $WF_META/manifest.json"
        # The manifest is the commit point: the transport publishes it last (if that fails, a
        # task that had failed already keeps its own exit code).
        if ! wf_transport_commit && [ "$_we_code" = 0 ]; then
            wf_exit_code upload_failed
            _we_code=$WF_CODE
        fi
    fi
    # the outcome went with the files to the outbox: the container itself succeeds
    if [ -n "$WF_OUTBOX" ] && [ -n "$WF_DELIVERED" ]; then
        _we_code=0
    fi
    exit "$_we_code"
}

# wf_release_reserve: give the room kept at the start back (no fork: truncation frees it).
wf_release_reserve() {
    if [ -f "$WF_META/reserve" ]; then
        { : >"$WF_META/reserve"; } 2>/dev/null || :
    fi
}

wf_on_signal() {
    if [ -n "$WF_CHILD" ]; then
        kill -"$1" "$WF_CHILD" 2>/dev/null || :
    fi
    wf_stop_watchdog
    wf_fail terminated "stopped by SIG$1"
}

wf_main() {
    WF_MODE=${1:-all}
    case $WF_MODE in
        all | prologue | epilogue) ;;
        *) wf_fail internal_error "unknown mode '$WF_MODE' (all, prologue or epilogue)" ;;
    esac
    case ${2:-} in
        '') ;;
        outbox) WF_OUTBOX=$WF_META/outbox ;;
        *) wf_fail internal_error "unknown delivery '$2' (outbox, or nothing)" ;;
    esac
    trap wf_on_exit EXIT
    trap 'wf_on_signal TERM' TERM
    trap 'wf_on_signal INT' INT
    trap 'wf_on_signal HUP' HUP
    umask 022
    wf_need mkdir "to lay out the task's directories"
    # no fork where the executor made them already (podman, docker: exec/container.py)
    [ -d "$WF_META" ] && [ -d "$WF_WORK" ] && [ -d "$WF_TMP" ] && [ -d "$WF_HOME" ] ||
        mkdir -p "$WF_META" "$WF_WORK" "$WF_TMP" "$WF_HOME" ||
        wf_fail staging_failed "cannot create the task's directories under $WF_ROOT"
    # room kept for collecting and the manifest, should the command fill the disk
    { printf '%65536s' '' >"$WF_META/reserve"; } 2>/dev/null || :
    [ ! -e "$WF_META/manifest.json" ] || rm -f "$WF_META/manifest.json"
    HOME=$WF_HOME
    TMPDIR=$WF_TMP
    export HOME TMPDIR
    WF_PHASE=probe
    wf_probe
    if [ "$WF_MODE" = epilogue ]; then
        WF_SHELL_USED=external
    else
        : >"$WF_STDOUT"
        : >"$WF_STDERR"
        [ "$WF_SHELL" = none ] || wf_plan_command >"$WF_META/command"
        WF_PHASE=stage
        wf_stage
    fi
    if [ "$WF_MODE" = prologue ]; then
        WF_PHASE=staged
        exit 0
    fi
    if [ "$WF_MODE" = all ]; then
        WF_PHASE=run
        wf_run
    fi
    WF_PHASE=collect
    wf_collect
    WF_PHASE=finished
    if [ -n "$WF_OUTCOME" ]; then
        WF_STATUS=$WF_OUTCOME
        WF_MESSAGE=${WF_MESSAGE:-"the command exited with $WF_RC"}
        exit 1
    fi
}
