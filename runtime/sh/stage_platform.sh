# shellcheck shell=sh disable=SC2154
## stage_platform.sh -- wf_stage for the `platform` transport: the platform (a TES server, a
## Kubernetes init container) put every input at its path before the script started; the script
## only checks that they are there (and their sizes, when known) and creates its literal files.

wf_stage() {
    wf_plan_stage wf_stage_check
    wf_plan_literals
}

wf_stage_check() {
    while IFS=$WF_TAB read -r _wk_kind _wk_mode _wk_src _wk_dst _wk_size; do
        if [ "$_wk_kind" = directory ]; then
            [ -d "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage the directory $_wk_dst (from $_wk_src)"
        else
            [ -f "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage $_wk_dst (from $_wk_src)"
            if [ "$_wk_size" != - ]; then
                _wk_got=$(wc -c <"$_wk_dst") || wf_fail staging_failed "cannot read staged input $_wk_dst"
                [ "$((_wk_got))" = "$_wk_size" ] ||
                    wf_fail staging_failed "staged input $_wk_dst has $((_wk_got)) bytes, expected $_wk_size"
            fi
        fi
    done
}
