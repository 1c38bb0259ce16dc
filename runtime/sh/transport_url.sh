# shellcheck shell=sh disable=SC2034
## transport_url.sh -- the `url` transport's hooks. Nothing of the host is mounted: the prologue
## downloads every input from its (presigned) URL, the epilogue uploads every output and, last,
## the manifest (the commit point). Transfers run WF_URL_PARALLEL at a time, each retried
## WF_URL_RETRIES times with exponential backoff and jitter on connection errors, stalls,
## truncation and 5xx; a download is checked (size, sha1 when the plan has one) before it takes
## its final name. One attempt with one client is url_clients.sh's wf_url_once.

WF_GET=
WF_UP=
WF_URL_CA=
WF_URL_SHA1=
WF_RAND=1
WF_X_FAIL=
WF_X_SUM=-
WF_X_TMP=

# -- probe: which clients, before any work is done ------------------------------------------------

wf_transport_probe() {
    # outputs are checksummed while they upload (wf_url_put_item), not while they are collected
    WF_URL_SHA1=$WF_SHA1
    WF_SHA1=
    # big files: a sha1 that uses the CPU's SHA instructions, where the image has one
    WF_URL_FASTSUM=
    if [ -n "$WF_URL_SHA1" ]; then
        if wf_have openssl && openssl sha1 </dev/null >/dev/null 2>&1; then
            WF_URL_FASTSUM=openssl
        elif wf_have python3 && python3 -c 'import hashlib' </dev/null >/dev/null 2>&1; then
            WF_URL_FASTSUM=python3
        fi
    fi
    mkdir -p "$WF_META/x" || wf_fail probe_failed "cannot create $WF_META/x"
    WF_X_TMP=$WF_META/x/main
    wf_plan_ca >"$WF_META/ca.pem"
    [ ! -s "$WF_META/ca.pem" ] || WF_URL_CA=$WF_META/ca.pem
    wf_url_clients
    WF_URL_DOWNLOADS=0
    [ -z "$WF_URL_LIST" ] || WF_URL_DOWNLOADS=1
    wf_plan_stage wf_url_count
    # uploads first: with no way to upload, not even the manifest can tell what happened
    wf_url_pick_up
    if [ "$WF_URL_DOWNLOADS" = 1 ]; then
        wf_url_pick_get
        wf_say "url transport: downloads with $WF_GET, uploads with $WF_UP"
    else
        wf_say "url transport: uploads with $WF_UP"
    fi
    [ "$WF_URL_UPLOAD" != post ] || [ "$WF_UP" != curl ] || wf_url_curl_form
    # curl 7.75 and later report every transfer's exit code (%{exitcode}): one curl process
    # then works through a whole shard, on one connection
    WF_URL_BATCH=
    if [ -n "$WF_C_CURL" ]; then
        case $(curl --version 2>/dev/null </dev/null) in
            "curl 7."[0-6]?.* | "curl 7.7"[0-4].* | "curl "[0-6].*) ;;
            "curl "*) WF_URL_BATCH=1 ;;
        esac
    fi
}

wf_url_count() {
    while IFS= read -r _uc_line; do
        case $_uc_line in file*) WF_URL_DOWNLOADS=1 ;; esac
    done
}

