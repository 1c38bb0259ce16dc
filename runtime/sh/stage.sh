# shellcheck shell=sh
## stage.sh -- wf_stage: the transport puts the inputs in place (wf_transport_stage, from
## transport_<name>.sh), then the literal files are written. For the `mounted` transport every
## input is linked or copied from the staging directory the executor mounted read-only (or, with
## no staging dir, from its absolute path), or was put at its path by the executor on a read-only
## mount (a record whose source is its destination): wf_stage_all below. The staging list is data: wf_plan_stage feeds
## it, one tab-separated record a line (kind, r|w, source, destination, size or -), to the reader
## it is given.

wf_stage() {
    case ${WF_WORK_LINK:-0} in
        1) wf_link_work ;;
        2) wf_link_work_to_alias ;;
    esac
    wf_transport_stage
    wf_plan_literals
}

# wf_link_work: where nothing mounts the work dir at WF_WORK_ALIAS (CWL's dockerOutputDirectory),
# a symlink puts it there; an empty directory the image has at that path gives way to it.
wf_link_work() {
    if [ -d "$WF_WORK_ALIAS" ] && [ ! -L "$WF_WORK_ALIAS" ]; then
        rmdir "$WF_WORK_ALIAS" 2>/dev/null ||
            wf_fail staging_failed "the output directory $WF_WORK_ALIAS is a directory of the image that is not empty"
    elif [ -e "$WF_WORK_ALIAS" ] || [ -L "$WF_WORK_ALIAS" ]; then
        wf_fail staging_failed "the output directory $WF_WORK_ALIAS already exists in the image"
    fi
    _lw_parent=${WF_WORK_ALIAS%/*}
    if ! { [ -z "$_lw_parent" ] || mkdir -p "$_lw_parent"; } 2>/dev/null ||
        ! ln -s "$WF_WORK" "$WF_WORK_ALIAS" 2>/dev/null; then
        wf_fail staging_failed "cannot link the work dir at $WF_WORK_ALIAS (the output directory): a read-only image, or a user who may not write there? (the mounted transport mounts it instead)"
    fi
}

# wf_link_work_to_alias: the platform mounted WF_WORK_ALIAS (a volume of its own): the work dir,
# still empty, becomes a symlink to it, so that the command, the inputs staged in the work dir
# and the outputs all live there (collection takes the alias for the work dir).
wf_link_work_to_alias() {
    [ -d "$WF_WORK_ALIAS" ] ||
        wf_fail staging_failed "the platform did not mount the output directory $WF_WORK_ALIAS"
    if ! rmdir "$WF_WORK" 2>/dev/null || ! ln -s "$WF_WORK_ALIAS" "$WF_WORK" 2>/dev/null; then
        wf_fail staging_failed "cannot link the work dir $WF_WORK to the output directory $WF_WORK_ALIAS"
    fi
}

wf_stage_all() {
    while IFS=$WF_TAB read -r _ws_kind _ws_mode _ws_src _ws_dst _ws_size; do
        wf_stage_one "$_ws_kind" "$_ws_mode" "$_ws_src" "$_ws_dst" "$_ws_size"
    done
}

# wf_stage_one KIND r|w SOURCE DESTINATION SIZE: one input from the staging dir (or its absolute
# path) to its destination, linked or copied as the link mode says (copied where writable).
wf_stage_one() {
    if [ "$3" = "$4" ]; then
        # the executor put it there, on a read-only mount (layout.readonly)
        wf_stage_placed "$1" "$4" "$5"
        return 0
    fi
    _ws_src=$3
    _ws_dst=$4
    case $_ws_src in
        /*) ;;
        *) _ws_src=$WF_STAGE_DIR/$_ws_src ;;
    esac
    if [ "$1" = directory ]; then
        [ -d "$_ws_src" ] || wf_fail staging_failed "input directory not found: $_ws_src (for $_ws_dst)"
    else
        [ -f "$_ws_src" ] || wf_fail staging_failed "input file not found: $_ws_src (for $_ws_dst)"
    fi
    [ -d "${_ws_dst%/*}" ] || mkdir -p "${_ws_dst%/*}" ||
        wf_fail staging_failed "cannot create the directory of $_ws_dst"
    if [ -e "$_ws_dst" ] || [ -L "$_ws_dst" ]; then
        case $_ws_dst in
            "$WF_ROOT"/*) wf_fail staging_failed "two inputs are staged at $_ws_dst" ;;
            *) wf_fail staging_failed "cannot stage an input at $_ws_dst: the image has a file there" ;;
        esac
    fi
    _ws_how=$WF_LINK_MODE
    [ "$2" != w ] || _ws_how=copy
    wf_put "$_ws_how" "$1" "$_ws_src" "$_ws_dst" ||
        wf_fail staging_failed "could not $_ws_how $_ws_src to $_ws_dst"
    [ "$1" != file ] || wf_check_size "$_ws_dst" "$5"
}

# wf_stage_placed KIND PATH SIZE: an input the executor placed is there (and whole).
wf_stage_placed() {
    if [ "$1" = directory ]; then
        [ -d "$2" ] || wf_fail staging_failed "input directory not found: $2"
    else
        [ -f "$2" ] || wf_fail staging_failed "input file not found: $2"
        wf_check_size "$2" "$3"
    fi
}

# wf_check_size FILE SIZE: a staged input has SIZE bytes (- : not known, not checked).
wf_check_size() {
    [ "$2" != - ] || return 0
    _cs_got=$(wc -c <"$1") || wf_fail staging_failed "cannot read staged input $1"
    [ "$((_cs_got))" = "$2" ] ||
        wf_fail staging_failed "staged input $1 has $((_cs_got)) bytes, expected $2"
}

# wf_put HOW KIND SRC DST: symlink | hardlink (falling back to a copy) | copy. A symlink in the
# task's area to a source there is relative, so it resolves the same on the host. A source that
# is itself a symlink (miniwdl's out/ links) is followed: its target is what is put in place.
wf_put() {
    case $1 in
        symlink)
            case $3:$4 in
                "$WF_ROOT"/*:"$WF_ROOT"/*)
                    wf_relative "$3" "$4"
                    ln -s "$WF_REL" "$4"
                    ;;
                *) ln -s "$3" "$4" ;;
            esac
            ;;
        hardlink)
            if [ "$2" = directory ]; then
                cp -RH "$3" "$4"
            elif [ -h "$3" ]; then
                cp "$3" "$4" # ln would link the symlink itself, which may be relative
            else
                ln "$3" "$4" 2>/dev/null || cp "$3" "$4"
            fi
            ;;
        *)
            if [ "$2" = directory ]; then
                cp -RH ${WF_REFLINK:+"$WF_REFLINK"} "$3" "$4"
            else
                cp ${WF_REFLINK:+"$WF_REFLINK"} "$3" "$4"
            fi
            chmod u+w "$4" 2>/dev/null || :
            ;;
    esac
}

# wf_relative SRC DST: set WF_REL to SRC as seen from the directory of DST (both under WF_ROOT).
wf_relative() {
    WF_REL=
    _rl_d=${2%/*}
    _rl_d=${_rl_d#"$WF_ROOT"}
    while [ -n "$_rl_d" ]; do
        WF_REL=../$WF_REL
        _rl_d=${_rl_d%/*}
    done
    WF_REL=$WF_REL${1#"$WF_ROOT"/}
}

# wf_literal PATH KIND MODE FORMAT: create a literal file (FORMAT is printf-escaped data: every
# '%' and '\' doubled, other bytes outside printable text as \ooo) or an empty directory.
wf_literal() {
    [ -d "${1%/*}" ] || mkdir -p "${1%/*}" || wf_fail staging_failed "cannot create the directory of $1"
    if [ "$2" = directory ]; then
        mkdir -p "$1" || wf_fail staging_failed "cannot create directory $1"
        return
    fi
    # shellcheck disable=SC2059  # the format is data escaped for printf, by design
    printf "$4" >"$1" || wf_fail staging_failed "cannot write $1"
    [ "$3" != x ] || chmod +x "$1"
}
