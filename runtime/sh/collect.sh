# shellcheck shell=sh disable=SC2154
## collect.sh -- wf_collect: find every declared output by its capture rule, refuse anything that
## resolves outside the task's area, and record path, size and checksum in outputs.tsv (the
## manifest is made from it, last).

wf_collect() {
    LC_ALL=C
    export LC_ALL
    WF_ROOT_REAL=$(wf_realpath "$WF_ROOT") || wf_fail collection_failed "cannot resolve $WF_ROOT"
    WF_STAGE_REAL=
    if [ -n "$WF_STAGE_DIR" ] && [ -d "$WF_STAGE_DIR" ]; then
        WF_STAGE_REAL=$(wf_realpath "$WF_STAGE_DIR") || WF_STAGE_REAL=
    fi
    : >"$WF_META/outputs.tsv"
    while IFS=$WF_TAB read -r _wc_kind _wc_name _wc_req _wc_files _wc_excl _wc_pat; do
        case $_wc_kind in
            path) wf_cap_path "$_wc_name" "$_wc_req" "$_wc_pat" ;;
            glob) wf_cap_glob "$_wc_name" "$_wc_files" "$_wc_pat" ;;
            directory) wf_cap_dir "$_wc_name" "$_wc_req" "$_wc_pat" ;;
            tree) wf_cap_tree "$_wc_name" "$(wf_abs "$_wc_pat")" "$_wc_excl" ;;
            stdout) wf_record "$_wc_name" "$WF_STDOUT" ;;
            stderr) wf_record "$_wc_name" "$WF_STDERR" ;;
            cwl_output_json) wf_cap_path "$_wc_name" 0 cwl.output.json ;;
            *) wf_fail internal_error "unknown capture kind $_wc_kind" ;;
        esac
    done <"$WF_META/captures.tsv"
}

wf_abs() {
    case $1 in
        /*) printf '%s' "$1" ;;
        *) printf '%s/%s' "$WF_WORK" "$1" ;;
    esac
}

wf_cap_path() {
    _cp_p=$(wf_abs "$3")
    if [ -f "$_cp_p" ]; then
        wf_record "$1" "$_cp_p"
    elif [ -d "$_cp_p" ]; then
        wf_cap_tree "$1" "$_cp_p"
    elif [ "$2" = 1 ] && [ "$WF_PARTIAL" = false ]; then
        wf_fail collection_failed "output '$1': '$3' was not found in the work dir $WF_WORK"
    fi
}

wf_cap_dir() {
    _cd_p=$(wf_abs "$3")
    if [ -d "$_cd_p" ]; then
        wf_cap_tree "$1" "$_cd_p"
    elif [ "$2" = 1 ] && [ "$WF_PARTIAL" = false ]; then
        wf_fail collection_failed "output '$1': directory '$3' was not found in the work dir $WF_WORK"
    fi
}

# wf_cap_glob NAME FILES_ONLY PATTERN: expand PATTERN in the work dir, sorted, no field splitting.
wf_cap_glob() {
    cd "$WF_WORK" || wf_fail collection_failed "cannot enter $WF_WORK"
    _cg_ifs=$IFS
    IFS=
    # shellcheck disable=SC2086  # the pattern is expanded on purpose (IFS is empty: no splitting)
    set -- "$1" "$2" $3
    IFS=$_cg_ifs
    _cg_name=$1
    _cg_files=$2
    shift 2
    for _cg_f in "$@"; do
        if [ -f "$_cg_f" ]; then
            wf_record "$_cg_name" "$WF_WORK/$_cg_f"
        elif [ -d "$_cg_f" ] && [ "$_cg_files" = 0 ]; then
            wf_cap_tree "$_cg_name" "$WF_WORK/$_cg_f"
        fi
    done
}

# wf_cap_tree NAME DIR [EXCLUDE]: DIR and everything under it, but the work-relative EXCLUDE.
wf_cap_tree() {
    _ct_dir=${2%/.}
    _ct_x=-
    [ "${3:--}" = - ] || _ct_x=$WF_WORK/$3
    wf_record "$1" "$_ct_dir"
    find "$_ct_dir" >"$WF_META/find.txt" || wf_fail collection_failed "cannot list $_ct_dir"
    while IFS= read -r _ct_f; do
        case $_ct_f in
            "$_ct_dir" | "$WF_META" | "$WF_META"/* | "$_ct_x" | "$_ct_x"/*) continue ;;
        esac
        wf_record "$1" "$_ct_f"
    done <"$WF_META/find.txt"
}

# wf_record NAME PATH: one outputs.tsv line: name, type, path (relative to the root), size, sha1.
wf_record() {
    _rec_real=$(wf_realpath "$2") ||
        wf_fail collection_failed "output '$1': cannot resolve $2 (a dangling or looping symlink?)"
    if ! wf_inside "$_rec_real" "$WF_ROOT_REAL" && ! wf_staged_source "$_rec_real"; then
        wf_fail collection_failed "output '$1': $2 resolves to $_rec_real, outside the task's directory"
    fi
    case $2 in
        "$WF_ROOT"/*) _rec_rel=${2#"$WF_ROOT"/} ;;
        *) wf_fail collection_failed "output '$1': $2 is outside $WF_ROOT" ;;
    esac
    case $_rec_rel in
        *"$WF_TAB"* | *[[:cntrl:]]*) wf_fail collection_failed "output '$1': the name of $2 has a control character" ;;
    esac
    if [ -d "$_rec_real" ]; then
        printf '%s\tdirectory\t%s\t-\t-\n' "$1" "$_rec_rel" >>"$WF_META/outputs.tsv"
        return 0
    fi
    _rec_size=$(wc -c <"$2") || wf_fail collection_failed "output '$1': cannot read $2"
    _rec_sum=-
    if [ -n "$WF_SHA1" ]; then
        _rec_sum=$($WF_SHA1 <"$2") || wf_fail collection_failed "output '$1': cannot checksum $2"
        _rec_sum=${_rec_sum%% *}
    fi
    printf '%s\tfile\t%s\t%s\t%s\n' "$1" "$_rec_rel" "$((_rec_size))" "$_rec_sum" >>"$WF_META/outputs.tsv"
}

# wf_staged_source REAL: true if REAL is (under) a staged input, e.g. an output that is an input.
wf_staged_source() {
    if [ -n "$WF_STAGE_REAL" ] && wf_inside "$1" "$WF_STAGE_REAL"; then
        return 0
    fi
    [ -s "$WF_META/stage.tsv" ] || return 1
    while IFS=$WF_TAB read -r _ss_kind _ss_mode _ss_src _ss_rest; do
        case $_ss_src in /*) ;; *) continue ;; esac
        _ss_real=$(wf_realpath "$_ss_src") || continue
        wf_inside "$1" "$_ss_real" && return 0
    done <"$WF_META/stage.tsv"
    return 1
}