# wf_url_clients: which HTTP clients this image has (WF_C_<NAME>=1) and WF_URL_HAS, in words.
wf_url_clients() {
    WF_C_CURL=
    WF_C_WGET=
    WF_C_BBWGET=
    WF_C_PYTHON=
    WF_C_PERL=
    WF_C_BASH=
    WF_C_NC=
    WF_URL_HAS=
    if wf_have curl; then
        WF_C_CURL=1
        WF_URL_HAS="$WF_URL_HAS, curl"
    fi
    WF_URL_NOIRI=
    if wf_have wget; then
        _cl_v=$(wget --version 2>&1 </dev/null) || :
        case $_cl_v in
            *"GNU Wget"*)
                WF_C_WGET=1
                WF_URL_HAS="$WF_URL_HAS, GNU wget"
                # with IRI and no UTF-8 locale, wget would decode %25 in URLs
                case $_cl_v in *+iri*) WF_URL_NOIRI=--no-iri ;; esac
                ;;
            *BusyBox*)
                WF_C_BBWGET=1
                WF_URL_HAS="$WF_URL_HAS, BusyBox wget (downloads only)"
                ;;
        esac
    fi
    if wf_have python3 && python3 -c 'import ssl, urllib.request' >/dev/null 2>&1 </dev/null; then
        WF_C_PYTHON=1
        WF_URL_HAS="$WF_URL_HAS, python3"
    fi
    if wf_have perl && perl -MIO::Socket::INET -MIO::Select -e 1 >/dev/null 2>&1 </dev/null; then
        WF_C_PERL=1
        WF_URL_HAS="$WF_URL_HAS, perl (plain http only)"
    fi
    if wf_have bash; then
        WF_C_BASH=1
        WF_URL_HAS="$WF_URL_HAS, bash /dev/tcp (plain http only)"
    fi
    if wf_have nc; then
        case $(nc --help 2>&1 </dev/null) in
            *BusyBox*)
                WF_C_NC=1
                WF_URL_HAS="$WF_URL_HAS, BusyBox nc (plain http uploads only)"
                ;;
        esac
    fi
    WF_URL_HAS=${WF_URL_HAS#, }
    WF_URL_HAS=${WF_URL_HAS:-no HTTP client at all}
}

# Downloads: curl, GNU wget, BusyBox wget, python3, perl, bash /dev/tcp; over https: curl, GNU
# wget, python3, then BusyBox wget (which verifies no certificate).
wf_url_pick_get() {
    if [ "$WF_URL_HTTPS_GET" = 1 ]; then
        for _pg_c in CURL WGET PYTHON BBWGET; do
            wf_url_take "$_pg_c" && WF_GET=$WF_TAKEN && break
        done
        [ "$WF_GET" != bbwget ] ||
            wf_say "note: BusyBox wget verifies no TLS certificate; an image with curl, wget or python3 would"
    else
        for _pg_c in CURL WGET BBWGET PYTHON PERL BASH; do
            wf_url_take "$_pg_c" && WF_GET=$WF_TAKEN && break
        done
    fi
    [ -n "$WF_GET" ] || wf_fail probe_failed "the url transport cannot download the inputs in this image: it has $WF_URL_HAS; downloads need curl, wget or python3$(wf_url_plain "$WF_URL_HTTPS_GET" ', or perl or bash')${WF_URL_HINT}"
}

# Uploads (PUT, or an S3 POST form): curl, GNU wget, python3; over plain http also perl, bash
# /dev/tcp and BusyBox nc. BusyBox wget cannot upload.
wf_url_pick_up() {
    WF_URL_HINT="; choose an image that has curl, GNU wget or python3, or the mounted transport"
    if [ "$WF_URL_HTTPS_PUT" = 1 ]; then
        for _pu_c in CURL WGET PYTHON; do
            wf_url_take "$_pu_c" && WF_UP=$WF_TAKEN && break
        done
    else
        for _pu_c in CURL WGET PYTHON PERL BASH NC; do
            wf_url_take "$_pu_c" && WF_UP=$WF_TAKEN && break
        done
    fi
    if [ -z "$WF_UP" ]; then
        [ "$WF_URL_HTTPS_PUT" != 1 ] || WF_URL_HINT=", a plain-http store$WF_URL_HINT"
        wf_fail probe_failed "the url transport cannot upload the outputs from this image: it has $WF_URL_HAS; uploads need curl, GNU wget or python3$(wf_url_plain "$WF_URL_HTTPS_PUT" ', or perl, bash or BusyBox nc')${WF_URL_HINT}"
    fi
}

wf_url_plain() {
    if [ "$1" = 1 ]; then printf ' (the store is https)'; else printf '%s' "$2"; fi
}

# wf_url_take NAME: WF_TAKEN is the client's name if the image has it.
wf_url_take() {
    WF_TAKEN=
    case $1 in
        CURL) [ -z "$WF_C_CURL" ] || WF_TAKEN=curl ;;
        WGET) [ -z "$WF_C_WGET" ] || WF_TAKEN=wget ;;
        BBWGET) [ -z "$WF_C_BBWGET" ] || WF_TAKEN=bbwget ;;
        PYTHON) [ -z "$WF_C_PYTHON" ] || WF_TAKEN=python ;;
        PERL) [ -z "$WF_C_PERL" ] || WF_TAKEN=perl ;;
        BASH) [ -z "$WF_C_BASH" ] || WF_TAKEN=bash ;;
        NC) [ -z "$WF_C_NC" ] || WF_TAKEN=nc ;;
    esac
    [ -n "$WF_TAKEN" ]
}

