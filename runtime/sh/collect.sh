# shellcheck shell=sh
## collect.sh -- wf_collect: find every declared output by its capture rule, refuse anything that
## resolves outside the task's area, and record path, size and checksum in outputs.tsv (the
## manifest is made from it, last). Capture rules are data: wf_plan_captures feeds them, one
## tab-separated record a line (kind, output, required 1|0, files-only 1|0, exclude or -, pattern
## or -), to the reader it is given.

# shellcheck disable=SC2153  # WF_REAL is set by wf_realpath (lib.sh)
wf_collect() {
    LC_ALL=C
    export LC_ALL
    wf_realpath "$WF_ROOT" || wf_fail collection_failed "cannot resolve $WF_ROOT"
    WF_ROOT_REAL=$WF_REAL
    WF_STAGE_REAL=
    if [ -n "$WF_STAGE_DIR" ] && [ -d "$WF_STAGE_DIR" ] && wf_realpath "$WF_STAGE_DIR"; then
        WF_STAGE_REAL=$WF_REAL
    fi
    # the work dir may be a link to where the platform mounted it (WF_WORK_LINK=2): in the area
    WF_WORK_REAL=
    if [ -L "$WF_WORK" ] && wf_realpath "$WF_WORK"; then
        WF_WORK_REAL=$WF_REAL
    fi
    : >"$WF_META/outputs.tsv"
    wf_plan_captures wf_collect_all
}

wf_collect_all() {
    while IFS=$WF_TAB read -r _wc_kind _wc_name _wc_req _wc_files _wc_excl _wc_pat; do
        case $_wc_kind in
            path) wf_cap_path "$_wc_name" "$_wc_req" "$_wc_pat" ;;
            glob) wf_cap_glob "$_wc_name" "$_wc_files" "$_wc_pat" ;;
            directory) wf_cap_dir "$_wc_name" "$_wc_req" "$_wc_pat" ;;
            tree)
                wf_abs "$_wc_pat"
                wf_cap_tree "$_wc_name" "$WF_ABS" "$_wc_excl"
                ;;
            stdout) wf_record "$_wc_name" "$WF_STDOUT" ;;
            stderr) wf_record "$_wc_name" "$WF_STDERR" ;;
            cwl_output_json)
                # the CWL override may name any file of the output dir: capture all of it
                [ ! -f "$WF_WORK/cwl.output.json" ] || wf_cap_tree "$_wc_name" "$WF_WORK" -
                ;;
            *) wf_fail internal_error "unknown capture kind $_wc_kind" ;;
        esac
    done
}

