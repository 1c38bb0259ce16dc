# shellcheck shell=sh disable=SC2034
## contract.sh -- the script contract: every variable and function the data section defines.
##
## wfrewrite.compiler.emit.script.data_section writes these above the runtime files, and nothing
## else defines them; the runtime files (lib.sh, the phases, the transports) only read them. This
## file is never emitted: it is the one list of the names, checked by tests/emit/test_contract.py
## (the emitter defines exactly these for each transport; every WF_* name a runtime file reads is
## defined here or assigned by a runtime file; the tools the files run are probed).
##
## Each name is tagged with when it is defined:
##   always    in every script
##   optional  only when the plan needs it (the runtime reads it as ${NAME:-default})
##   url       with the url transport only
## Values are shell words quoted by wfrewrite.compiler.emit.q; the examples are the plan of
## wfrewrite.compiler.plan.ir's docstring. The functions print or feed data, never code.

# -- variables ---------------------------------------------------------------------------------
WF_TASK='hello'                      # always: the task's name (messages, the manifest)
WF_ROOT='/mnt/wfr'                   # always: the task's area; the script writes under it only
WF_WORK='/mnt/wfr/work'              # always: the command's directory (outputs are found here)
WF_TMP='/mnt/wfr/tmp'                # always: TMPDIR
WF_HOME='/mnt/wfr/home'              # always: HOME
WF_META='/mnt/wfr/wfrewrite'         # always: the script's own files (command, rc, manifest.json)
WF_STAGE_DIR='/mnt/wfr/stage'        # always: where staging sources are ('' : absolute sources)
WF_WORK_ALIAS=''                     # always: a second path the command runs in ('' : none)
WF_WORK_LINK='1'                     # optional: 1: the script links WF_WORK_ALIAS to WF_WORK; 2: the platform mounts WF_WORK_ALIAS, the script links WF_WORK to it
WF_LINK_MODE='symlink'               # always: symlink | hardlink | copy (mounted transport)
WF_SHELL='bash_or_sh'                # always: bash_or_sh | bash | sh | none (an argv command)
WF_STDIN=''                          # always: the command's stdin ('' : /dev/null)
WF_STDOUT='/mnt/wfr/stdout.txt'      # always: the command's stdout
WF_STDERR='/mnt/wfr/stderr.txt'      # always: the command's stderr
WF_SUCCESS_CODES='0'                 # always: return codes that are a success ('*' : any)
WF_TEMPFAIL_CODES=''                 # always: return codes that are a temporary failure
WF_PERMFAIL_CODES=''                 # always: return codes that are a permanent failure
WF_TIME_LIMIT=''                     # always: seconds the command may run ('' : no limit)
WF_URL_UPLOAD='put'                  # url: put (a PUT prefix) | post (an S3 presigned POST)
WF_URL_OUT='http://127.0.0.1:8089/wfr/5f2c/out/'  # url: where outputs go
WF_URL_KEY=''                        # url: post only: the key prefix the policy allows
WF_URL_LIST=''                       # url: the staging list's URL when it is not inline
WF_URL_LIST_SIZE='-'                 # url: its size ('-' : inline)
WF_URL_LIST_SHA1='-'                 # url: its sha1 ('-' : inline)
WF_URL_EXPIRES=''                    # url: unix time the URLs expire ('' : unknown)
WF_URL_PARALLEL='4'                  # url: transfers at a time
WF_URL_RETRIES='5'                   # url: attempts per transfer
WF_URL_BACKOFF='1000'                # url: first backoff in ms (doubled, full jitter)
WF_URL_STALL='60'                    # url: seconds without progress before a transfer is abandoned
WF_URL_HTTPS_GET='0'                 # url: 1 if an input comes over https
WF_URL_HTTPS_PUT='0'                 # url: 1 if the outputs go over https

# -- functions -----------------------------------------------------------------------------------
# always: wf_setenv NAME VALUE for each of the command's environment variables
wf_plan_env() {
    :
}
# always: runs "$@" with the staging list on stdin, one record a line:
# kind, r|w, source, destination, size or - (url: and the sha1 or -), tab-separated
wf_plan_stage() {
    "$@" </dev/null
}
# url: runs "$@" with the S3 POST form's fields on stdin (name, value; tab-separated)
wf_plan_fields() {
    "$@" </dev/null
}
# url: prints the PEM of the CA the clients trust besides the image's own
wf_plan_ca() {
    :
}
# always: wf_need TOOL WHY for each tool this plan needs beyond the script's own
wf_plan_tools() {
    :
}
# always: wf_literal PATH KIND MODE FORMAT for each file the plan carries inline
wf_plan_literals() {
    :
}
# always: runs "$@" with the capture rules on stdin, one a line:
# kind, output, required 1|0, files-only 1|0, exclude or -, pattern or -, tab-separated
wf_plan_captures() {
    "$@" </dev/null
}
# always: exec ARGV... for an argv command (WF_SHELL=none); empty otherwise
wf_plan_argv() {
    :
}
# always: prints the command script (empty for an argv command)
wf_plan_command() {
    :
}

# -- tools ---------------------------------------------------------------------------------------
## The external tools the runtime files run, and who checks them before any work is done:
##   probed always (wf_probe): cat mv wc rm tr sed; mkdir (wf_main, before the probe)
##   probed when the plan needs them (wfrewrite.compiler.emit.script.tools_needed, wf_plan_tools):
##     cp ln chmod find sleep rmdir awk
##   used only where present (wf_have, or harmless if missing): readlink sha1sum bash date
##   the url transport's clients, chosen by its own probe (wf_url_probe): curl wget python3 perl
##     nc openssl