# -- stage: the downloads -----------------------------------------------------------------------

wf_transport_stage() {
    if [ -n "$WF_URL_LIST" ]; then
        # a long staging list is one more download (checked like any other), not script text
        if ! wf_url_get_item "$WF_URL_LIST" "$WF_META/stage.tsv" "$WF_URL_LIST_SIZE" "$WF_URL_LIST_SHA1"; then
            wf_fail staging_failed "could not download the staging list: $WF_X_FAIL"
        fi
        wf_url_jobs <"$WF_META/stage.tsv" >"$WF_META/get.tsv"
    else
        wf_plan_stage wf_url_jobs >"$WF_META/get.tsv"
    fi
    [ -s "$WF_META/get.tsv" ] || return 0
    wf_url_parallel get "$WF_META/get.tsv" || wf_fail staging_failed "$WF_X_FAIL"
}

# wf_url_jobs: staging records on stdin -> download jobs on stdout (URL, destination, size, sha1);
# directories are made here.
wf_url_jobs() {
    while IFS=$WF_TAB read -r _uj_kind _uj_mode _uj_src _uj_dst _uj_size _uj_sum; do
        if [ "$_uj_kind" = directory ]; then
            [ -d "$_uj_dst" ] || mkdir -p "$_uj_dst" ||
                wf_fail staging_failed "cannot create the input directory $_uj_dst"
            continue
        fi
        [ -d "${_uj_dst%/*}" ] || mkdir -p "${_uj_dst%/*}" ||
            wf_fail staging_failed "cannot create the directory of $_uj_dst"
        printf '%s\t%s\t%s\t%s\n' "$_uj_src" "$_uj_dst" "${_uj_size:--}" "${_uj_sum:--}"
    done
}

# -- unstage: the uploads -----------------------------------------------------------------------

wf_transport_unstage() {
    # no client (the probe said so), or stopped by a signal: nothing goes up, so the manifest
    # (if it can be committed at all) lists nothing
    if [ -z "$WF_UP" ] || [ "$WF_STATUS" = terminated ]; then
        [ ! -f "$WF_META/outputs.tsv" ] || : >"$WF_META/outputs.tsv"
        return 0
    fi
    LC_ALL=C
    export LC_ALL
    WF_X_TMP=$WF_META/x/main
    _us_out=$(wc -c <"$WF_STDOUT")
    _us_err=$(wc -c <"$WF_STDERR")
    # every file output once, with the command's stdout and stderr (the driver shows them)
    {
        [ ! -f "$WF_META/outputs.tsv" ] || wf_url_files <"$WF_META/outputs.tsv"
        printf '%s\t%s\n' "${WF_STDOUT#"$WF_ROOT"/}" "$((_us_out))"
        printf '%s\t%s\n' "${WF_STDERR#"$WF_ROOT"/}" "$((_us_err))"
    } | wf_url_names >"$WF_META/put.tsv"
    if ! wf_url_parallel put "$WF_META/put.tsv"; then
        WF_PARTIAL=true
        if [ -z "$WF_STATUS" ] || [ "$WF_STATUS" = succeeded ]; then
            WF_STATUS=upload_failed
            WF_MESSAGE=$WF_X_FAIL
        else
            WF_MESSAGE="$WF_MESSAGE; and $WF_X_FAIL"
        fi
        wf_say "error: $WF_X_FAIL"
    fi
    # the manifest lists what is up there, with the checksums taken on the way
    [ -f "$WF_META/outputs.tsv" ] || return 0
    awk -F "$WF_TAB" -v OFS="$WF_TAB" '
        FILENAME == ARGV[1] { if ($1 == "ok") sum[$2] = $4; next }
        $2 != "file" { print; next }
        ($3 in sum) { $5 = sum[$3]; print }
    ' "$WF_META/put.tsv.out" "$WF_META/outputs.tsv" >"$WF_META/outputs.up" &&
        mv -f "$WF_META/outputs.up" "$WF_META/outputs.tsv"
}