# wf_abs PATH: set WF_ABS to PATH made absolute against the work dir.
wf_abs() {
    case $1 in
        /*) WF_ABS=$1 ;;
        *) WF_ABS=$WF_WORK/$1 ;;
    esac
}

wf_cap_path() {
    wf_abs "$3"
    if [ -f "$WF_ABS" ]; then
        wf_record "$1" "$WF_ABS"
    elif [ -d "$WF_ABS" ]; then
        wf_cap_tree "$1" "$WF_ABS"
    elif [ "$2" = 1 ] && [ "$WF_PARTIAL" = false ]; then
        wf_fail collection_failed "output '$1': '$3' was not found in the work dir $WF_WORK"
    fi
}

wf_cap_dir() {
    wf_abs "$3"
    if [ -d "$WF_ABS" ]; then
        wf_cap_tree "$1" "$WF_ABS"
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
## find lists a name a line: a name with a newline would read as two names (or as another path),
## so such a name is refused first, by name (wf_record refuses the other control characters).
## EXCLUDE is pruned from both listings, found relative to DIR so that DIR is no pattern.
wf_cap_tree() {
    _ct_dir=${2%/.}
    _ct_x=-
    [ "${3:--}" = - ] || _ct_x=$WF_WORK/$3
    wf_record "$1" "$_ct_dir"
    _ct_h=
    if [ "$_ct_dir" = "$WF_WORK" ] && [ -n "$WF_WORK_REAL" ]; then
        _ct_h=-H # the work dir is a link to the platform's volume
    fi
    case $_ct_x in
        "$_ct_dir"/*)
            _ct_p=./${_ct_x#"$_ct_dir"/}
            _ct_nl=$(cd "$_ct_dir" && find . -path "$_ct_p" -prune -o -name "*$WF_NL*" -print &&
                find . -path "$_ct_p" -prune -o -print >"$WF_META/find.txt")
            ;;
        *) _ct_nl=$(find ${_ct_h:+"$_ct_h"} "$_ct_dir" -name "*$WF_NL*" && find ${_ct_h:+"$_ct_h"} "$_ct_dir" >"$WF_META/find.txt") ;;
    esac || wf_fail collection_failed "cannot list $_ct_dir"
    [ -z "$_ct_nl" ] || wf_fail collection_failed "output '$1': a name under $_ct_dir has a newline: ${_ct_nl#./}"
    while IFS= read -r _ct_f; do
        case $_ct_f in
            ./*) _ct_f=$_ct_dir/${_ct_f#./} ;;
        esac
        case $_ct_f in
            . | "$_ct_dir" | "$WF_META" | "$WF_META"/* | "$_ct_x" | "$_ct_x"/*) continue ;;
        esac
        wf_record "$1" "$_ct_f"
    done <"$WF_META/find.txt"
}

# wf_record NAME PATH: one outputs.tsv line: name, type, path (relative to the root), size, sha1.
wf_record() {
    wf_realpath "$2" ||
        wf_fail collection_failed "output '$1': cannot resolve $2 (a dangling or looping symlink?)"
    _rec_real=$WF_REAL
    if ! wf_inside "$_rec_real" "$WF_ROOT_REAL" && ! wf_in_work_real "$_rec_real" &&
        ! wf_staged_source "$_rec_real"; then
        wf_fail collection_failed "output '$1': $2 resolves to $_rec_real, outside the task's directory"
    fi
    case $2 in
        "$WF_ROOT"/*) _rec_rel=${2#"$WF_ROOT"/} ;;
        *) wf_fail collection_failed "output '$1': $2 is outside $WF_ROOT" ;;
    esac
    case $_rec_rel in
        *[[:cntrl:]]*) wf_fail collection_failed "output '$1': the name of $2 has a control character" ;;
    esac
    [ ! -L "$2" ] || wf_link_within "$2" "$_rec_real"
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

# wf_in_work_real REAL: true if REAL is under the work dir where the platform mounted it.
wf_in_work_real() {
    [ -n "$WF_WORK_REAL" ] && wf_inside "$1" "$WF_WORK_REAL"
}

# wf_link_within LINK REAL: an output that is a symlink to REAL inside the task's directory
# (say to /mnt/wfr/work/a.txt) becomes a relative link to it, which resolves the same wherever
# the directory is seen (the host has it elsewhere than the container).
wf_link_within() {
    wf_inside "$2" "$WF_ROOT_REAL" || return 0
    _lw_to=$WF_ROOT/${2#"$WF_ROOT_REAL"/}
    [ "$2" != "$WF_ROOT_REAL" ] || _lw_to=$WF_ROOT
    wf_relative "$_lw_to" "$1"
    [ -n "$WF_REL" ] || return 0
    if ! { rm -f "$1" && ln -s "$WF_REL" "$1"; }; then
        wf_fail collection_failed "cannot make the symlink $1 relative (to $_lw_to)"
    fi
}

# wf_staged_source REAL: true if REAL is (under) a staged input, e.g. an output that is an input.
wf_staged_source() {
    if [ -n "$WF_STAGE_REAL" ] && wf_inside "$1" "$WF_STAGE_REAL"; then
        return 0
    fi
    WF_FOUND=$1
    wf_plan_stage wf_find_source
    [ -z "$WF_FOUND" ]
}

wf_find_source() {
    _fs_target=$WF_FOUND
    while IFS=$WF_TAB read -r _fs_kind _fs_mode _fs_src _fs_rest; do
        case $_fs_src in /*) ;; *) continue ;; esac
        wf_realpath "$_fs_src" || continue
        if wf_inside "$_fs_target" "$WF_REAL"; then
            WF_FOUND=
            return 0
        fi
    done
}
