# shellcheck shell=sh disable=SC2034  # WF_PARTIAL, WF_DELIVERED: read by main.sh
## transport_platform.sh -- the `platform` transport's hooks: the platform (a TES server, a
## Kubernetes init container) put every input in place before the script started, and takes
## the outputs after it ends. An input whose source is a URL or an absolute path is at its own
## path already (the script only checks it, with its size when known); one whose source is a
## name is in the staging dir WF_STAGE_DIR, where the platform could mount it (a name its
## command line takes, an input to be made writable), and the script links or copies it to its
## path as the mounted transport does (wf_stage_one). With an outbox (wf_main MODE outbox), every
## file the manifest lists, the logs and the manifest itself are linked under WF_OUTBOX at
## their paths relative to WF_ROOT, for a platform that takes one directory as the outputs;
## empty files but the manifest stay out (the manifest says they are empty, the driver makes
## them: a TES server uploads the files of a directory one after the other).

wf_transport_probe() {
    if [ -n "$WF_OUTBOX" ]; then
        wf_need ln "to hand the outputs to the platform (in $WF_OUTBOX)"
        wf_need cp "to hand the outputs to the platform (in $WF_OUTBOX)"
    fi
}

wf_transport_stage() {
    wf_plan_stage wf_stage_check
}

wf_transport_unstage() {
    [ -n "$WF_OUTBOX" ] || return 0
    [ "$WF_STATUS" != terminated ] || return 0
    mkdir -p "$WF_OUTBOX" || {
        wf_say "error: cannot create $WF_OUTBOX"
        return 0
    }
    # an empty file stays out (the driver makes it): each file costs the platform an upload
    [ ! -s "$WF_STDOUT" ] || wf_outbox "${WF_STDOUT#"$WF_ROOT"/}" || :
    [ ! -s "$WF_STDERR" ] || wf_outbox "${WF_STDERR#"$WF_ROOT"/}" || :
    [ -f "$WF_META/outputs.tsv" ] || return 0
    # the manifest lists what went in; an output that could not makes the outcome upload_failed
    _pu_fail=
    while IFS=$WF_TAB read -r _pu_name _pu_type _pu_path _pu_size _pu_rest; do
        if [ "$_pu_type" = file ] && [ "$_pu_size" != 0 ] && ! wf_outbox "$_pu_path"; then
            _pu_fail=$_pu_path
            continue
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$_pu_name" "$_pu_type" "$_pu_path" "$_pu_size" "$_pu_rest"
    done <"$WF_META/outputs.tsv" >"$WF_META/outputs.box"
    mv -f "$WF_META/outputs.box" "$WF_META/outputs.tsv"
    [ -n "$_pu_fail" ] || return 0
    WF_PARTIAL=true
    if [ "$WF_STATUS" = succeeded ]; then
        WF_STATUS=upload_failed
        WF_MESSAGE="could not hand the output $_pu_fail to the platform"
    else
        WF_MESSAGE="$WF_MESSAGE; and could not hand the output $_pu_fail to the platform"
    fi
}

wf_transport_commit() {
    [ -n "$WF_OUTBOX" ] || return 0
    [ "$WF_STATUS" != terminated ] || return 0
    _pc_rel=${WF_META#"$WF_ROOT"/}/manifest.json
    # the manifest goes in last, and only if every file it lists went in before it
    if wf_outbox "$_pc_rel"; then
        WF_DELIVERED=1
    else
        return 1
    fi
}

# wf_outbox REL: the file WF_ROOT/REL at WF_OUTBOX/REL: a hard link, or a copy (of a symlink,
# or of an input the platform mounted from elsewhere); returns 1 if neither works.
wf_outbox() {
    _po_dst=$WF_OUTBOX/$1
    [ ! -e "$_po_dst" ] || return 0
    [ -d "${_po_dst%/*}" ] || mkdir -p "${_po_dst%/*}" || return 1
    if [ ! -L "$WF_ROOT/$1" ] && ln "$WF_ROOT/$1" "$_po_dst" 2>/dev/null; then
        return 0
    fi
    cp "$WF_ROOT/$1" "$_po_dst" || {
        wf_say "error: cannot hand $WF_ROOT/$1 to the platform"
        return 1
    }
}

wf_stage_check() {
    while IFS=$WF_TAB read -r _wk_kind _wk_mode _wk_src _wk_dst _wk_size _wk_rest; do
        case $_wk_src in
            /* | *://*) ;;
            *)
                wf_stage_one "$_wk_kind" "$_wk_mode" "$_wk_src" "$_wk_dst" "$_wk_size"
                continue
                ;;
        esac
        if [ "$_wk_kind" = directory ]; then
            [ -d "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage the directory $_wk_dst (from $_wk_src)"
        else
            [ -f "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage $_wk_dst (from $_wk_src)"
            wf_check_size "$_wk_dst" "$_wk_size"
        fi
    done
}