# wf_url_files: outputs.tsv on stdin -> path and size of every file output on stdout.
wf_url_files() {
    while IFS=$WF_TAB read -r _uf_name _uf_type _uf_path _uf_size _uf_sum; do
        [ "$_uf_type" != file ] || printf '%s\t%s\n' "$_uf_path" "$_uf_size"
    done
}

# wf_url_names: "path<TAB>size" lines -> "path<TAB>size<TAB>percent-encoded path", each path once.
wf_url_names() {
    awk -F "$WF_TAB" -v OFS="$WF_TAB" '
        BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
        seen[$1]++ { next }
        {
            enc = ""
            n = length($1)
            for (i = 1; i <= n; i++) {
                c = substr($1, i, 1)
                if (c ~ /[A-Za-z0-9._~\/-]/) enc = enc c
                else enc = enc sprintf("%%%02X", ord[c])
            }
            print $1, $2, enc
        }'
}

# -- commit: the manifest, last -----------------------------------------------------------------

wf_transport_commit() {
    [ "$WF_STATUS" != terminated ] || return 0
    if [ -z "$WF_UP" ]; then
        wf_say "error: no way to upload $WF_META/manifest.json from this image: the driver will find no manifest"
        return 0
    fi
    WF_X_TMP=$WF_META/x/main
    _cm_rel=${WF_META#"$WF_ROOT"/}/manifest.json
    _cm_size=$(wc -c <"$WF_META/manifest.json")
    if ! wf_url_put_item "$_cm_rel" "$((_cm_size))" "$_cm_rel"; then
        wf_say "error: could not upload the manifest: $WF_X_FAIL"
        return 1
    fi
}

# -- the transfer engine ------------------------------------------------------------------------

# wf_url_parallel OP JOBS: the transfers listed in JOBS (get: URL, destination, size, sha1; put:
# path, size, encoded path), WF_URL_PARALLEL at a time: the jobs are dealt to shards, each a
# background subshell working through its share; the first failure stops them all. Results are
# in JOBS.out (ok ... | fail PATH WHY); returns 1 if a transfer failed (WF_X_FAIL says which).
wf_url_parallel() {
    WF_X_FAIL=
    _pl_n=$WF_URL_PARALLEL
    _pl_i=0
    while [ "$_pl_i" -lt "$_pl_n" ]; do
        : >"$2.$_pl_i"
        _pl_i=$((_pl_i + 1))
    done
    _pl_i=0
    while IFS= read -r _pl_line; do
        printf '%s\n' "$_pl_line" >>"$2.$_pl_i"
        _pl_i=$(((_pl_i + 1) % _pl_n))
    done <"$2"
    [ ! -e "$WF_META/x/abort" ] || rm -f "$WF_META/x/abort"
    _pl_pids=
    _pl_i=0
    while [ "$_pl_i" -lt "$_pl_n" ]; do
        : >"$2.$_pl_i.out"
        if [ -s "$2.$_pl_i" ]; then
            wf_url_shard "$1" "$_pl_i" "$2.$_pl_i" >"$2.$_pl_i.out" &
            _pl_pids="$_pl_pids $!"
        fi
        _pl_i=$((_pl_i + 1))
    done
    _pl_rc=0
    for _pl_p in $_pl_pids; do
        wait "$_pl_p" || _pl_rc=1
    done
    : >"$2.out"
    _pl_i=0
    while [ "$_pl_i" -lt "$_pl_n" ]; do
        while IFS= read -r _pl_line; do
            printf '%s\n' "$_pl_line"
            case $_pl_line in
                fail*)
                    _pl_rc=1
                    if [ -z "$WF_X_FAIL" ]; then
                        WF_X_FAIL=${_pl_line#fail"$WF_TAB"}
                        WF_X_FAIL="${WF_X_FAIL%%"$WF_TAB"*}: ${WF_X_FAIL#*"$WF_TAB"}"
                    fi
                    ;;
            esac
        done <"$2.$_pl_i.out" >>"$2.out"
        _pl_i=$((_pl_i + 1))
    done
    if [ "$_pl_rc" != 0 ] && [ -z "$WF_X_FAIL" ]; then
        WF_X_FAIL="a transfer stopped unexpectedly (see the log)"
    fi
    return "$_pl_rc"
}

# wf_url_shard OP INDEX JOBS: the jobs in the file JOBS, one after the other; one result line
# each. With a curl that reports per-transfer exit codes, one curl does them all first (on one
# connection); what it did not get right goes through the one-by-one path, which retries.
wf_url_shard() {
    WF_X_TMP=$WF_META/x/s$2
    WF_RAND=$((($$ + $2 * 7919 + 1) % 2147483648))
    _sd_batch=
    if [ -n "$WF_URL_BATCH" ]; then
        [ "$1" != get ] || [ "$WF_GET" != curl ] || _sd_batch=1
        [ "$1" != put ] || [ "$WF_UP" != curl ] || [ "$WF_URL_UPLOAD" != put ] || _sd_batch=1
    fi
    if [ -n "$_sd_batch" ]; then
        wf_url_curl_batch "$1" "$3"
        return 0
    fi
    while IFS=$WF_TAB read -r _sd_a _sd_b _sd_c _sd_d; do
        [ ! -e "$WF_META/x/abort" ] || break
        wf_url_one "$1" 1 "$_sd_a" "$_sd_b" "$_sd_c" "$_sd_d" || break
    done <"$3"
}

# wf_url_one OP FIRST A B C D: one job (get: URL DEST SIZE SHA1; put: PATH SIZE ENCODED), its
# attempts numbered from FIRST; prints its result line. Returns 1 (and stops the others) if it
# failed.
wf_url_one() {
    if [ "$1" = get ]; then
        if wf_url_get_item "$3" "$4" "$5" "$6" "$2"; then
            printf 'ok\t%s\n' "$4"
            return 0
        fi
        wf_url_failed input "$4"
    else
        if wf_url_put_item "$3" "$4" "$5" "$2"; then
            printf 'ok\t%s\t%s\t%s\n' "$3" "$4" "$WF_X_SUM"
            return 0
        fi
        wf_url_failed output "$3"
    fi
}

# wf_url_failed input|output NAME: print the job's result line (WF_X_FAIL says why), stop the
# other shards, return 1.
wf_url_failed() {
    printf 'fail\t%s %s\t%s\n' "$1" "$2" "$WF_X_FAIL"
    : >"$WF_META/x/abort"
    return 1
}

# wf_url_curl_batch OP JOBS: the first attempt at every job of JOBS in one curl (a config file
# of url/output or url/upload-file pairs, one -w line per transfer, read in step with JOBS); the
# sha1 of each upload is taken meanwhile. Jobs it did not get right go to wf_url_one from attempt
# 2 (whose own scratch files are not the batch's).
wf_url_curl_batch() {
    _cb_k=0
    while IFS=$WF_TAB read -r _cb_a _cb_b _cb_c _cb_d; do
        if [ "$1" = get ]; then
            # (no empty file made in advance: writing into one is slower than into a new one)
            wf_url_cfg_escape "$_cb_a"
            printf 'url = "%s"\n' "$WF_ESC"
            printf 'output = "%s"\n' "$WF_X_TMP.p$_cb_k"
        else
            wf_url_cfg_escape "$WF_URL_OUT$_cb_c"
            printf 'url = "%s"\n' "$WF_ESC"
            wf_url_cfg_escape "$WF_ROOT/$_cb_a"
            printf 'upload-file = "%s"\n' "$WF_ESC"
            printf 'output = "%s"\n' "$WF_X_TMP.bbody"
        fi
        _cb_k=$((_cb_k + 1))
    done <"$2" >"$WF_X_TMP.cfg"
    _cb_sums=
    if [ "$1" = put ] && [ -n "$WF_URL_SHA1" ]; then
        wf_url_sums <"$2" >"$WF_X_TMP.sums" &
        _cb_sums=$!
    fi
    curl -q -sS -L -H 'Expect:' --connect-timeout "$WF_URL_STALL" --speed-limit 1 \
        --speed-time "$WF_URL_STALL" ${WF_URL_CA:+--cacert} ${WF_URL_CA:+"$WF_URL_CA"} \
        -w '%{http_code} %{size_download} %{size_upload} %{exitcode}\n' -K "$WF_X_TMP.cfg" \
        >"$WF_X_TMP.bres" 2>"$WF_X_TMP.berr" </dev/null || :
    if [ -n "$_cb_sums" ]; then
        wait "$_cb_sums" || :
    else
        : >"$WF_X_TMP.sums"
    fi
    _cb_k=0
    while IFS=$WF_TAB read -r _cb_a _cb_b _cb_c _cb_d <&3; do
        [ ! -e "$WF_META/x/abort" ] || break
        WF_X_CODE=000
        _cb_down=
        _cb_up=
        WF_X_RC=1
        read -r WF_X_CODE _cb_down _cb_up WF_X_RC <&4 || :
        WF_X_CODE=${WF_X_CODE:-000}
        WF_X_RC=${WF_X_RC:-1}
        WF_X_SUM=-
        [ "$1" != put ] || read -r WF_X_SUM _cb_rest <&5 || WF_X_SUM=-
        WF_X_LEN=-
        WF_X_MSG="curl exit $WF_X_RC"
        _cb_v=0
        if [ "$1" = get ]; then
            WF_X_SIZE=$_cb_down
            # curl makes no file for an empty body
            [ -e "$WF_X_TMP.p$_cb_k" ] || [ "$WF_X_SIZE" != 0 ] || : >"$WF_X_TMP.p$_cb_k"
            wf_url_verdict "$_cb_c" "$WF_X_TMP.p$_cb_k" || _cb_v=$?
            if [ "$_cb_v" = 0 ] && wf_url_check_sum "$WF_X_TMP.p$_cb_k" "$_cb_d" "$_cb_c" &&
                mv -f "$WF_X_TMP.p$_cb_k" "$_cb_b"; then
                printf 'ok\t%s\n' "$_cb_b"
            else
                rm -f "$WF_X_TMP.p$_cb_k"
                wf_url_retry_one get "$_cb_v" "$_cb_a" "$_cb_b" "$_cb_c" "$_cb_d" || break
            fi
        else
            WF_X_SIZE=$_cb_up
            wf_url_verdict "$_cb_b" - || _cb_v=$?
            if [ "$_cb_v" = 0 ]; then
                printf 'ok\t%s\t%s\t%s\n' "$_cb_a" "$_cb_b" "$WF_X_SUM"
            else
                wf_url_retry_one put "$_cb_v" "$_cb_a" "$_cb_b" "$_cb_c" "" || break
            fi
        fi
        _cb_k=$((_cb_k + 1))
    done 3<"$2" 4<"$WF_X_TMP.bres" 5<"$WF_X_TMP.sums"
}

# wf_url_retry_one OP VERDICT A B C D: a job the batch did not get right: a fatal verdict fails
# it at once, any other goes on from attempt 2.
wf_url_retry_one() {
    if [ "$2" = 2 ] || [ "$WF_URL_RETRIES" -le 1 ]; then
        if [ "$1" = get ]; then
            WF_X_FAIL="GET ${3%%\?*}: $WF_X_WHY (attempt 1 of $WF_URL_RETRIES)"
            wf_url_failed input "$4"
        else
            WF_X_FAIL="PUT $WF_URL_OUT$5: $WF_X_WHY (attempt 1 of $WF_URL_RETRIES)"
            wf_url_failed output "$3"
        fi
        return 1
    fi
    wf_url_one "$1" 2 "$3" "$4" "$5" "$6"
}

# wf_url_sums: "path<TAB>..." lines on stdin -> the sha1 of each $WF_ROOT/path on stdout.
wf_url_sums() {
    while IFS=$WF_TAB read -r _us_path _us_size _us_rest; do
        wf_url_sha1 "$WF_ROOT/$_us_path" "$_us_size" || printf -- '-\n'
    done
}

# wf_url_sha1 FILE SIZE: the sha1 of FILE (first word on stdout); files of 16 MiB and more go to
# openssl or python3 when the image has them (several times faster than coreutils' sha1sum).
wf_url_sha1() {
    if [ "$2" -ge 16777216 ] 2>/dev/null; then
        case $WF_URL_FASTSUM in
            openssl)
                openssl sha1 <"$1" | {
                    read -r _fs_a _fs_b
                    printf '%s\n' "${_fs_b:-$_fs_a}"
                }
                return
                ;;
            python3)
                python3 -c 'import hashlib, sys
