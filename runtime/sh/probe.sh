# shellcheck shell=sh disable=SC2034  # WF_SHA1, WF_SHELL_USED: read by collect.sh, run.sh
## probe.sh -- wf_probe: find out, before any work is done, whether this image can run the plan.
## The emitter lists the tools this plan needs (wf_plan_tools); the probe checks them and picks
## the shell for the command; then the transport checks what it needs (wf_transport_probe).

wf_probe() {
    for _wp_t in cat mv wc rm tr sed; do
        wf_need "$_wp_t" "by the wfrewrite script itself"
    done
    wf_plan_tools
    # copies share blocks where the filesystem can (GNU cp); BusyBox cp has no --reflink
    if [ "$WF_LINK_MODE" = copy ] && cp --reflink=auto /dev/null "$WF_META/reflink" 2>/dev/null; then
        WF_REFLINK=--reflink=auto
        rm -f "$WF_META/reflink"
    fi
    if wf_have sha1sum; then
        WF_SHA1=sha1sum
    else
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
        bash)
            wf_need bash "to run this command (it was declared bash-only)"
            WF_SHELL_USED=bash
            ;;
        sh) WF_SHELL_USED='sh' ;;
        none) WF_SHELL_USED=none ;;
    esac
    wf_transport_probe
}
