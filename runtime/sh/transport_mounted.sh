# shellcheck shell=sh
## transport_mounted.sh -- the `mounted` transport's hooks: inputs come from the staging dir the
## executor mounted (wf_stage_all, stage.sh); outputs stay where the command left them, on the
## mount, so there is nothing to upload and the manifest needs no commit beyond its own mv.

wf_transport_probe() {
    :
}

wf_transport_stage() {
    wf_plan_stage wf_stage_all
}

wf_transport_unstage() {
    :
}

wf_transport_commit() {
    :
}