h = hashlib.sha1()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
print(h.hexdigest())' "$1"
                return
                ;;
        esac
    fi
    $WF_URL_SHA1 <"$1"
}

# wf_url_check_sum FILE SHA1 SIZE: true if SHA1 is - (none known), or there is no sha1sum, or
# FILE's sha1 is SHA1 (WF_X_WHY says otherwise).
wf_url_check_sum() {
    [ "$2" != - ] && [ -n "$WF_URL_SHA1" ] || return 0
    _ck_sum=$(wf_url_sha1 "$1" "$3")
    [ "${_ck_sum%% *}" != "$2" ] || return 0
    WF_X_WHY="sha1 ${_ck_sum%% *}, expected $2"
    return 1
}

# wf_url_get_item URL DEST SIZE SHA1 [FIRST]: download URL into a partial file, check it (HTTP
# status, Content-Length, the expected size and sha1), then give it its name; retried (attempts
# numbered from FIRST, after a backoff if FIRST > 1). WF_X_FAIL says why it failed.
wf_url_get_item() {
    _gi_part=$WF_X_TMP.part
    _gi_try=${5:-1}
    WF_X_SHOW=${1%%\?*}
    [ "$_gi_try" = 1 ] || wf_url_backoff "$((_gi_try - 1))" "GET $WF_X_SHOW"
    while :; do
        [ ! -e "$_gi_part" ] || rm -f "$_gi_part"
        wf_url_once "$WF_GET" get "$1" "$_gi_part"
        # some clients make no file for an empty body
        [ -e "$_gi_part" ] || case $WF_X_CODE in 2??) : >"$_gi_part" ;; esac
        _gi_v=0
        wf_url_verdict "$3" "$_gi_part" || _gi_v=$?
        if [ "$_gi_v" = 0 ] && ! wf_url_check_sum "$_gi_part" "$4" "$3"; then
            _gi_v=1
        fi
        if [ "$_gi_v" = 0 ]; then
            mv -f "$_gi_part" "$2" && return 0
            WF_X_FAIL="GET $WF_X_SHOW: cannot move it to $2"
            return 1
        fi
        if wf_disk_full; then # no retry fills a full disk
            _gi_v=2
            WF_X_WHY="$WF_X_WHY; the disk holding $WF_FULL is full"
        fi
        if [ "$_gi_v" = 2 ] || [ "$_gi_try" -ge "$WF_URL_RETRIES" ]; then
            rm -f "$_gi_part"
            WF_X_FAIL="GET $WF_X_SHOW: $WF_X_WHY (attempt $_gi_try of $WF_URL_RETRIES)"
            return 1
        fi
        wf_url_backoff "$_gi_try" "GET $WF_X_SHOW"
        _gi_try=$((_gi_try + 1))
    done
}

