# shellcheck shell=sh disable=SC2154,SC2034
## probe.sh -- wf_probe: find out, before any work is done, whether this image can run the plan.

wf_need() {
    # wf_need TOOL WHY
    wf_have "$1" || wf_fail probe_failed "this image has no '$1', which is needed $2; choose an image that provides '$1'"
}

wf_probe() {
    for _wp_t in mkdir cat rm mv; do
        wf_need "$_wp_t" "to lay out the task's directories"
    done
    if [ -s "$WF_META/stage.tsv" ]; then
        case $WF_LINK_MODE in
            symlink | hardlink) wf_need ln "to link inputs (link mode $WF_LINK_MODE; or set link mode 'copy')" ;;
        esac
        if [ "$WF_LINK_MODE" = copy ] || wf_any_writable_input; then
            wf_need cp "to copy inputs"
        fi
    fi
    wf_need wc "to measure output sizes"
    if [ -s "$WF_META/captures.tsv" ]; then
        while IFS=$WF_TAB read -r _wp_kind _wp_rest; do
            case $_wp_kind in
                directory | tree) wf_need find "to list Directory outputs" ;;
            esac
        done <"$WF_META/captures.tsv"
    fi
    if wf_have sha1sum; then
        WF_SHA1=sha1sum
    else
        WF_SHA1=
        wf_say "note: no sha1sum in this image; the manifest records sizes only"
    fi
    case $WF_SHELL in
        bash_or_sh)
            if wf_have bash; then
                WF_SHELL_USED=bash
            else
                WF_SHELL_USED='sh'
                wf_say "note: no bash in this image; running the command under /bin/sh"
            fi
            ;;
        bash) wf_need bash "to run this command (it was declared bash-only)"; WF_SHELL_USED=bash ;;
        sh) WF_SHELL_USED='sh' ;;
        none) WF_SHELL_USED=none ;;
    esac
}

wf_any_writable_input() {
    while IFS=$WF_TAB read -r _gw_kind _gw_mode _gw_rest; do
        [ "$_gw_mode" = w ] && return 0
    done <"$WF_META/stage.tsv"
    return 1
}
