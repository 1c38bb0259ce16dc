# shellcheck shell=sh
## transport_platform.sh -- the `platform` transport's hooks: the platform (a TES server, a
## Kubernetes init container) put every input at its path before the script started, and takes
## the outputs from their paths after it ends; the script only checks that the inputs are there
## (with their sizes, when known).

wf_transport_probe() {
    :
}

wf_transport_stage() {
    wf_plan_stage wf_stage_check
}

wf_transport_unstage() {
    :
}

wf_transport_commit() {
    :
}

wf_stage_check() {
    while IFS=$WF_TAB read -r _wk_kind _wk_mode _wk_src _wk_dst _wk_size _wk_rest; do
        if [ "$_wk_kind" = directory ]; then
            [ -d "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage the directory $_wk_dst (from $_wk_src)"
        else
            [ -f "$_wk_dst" ] || wf_fail staging_failed "the platform did not stage $_wk_dst (from $_wk_src)"
            wf_check_size "$_wk_dst" "$_wk_size"
        fi
    done
}