# wf_url_put_item PATH SIZE ENCODED [FIRST]: upload $WF_ROOT/PATH (SIZE bytes) as PATH under the
# upload prefix (PUT <prefix><ENCODED>, or POST with key=<key prefix><PATH>); retried (attempts
# numbered from FIRST). Its sha1 is taken meanwhile (WF_X_SUM).
wf_url_put_item() {
    _pi_file=$WF_ROOT/$1
    _pi_try=${4:-1}
    if [ "$WF_URL_UPLOAD" = post ]; then
        _pi_url=$WF_URL_OUT
        _pi_key=$WF_URL_KEY$1
        WF_X_SHOW="POST $_pi_url key $_pi_key"
    else
        _pi_url=$WF_URL_OUT$3
        _pi_key=
        WF_X_SHOW="PUT ${_pi_url%%\?*}"
    fi
    WF_X_SUM=-
    _pi_sp=
    if [ -n "$WF_URL_SHA1" ]; then
        wf_url_sha1 "$_pi_file" "$2" >"$WF_X_TMP.sum" &
        _pi_sp=$!
    fi
    [ "$_pi_try" = 1 ] || wf_url_backoff "$((_pi_try - 1))" "$WF_X_SHOW"
    while :; do
        wf_url_once "$WF_UP" "$WF_URL_UPLOAD" "$_pi_url" "$_pi_file" "$_pi_key"
        _pi_v=0
        [ "$WF_URL_UPLOAD" = post ] || wf_url_verdict "$2" - || _pi_v=$?
        [ "$WF_URL_UPLOAD" != post ] || wf_url_verdict - - || _pi_v=$?
        [ "$_pi_v" = 1 ] && [ "$_pi_try" -lt "$WF_URL_RETRIES" ] || break
        wf_url_backoff "$_pi_try" "$WF_X_SHOW"
        _pi_try=$((_pi_try + 1))
    done
    if [ -n "$_pi_sp" ]; then
        wait "$_pi_sp" || :
        read -r WF_X_SUM _pi_rest <"$WF_X_TMP.sum" || WF_X_SUM=-
    fi
    [ "$_pi_v" = 0 ] && return 0
    WF_X_FAIL="$WF_X_SHOW: $WF_X_WHY (attempt $_pi_try of $WF_URL_RETRIES)"
    return 1
}

