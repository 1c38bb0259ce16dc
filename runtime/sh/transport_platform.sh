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
## them: a TES server uploads the files of a directory one after the other). Where the image
## has tar, the manifest, an index of the outbox (outbox.list: every file put in it, by REL,
## then `tar<TAB>./REL` for each file the tar holds) and the small files (WF_BUNDLE_FILE_MAX
## each, WF_BUNDLE_MAX and WF_BUNDLE_FILES_MAX in all) then go as one WF_META/bundle.tar
## instead (each file costs a TES server a PUT, and Funnel a listing of the bucket): the
## driver reads its members by name, and asks the store only for what the index has and the
## tar does not (runtime/transport/fetch.py open_bundle). Without tar, or when tar fails, they
## go one by one.

WF_BUNDLE_FILE_MAX=1048576
WF_BUNDLE_MAX=16777216
WF_BUNDLE_FILES_MAX=1000

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
    # only what this script puts in the outbox goes to the platform
    [ ! -e "$WF_OUTBOX" ] || rm -rf "$WF_OUTBOX"
    mkdir -p "$WF_OUTBOX/${WF_META#"$WF_ROOT"/}" || {
        wf_say "error: cannot create $WF_OUTBOX"
        return 0
    }
    # with tar, the bundle carries an index of the outbox: the driver asks for nothing else
    WF_OUTBOX_INDEX=
    ! command -v tar >/dev/null 2>&1 || WF_OUTBOX_INDEX=$WF_OUTBOX/${WF_META#"$WF_ROOT"/}/outbox.list
    # an empty file stays out (the driver makes it): each file costs the platform an upload
    for _pu_log in "$WF_STDOUT" "$WF_STDERR"; do
        if [ -s "$_pu_log" ] && wf_outbox "${_pu_log#"$WF_ROOT"/}" && [ -n "$_po_new" ]; then
            _pu_n=$(wc -c <"$_pu_log") && wf_bundle_add "${_pu_log#"$WF_ROOT"/}" "${_pu_n##*[!0-9]}"
        fi
    done
    [ -f "$WF_META/outputs.tsv" ] || return 0
    # the manifest lists what went in; an output that could not makes the outcome upload_failed
    _pu_fail=
    while IFS=$WF_TAB read -r _pu_name _pu_type _pu_path _pu_size _pu_rest; do
        if [ "$_pu_type" = file ] && [ "$_pu_size" != 0 ]; then
            if ! wf_outbox "$_pu_path"; then
                _pu_fail=$_pu_path
                continue
            fi
            [ -z "$_po_new" ] || wf_bundle_add "$_pu_path" "$_pu_size"
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
        wf_bundle "$_pc_rel"
        WF_DELIVERED=1
    else
        return 1
    fi
}

# wf_bundle_add REL SIZE: REL, just put in the outbox, goes in the bundle if it is small, its
# name fits a tar header whatever the tar, and it has no backslash (GNU tar reads escapes in
# the names it is given, and busybox tar has no --no-unquote).
wf_bundle_add() {
    case $1 in *\\*) return 0 ;; esac
    [ "$2" -le "$WF_BUNDLE_FILE_MAX" ] 2>/dev/null && [ "${#1}" -lt 100 ] || return 0
    printf '%s\t%s\n' "$2" "$1" >>"$WF_META/bundle.list"
}

# wf_bundle MANIFEST_REL: the manifest, the outbox's index and the files of bundle.list, up to
# the limits, replaced in the outbox by one tar of them (at the manifest's side); nothing
# changes but the index leaving if tar fails.
wf_bundle() {
    [ -n "$WF_OUTBOX_INDEX" ] || return 0
    _pb_n=0 _pb_total=0
    set -- "./$1" "./${WF_OUTBOX_INDEX#"$WF_OUTBOX"/}"
    [ ! -f "$WF_META/bundle.list" ] || while IFS=$WF_TAB read -r _pb_size _pb_rel; do
        [ "$_pb_n" -lt "$WF_BUNDLE_FILES_MAX" ] || break
        [ $((_pb_total + _pb_size)) -le "$WF_BUNDLE_MAX" ] || continue
        _pb_total=$((_pb_total + _pb_size)) _pb_n=$((_pb_n + 1))
        set -- "$@" "./$_pb_rel"
    done <"$WF_META/bundle.list"
    # the index says what the tar holds (the driver reads it again if it holds less)
    printf 'tar\t%s\n' "$@" >>"$WF_OUTBOX_INDEX"
    # the manifest went in last: the tar goes in whole (a rename) before its members leave
    if tar -cf "$WF_META/bundle.tar" -C "$WF_OUTBOX" "$@" 2>"$WF_META/bundle.err" &&
        mv -f "$WF_META/bundle.tar" "$WF_OUTBOX/${1%/*}/bundle.tar"; then
        (cd "$WF_OUTBOX" && rm -f "$@") || :
    else
        wf_say "note: the outputs go one by one (tar: $(cat "$WF_META/bundle.err"))"
        rm -f "$WF_META/bundle.tar" "$WF_OUTBOX_INDEX"
    fi
}

# wf_outbox REL: the file WF_ROOT/REL at WF_OUTBOX/REL (and in the outbox's index): a hard
# link, or a copy (of a symlink, or of an input the platform mounted from elsewhere); returns 1
# if neither works. _po_new is empty if it was there already.
wf_outbox() {
    _po_dst=$WF_OUTBOX/$1 _po_new=
    [ ! -e "$_po_dst" ] || return 0
    [ -d "${_po_dst%/*}" ] || mkdir -p "${_po_dst%/*}" || return 1
    if [ -L "$WF_ROOT/$1" ] || ! ln "$WF_ROOT/$1" "$_po_dst" 2>/dev/null; then
        cp "$WF_ROOT/$1" "$_po_dst" || {
            wf_say "error: cannot hand $WF_ROOT/$1 to the platform"
            rm -f "$_po_dst" # no part of it goes (nor stays in the store: it is not in the index)
            return 1
        }
    fi
    _po_new=1
    [ -z "$WF_OUTBOX_INDEX" ] || printf '%s\n' "$1" >>"$WF_OUTBOX_INDEX"
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