# wf_url_verdict SIZE FILE|-: judge the attempt wf_url_once just made. 0: it worked; 1: worth
# another try (no response, a stall, 5xx, 408, 429, a short body); 2: it will not work (other
# statuses, e.g. 403 for an expired presigned URL, 404). WF_X_WHY says why not. SIZE is the
# expected byte count (- if unknown); FILE the download to measure (- for uploads).
wf_url_verdict() {
    case $WF_X_CODE in
        2??) ;;
        5?? | 408 | 429 | 000)
            WF_X_WHY="HTTP $WF_X_CODE"
            [ "$WF_X_CODE" != 000 ] || WF_X_WHY="no response"
            [ -z "$WF_X_MSG" ] || WF_X_WHY="$WF_X_WHY ($WF_X_MSG)"
            return 1
            ;;
        403)
            WF_X_WHY="HTTP 403 Forbidden"
            if [ -n "$WF_URL_EXPIRES" ] && _vd_now=$(date +%s 2>/dev/null) &&
                [ "$_vd_now" -ge "$WF_URL_EXPIRES" ]; then
                WF_X_WHY="$WF_X_WHY: the presigned URLs expired $((_vd_now - WF_URL_EXPIRES))s ago"
            else
                WF_X_WHY="$WF_X_WHY (a wrongly signed or expired presigned URL?)"
            fi
            return 2
            ;;
        *)
            WF_X_WHY="HTTP $WF_X_CODE${WF_X_MSG:+ ($WF_X_MSG)}"
            return 2
            ;;
    esac
    if [ "$WF_X_RC" != 0 ]; then
        WF_X_WHY="transfer broken off (${WF_X_MSG:-exit $WF_X_RC})"
        return 1
    fi
    _vd_n=$WF_X_SIZE
    case $_vd_n in
        '' | - | *[!0-9]*)
            [ "$2" != - ] || return 0
            _vd_n=$(wc -c <"$2")
            _vd_n=$((_vd_n))
            ;;
    esac
    if [ "$WF_X_LEN" != - ] && [ "$2" != - ] && [ "$_vd_n" != "$WF_X_LEN" ]; then
        WF_X_WHY="truncated: $_vd_n of $WF_X_LEN bytes"
        return 1
    fi
    if [ "$1" != - ] && [ "$_vd_n" != "$1" ]; then
        WF_X_WHY="$_vd_n bytes, expected $1"
        return 1
    fi
}

# wf_url_backoff ATTEMPT WHAT: sleep before the next attempt: the base doubled per attempt (at
# most 30 s), half of it fixed and half random (jitter), so that retries do not come in step.
wf_url_backoff() {
    _bo_cap=$WF_URL_BACKOFF
    _bo_i=1
    while [ "$_bo_i" -lt "$1" ] && [ "$_bo_cap" -lt 30000 ]; do
        _bo_cap=$((_bo_cap * 2))
        _bo_i=$((_bo_i + 1))
    done
    [ "$_bo_cap" -le 30000 ] || _bo_cap=30000
    WF_RAND=$(((WF_RAND * 1103515245 + 12345) % 2147483648))
    _bo_ms=$((_bo_cap / 2 + WF_RAND % (_bo_cap / 2 + 1)))
    _bo_s=$((_bo_ms / 1000))
    _bo_f=$((_bo_ms % 1000))
    if [ "$_bo_f" -lt 10 ]; then
        _bo_f=00$_bo_f
    elif [ "$_bo_f" -lt 100 ]; then
        _bo_f=0$_bo_f
    fi
    wf_say "retry: $2: $WF_X_WHY; attempt $(($1 + 1)) of $WF_URL_RETRIES in $_bo_s.${_bo_f}s"
    [ "$_bo_ms" = 0 ] || sleep "$_bo_s.$_bo_f" 2>/dev/null || sleep "$((_bo_s + 1))"
}
