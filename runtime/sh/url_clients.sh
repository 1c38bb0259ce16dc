# shellcheck shell=sh disable=SC2034
## url_clients.sh -- one HTTP transfer with whichever client the image has (the `url` transport's
## engine, transport_url.sh, picks the client, retries, checks sizes and renames).
##
## wf_url_once CLIENT OP URL FILE [KEY]: one attempt. OP is get (URL -> FILE), put (FILE -> URL)
## or post (FILE -> URL as an S3 presigned POST form whose key is KEY). It sets
##   WF_X_RC    the client's exit status (0: it ran to the end of the exchange)
##   WF_X_CODE  the HTTP status, 000 when there was no response
##   WF_X_SIZE  bytes received (get) or sent (put/post) as the client counted them, - if unknown
##   WF_X_LEN   the response's Content-Length, - if unknown
##   WF_X_MSG   what went wrong, in a few words
## Clients: curl, wget (GNU), bbwget (BusyBox wget: GET only), python (python3), perl (plain
## http, perl-base only), bash (bash's /dev/tcp, plain http), nc (BusyBox nc: PUT/POST over plain
## http). Scratch files are $WF_X_TMP.*, one set per parallel shard. Hand-written requests use
## HTTP/1.0 so that no response is chunked.

WF_X_BOUNDARY=wfrewrite-form-7c1e4f0a9b2d5e38

wf_url_once() {
    WF_X_RC=0
    WF_X_CODE=000
    WF_X_SIZE=-
    WF_X_LEN=-
    WF_X_MSG=
    : >"$WF_X_TMP.res"
    : >"$WF_X_TMP.err"
    if [ "$2" = post ] && [ "$1" != curl ] && [ "$1" != python ]; then
        wf_url_form "$5"
    fi
    case $1 in
        curl) wf_url_curl "$2" "$3" "$4" "${5:-}" ;;
        wget | bbwget) wf_url_wget "$1" "$2" "$3" "$4" ;;
        python) wf_url_python "$2" "$3" "$4" "${5:-}" ;;
        perl) wf_url_perl "$2" "$3" "$4" ;;
        bash) wf_url_bash "$2" "$3" "$4" ;;
        nc) wf_url_nc "$2" "$3" "$4" ;;
        *) WF_X_RC=127 WF_X_MSG="no client $1" ;;
    esac
    if [ -z "$WF_X_MSG" ] && [ "$WF_X_RC" != 0 ]; then
        # what the client said (not a header or URL wget echoed; no time stamp)
        while IFS= read -r WF_X_MSG; do
            case $WF_X_MSG in '  '* | http://* | https://* | '') ;; *) break ;; esac
        done <"$WF_X_TMP.err"
        case $WF_X_MSG in
            '  '* | http://* | https://*) WF_X_MSG= ;;
            [0-9][0-9][0-9][0-9]-[0-9]*) WF_X_MSG=${WF_X_MSG#* * } ;;
        esac
        [ "$1:$WF_X_RC" != wget:4 ] || WF_X_MSG=${WF_X_MSG:-"wget: network failure (exit 4)"}
        [ -n "$WF_X_MSG" ] || WF_X_MSG="$1 exited with $WF_X_RC"
    fi
}

# -- curl ------------------------------------------------------------------------------------

wf_url_curl() {
    case $1 in
        get)
            curl -q -sS -L --connect-timeout "$WF_URL_STALL" --speed-limit 1 \
                --speed-time "$WF_URL_STALL" ${WF_URL_CA:+--cacert} ${WF_URL_CA:+"$WF_URL_CA"} \
                -o "$3" -w '%{http_code} %{size_download}' "$2" \
                >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            ;;
        put)
            curl -q -sS -H 'Expect:' --connect-timeout "$WF_URL_STALL" --speed-limit 1 \
                --speed-time "$WF_URL_STALL" ${WF_URL_CA:+--cacert} ${WF_URL_CA:+"$WF_URL_CA"} \
                -T "$3" -o "$WF_X_TMP.body" -w '%{http_code} %{size_upload}' "$2" \
                >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            ;;
        post)
            # curl -F reads a file name in double quotes with \ escapes; the form's other fields
            # are in a curl config file written by the probe (wf_url_curl_form)
            wf_url_cfg_escape "$3"
            curl -q -sS -H 'Expect:' --connect-timeout "$WF_URL_STALL" --speed-limit 1 \
                --speed-time "$WF_URL_STALL" ${WF_URL_CA:+--cacert} ${WF_URL_CA:+"$WF_URL_CA"} \
                -K "$WF_META/form.curlrc" --form-string "key=$4" -F "file=@\"$WF_ESC\"" \
                -o "$WF_X_TMP.body" -w '%{http_code} %{size_upload}' "$2" \
                >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            ;;
    esac
    read -r WF_X_CODE WF_X_SIZE <"$WF_X_TMP.res" || :
    WF_X_CODE=${WF_X_CODE:-000}
    WF_X_SIZE=${WF_X_SIZE:--}
    WF_X_SIZE=${WF_X_SIZE%.*}
}

# wf_url_cfg_escape TEXT: WF_ESC is TEXT with '\' and '"' escaped by '\' (curl's quoting).
wf_url_cfg_escape() {
    WF_ESC=
    _ce_rest=$1
    while :; do
        case $_ce_rest in
            *[\\\"]*)
                _ce_head=${_ce_rest%%[\\\"]*}
                _ce_rest=${_ce_rest#"$_ce_head"}
                WF_ESC=$WF_ESC$_ce_head\\${_ce_rest%"${_ce_rest#?}"}
                _ce_rest=${_ce_rest#?}
                ;;
            *)
                WF_ESC=$WF_ESC$_ce_rest
                return 0
                ;;
        esac
    done
}

# wf_url_curl_form: the POST form's fields as a curl config file (form-string = "name=value").
wf_url_curl_form() {
    : >"$WF_META/form.curlrc"
    wf_plan_fields wf_url_curl_form_rows
}

wf_url_curl_form_rows() {
    while IFS=$WF_TAB read -r _cf_name _cf_value; do
        wf_url_cfg_escape "$_cf_name=$_cf_value"
        printf 'form-string = "%s"\n' "$WF_ESC" >>"$WF_META/form.curlrc"
    done
}

# -- wget: GNU wget does GET, PUT and POST (a body file); BusyBox wget only GET -----------------

wf_url_wget() {
    case $2 in
        get)
            if [ "$1" = wget ]; then
                wget -nv -S --tries=1 --timeout="$WF_URL_STALL" ${WF_URL_NOIRI:+"$WF_URL_NOIRI"} \
                    ${WF_URL_CA:+"--ca-certificate=$WF_URL_CA"} -O "$4" "$3" \
                    2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            else
                # BusyBox wget has no working timeout (-T crashes it): a guard watches the file
                wget -q -S -O "$4" "$3" 2>"$WF_X_TMP.err" </dev/null &
                wf_url_guarded $! "$4"
            fi
            ;;
        put)
            wget -nv -S --tries=1 --timeout="$WF_URL_STALL" ${WF_URL_NOIRI:+"$WF_URL_NOIRI"} \
                ${WF_URL_CA:+"--ca-certificate=$WF_URL_CA"} --method=PUT --body-file="$4" \
                -O "$WF_X_TMP.body" "$3" 2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            ;;
        post)
            cat "$WF_X_TMP.pre" "$4" "$WF_X_TMP.post" >"$WF_X_TMP.form" || WF_X_RC=$?
            [ "$WF_X_RC" != 0 ] ||
                wget -nv -S --tries=1 --timeout="$WF_URL_STALL" ${WF_URL_NOIRI:+"$WF_URL_NOIRI"} \
                    ${WF_URL_CA:+"--ca-certificate=$WF_URL_CA"} --method=POST \
                    --header="Content-Type: multipart/form-data; boundary=$WF_X_BOUNDARY" \
                    --body-file="$WF_X_TMP.form" -O "$WF_X_TMP.body" "$3" \
                    2>"$WF_X_TMP.err" </dev/null || WF_X_RC=$?
            rm -f "$WF_X_TMP.form"
            ;;
    esac
    wf_url_headers "$WF_X_TMP.err"
}

# wf_url_headers FILE: the status and Content-Length of the last response in wget -S output.
wf_url_headers() {
    while IFS= read -r _uh_line; do
        case $_uh_line in
            '  HTTP/'*)
                _uh_line=${_uh_line#*HTTP/* }
                WF_X_CODE=${_uh_line%% *}
                WF_X_LEN=-
                ;;
            '  '[Cc]ontent-[Ll]ength:*)
                _uh_line=${_uh_line#*:}
                WF_X_LEN=${_uh_line# }
                WF_X_LEN=${WF_X_LEN%"$WF_X_CR"}
                ;;
        esac
    done <"$1"
}

WF_X_CR=$(printf '\r')

# wf_url_guarded PID FILE|- [SECONDS]: wait for the background client PID; kill it when FILE has
# not grown for WF_URL_STALL seconds (or, with -, after SECONDS). Sets WF_X_RC.
wf_url_guarded() {
    _gd_pid=$1
    wf_url_guard "$@" &
    _gd_guard=$!
    wait "$_gd_pid" || WF_X_RC=$?
    kill "$_gd_guard" 2>/dev/null || :
    wait "$_gd_guard" 2>/dev/null || :
    if [ -f "$WF_X_TMP.stalled" ]; then
        WF_X_MSG="no progress for ${WF_URL_STALL}s (stalled)"
        rm -f "$WF_X_TMP.stalled"
    fi
}

wf_url_guard() {
    _g_last=-1
    _g_idle=0
    _g_t=0
    while kill -0 "$1" 2>/dev/null; do
        sleep 1
        _g_t=$((_g_t + 1))
        if [ "$2" = - ]; then
            [ "$_g_t" -ge "$3" ] || continue
        else
            _g_now=-1
            [ ! -f "$2" ] || _g_now=$(wc -c <"$2")
            if [ "$_g_now" != "$_g_last" ]; then
                _g_last=$_g_now
                _g_idle=0
                continue
            fi
            _g_idle=$((_g_idle + 1))
            [ "$_g_idle" -ge "$WF_URL_STALL" ] || continue
        fi
        : >"$WF_X_TMP.stalled"
        kill "$1" 2>/dev/null || :
        return 0
    done
}

# -- the POST form for hand-written requests: $WF_X_TMP.pre, the file, $WF_X_TMP.post ---------

# wf_url_form KEY: write the parts around the file; WF_X_FORM is their total size in bytes.
wf_url_form() {
    {
        wf_plan_fields wf_url_form_fields
        printf -- '--%s\r\nContent-Disposition: form-data; name="key"\r\n\r\n%s\r\n' \
            "$WF_X_BOUNDARY" "$1"
        printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n' \
            "$WF_X_BOUNDARY"
        printf 'Content-Type: application/octet-stream\r\n\r\n'
    } >"$WF_X_TMP.pre"
    printf -- '\r\n--%s--\r\n' "$WF_X_BOUNDARY" >"$WF_X_TMP.post"
    _fm_n=$(wc -c <"$WF_X_TMP.pre")
    WF_X_FORM=$((_fm_n + ${#WF_X_BOUNDARY} + 8))
}

wf_url_form_fields() {
    while IFS=$WF_TAB read -r _ff_name _ff_value; do
        printf -- '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' \
            "$WF_X_BOUNDARY" "$_ff_name" "$_ff_value"
    done
}

# wf_url_split URL: WF_X_AUTH (host[:port]), WF_X_HOST, WF_X_PORT and WF_X_PATH (path?query)
# of a plain http URL.
wf_url_split() {
    _sp_rest=${1#http://}
    WF_X_AUTH=${_sp_rest%%[/?]*}
    WF_X_PATH=${_sp_rest#"$WF_X_AUTH"}
    case $WF_X_PATH in
        /*) ;;
        *) WF_X_PATH=/$WF_X_PATH ;;
    esac
    WF_X_HOST=${WF_X_AUTH%:*}
    WF_X_PORT=${WF_X_AUTH##*:}
    [ "$WF_X_HOST" != "$WF_X_AUTH" ] || WF_X_PORT=80
}

# -- BusyBox nc: a hand-written PUT or POST over plain http -----------------------------------

wf_url_nc() {
    wf_url_split "$2"
    _nc_size=$(wc -c <"$3")
    if [ "$1" = post ]; then
        _nc_len=$((WF_X_FORM + _nc_size))
        _nc_pre=$WF_X_TMP.pre
        _nc_post=$WF_X_TMP.post
        _nc_type="multipart/form-data; boundary=$WF_X_BOUNDARY"
    else
        _nc_len=$_nc_size
        _nc_pre=/dev/null
        _nc_post=/dev/null
        _nc_type=application/octet-stream
    fi
    wf_url_method "$1"
    {
        printf '%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: wfrewrite\r\nContent-Type: %s\r\n' \
            "$WF_X_METHOD" "$WF_X_PATH" "$WF_X_AUTH" "$_nc_type"
        printf 'Content-Length: %s\r\n\r\n' "$_nc_len"
        cat "$_nc_pre" "$3" "$_nc_post"
    } 2>/dev/null | nc -w "$WF_URL_STALL" "$WF_X_HOST" "$WF_X_PORT" >"$WF_X_TMP.body" 2>"$WF_X_TMP.err" &
    # nc has no idle timeout: allow the stall time plus 64 KiB/s
    wf_url_guarded $! - $((WF_URL_STALL + _nc_len / 65536))
    WF_X_SIZE=$_nc_size
    IFS=' ' read -r _nc_proto WF_X_CODE _nc_rest <"$WF_X_TMP.body" || :
    case $_nc_proto in
        HTTP/*) ;;
        *)
            WF_X_CODE=000
            WF_X_MSG=${WF_X_MSG:-"no HTTP response from $WF_X_AUTH"}
            ;;
    esac
}

wf_url_method() {
    case $1 in
        put) WF_X_METHOD=PUT ;;
        post) WF_X_METHOD=POST ;;
        *) WF_X_METHOD=GET ;;
    esac
}

# -- python3: GET, PUT and POST over http and https ----------------------------------------------

wf_url_python() {
    if [ "$1" = post ]; then
        _py_pre=$WF_X_TMP.pre
        _py_post=$WF_X_TMP.post
        wf_url_form "$4"
    else
        _py_pre=
        _py_post=
    fi
    python3 - "$1" "$2" "$3" "$WF_URL_STALL" "${WF_URL_CA:-}" "$_py_pre" "$_py_post" \
        "$WF_X_BOUNDARY" >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" <<'WF_PY' || WF_X_RC=$?
import os, ssl, sys, urllib.error, urllib.request
op, url, path, stall, ca, pre, post, boundary = sys.argv[1:9]
code, n, length, msg = 0, "-", "-", ""
try:
    ctx = ssl.create_default_context()
    if ca:
        ctx.load_verify_locations(ca)
    if op == "get":
        r = urllib.request.urlopen(url, timeout=int(stall), context=ctx)
        code, length, got = r.status, r.headers.get("Content-Length", "-"), 0
        with open(path, "wb") as f:
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                f.write(b)
                got += len(b)
        n = got
    else:
        size = os.path.getsize(path)
        head = open(pre, "rb").read() if pre else b""
        tail = open(post, "rb").read() if post else b""

        def body():
            yield head
            with open(path, "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    yield b
            yield tail

        hdrs = {"Content-Length": str(len(head) + size + len(tail))}
        if pre:
            hdrs["Content-Type"] = "multipart/form-data; boundary=" + boundary
        req = urllib.request.Request(url, data=body(), method=op.upper(), headers=hdrs)
        r = urllib.request.urlopen(req, timeout=int(stall), context=ctx)
        r.read()
        code, n = r.status, size
except urllib.error.HTTPError as e:
    code, msg = e.code, str(e.reason)
except Exception as e:
    code, msg = 0, "%s: %s" % (type(e).__name__, e)
print(code, n, length, " ".join(msg.split())[:300])
WF_PY
    read -r WF_X_CODE WF_X_SIZE WF_X_LEN WF_X_MSG <"$WF_X_TMP.res" || :
    [ "$WF_X_CODE" != 0 ] || WF_X_CODE=000
    WF_X_CODE=${WF_X_CODE:-000}
}

# -- perl (perl-base: IO::Socket::INET only): GET, PUT and POST over plain http --------------------

wf_url_perl() {
    if [ "$1" = post ]; then
        set -- "$1" "$2" "$3" "$WF_X_TMP.pre" "$WF_X_TMP.post" "$WF_X_BOUNDARY"
    else
        set -- "$1" "$2" "$3" "" "" ""
    fi
    perl - "$@" "$WF_URL_STALL" >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" <<'WF_PL' || WF_X_RC=$?
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
my ($op, $url, $file, $pre, $post, $boundary, $stall) = @ARGV;
my ($code, $n, $len, $msg) = (0, "-", "-", "");
sub done { $msg =~ s/\s+/ /g; print "$code $n $len $msg\n"; exit 0 }
$SIG{PIPE} = "IGNORE";
$SIG{ALRM} = sub { $code = 0; $msg = "no progress for ${stall}s (stalled)"; done() };
my ($auth, $path) = $url =~ m{^http://([^/?#]+)([^#]*)} or do { $msg = "not a plain http URL"; done() };
$path = "/$path" unless $path =~ m{^/};
my ($host, $port) = $auth =~ /^(.*?)(?::(\d+))?$/;
$port ||= 80;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "tcp", Timeout => $stall)
    or do { $msg = "cannot connect to $auth: $!"; done() };
binmode $s;
my $sel = IO::Select->new($s);
sub slurp { my $f = shift; return "" unless $f; open(my $h, "<:raw", $f) or die "$f: $!"; local $/; my $d = <$h>; return defined $d ? $d : "" }
sub put_all {
    my $d = shift; my $off = 0;
    while ($off < length $d) {
        alarm $stall; my $w = syswrite($s, $d, length($d) - $off, $off); alarm 0;
        defined $w or do { $msg = "send failed: $!"; done() };
        $off += $w;
    }
}
my $method = uc $op;
my $head = "$method $path HTTP/1.0\r\nHost: $auth\r\nUser-Agent: wfrewrite\r\n";
my ($fh, $size, $a, $z) = (undef, 0, "", "");
if ($op ne "get") {
    open($fh, "<:raw", $file) or do { $msg = "cannot read $file: $!"; done() };
    $size = -s $fh; $a = slurp($pre); $z = slurp($post);
    my $type = $pre ? "multipart/form-data; boundary=$boundary" : "application/octet-stream";
    $head .= "Content-Type: $type\r\nContent-Length: " . (length($a) + $size + length($z)) . "\r\n";
}
put_all("$head\r\n$a");
if ($fh) {
    my $sent = 0;
    while (1) {
        my $r = sysread($fh, my $buf, 1 << 16);
        defined $r or do { $msg = "cannot read $file: $!"; done() };
        last unless $r;
        put_all($buf); $sent += $r;
    }
    put_all($z);
    $n = $sent;
}
my $buf = "";
sub fill {
    $sel->can_read($stall) or do { $code = 0; $msg = "no progress for ${stall}s (stalled)"; done() };
    my $r = sysread($s, $buf, 1 << 16, length $buf);
    defined $r or do { $code = 0; $msg = "receive failed: $!"; done() };
    return $r;
}
until ($buf =~ /\r?\n\r?\n/) { fill() or do { $msg = "connection closed before a response"; done() } }
my ($hdr, $rest) = split /\r?\n\r?\n/, $buf, 2;
($code) = $hdr =~ m{^HTTP/\S+\s+(\d{3})};
defined $code or do { $code = 0; $msg = "not an HTTP response"; done() };
$len = $1 if $hdr =~ /^content-length:\s*(\d+)/im;
my $out;
if ($op eq "get") {
    if ($code =~ /^2/) { open($out, ">:raw", $file) or do { $msg = "cannot write $file: $!"; done() } }
    $n = 0;
}
$buf = defined $rest ? $rest : "";
while (1) {
    if (length $buf) { if ($out) { print $out $buf or do { $msg = "cannot write $file: $!"; done() } } $n += length $buf if $op eq "get"; $buf = "" }
    last if $op eq "get" && $len ne "-" && $n >= $len;
    fill() or last;
}
if ($out) { close($out) or do { $msg = "cannot write $file: $!"; done() } }
$msg = "connection closed after $n of $len bytes" if $op eq "get" && $len ne "-" && $n < $len;
$code = 0 if $msg;
done();
WF_PL
    read -r WF_X_CODE WF_X_SIZE WF_X_LEN WF_X_MSG <"$WF_X_TMP.res" || :
    [ "$WF_X_CODE" != 0 ] || WF_X_CODE=000
    WF_X_CODE=${WF_X_CODE:-000}
}

# -- bash's /dev/tcp: GET, PUT and POST over plain http (no other tool needed) ---------------------

wf_url_bash() {
    wf_url_split "$2"
    wf_url_method "$1"
    _bs_len=-
    _bs_pre=/dev/null
    _bs_post=/dev/null
    _bs_limit=
    if [ "$1" != get ]; then
        _bs_len=$(wc -c <"$3")
        WF_X_SIZE=$((_bs_len))
        # an upload cannot be watched by the file's growth: allow the stall time plus 64 KiB/s
        _bs_limit=$((WF_URL_STALL + _bs_len / 65536))
        if [ "$1" = post ]; then
            _bs_len=$((_bs_len + WF_X_FORM))
            _bs_pre=$WF_X_TMP.pre
            _bs_post=$WF_X_TMP.post
        fi
    fi
    bash -s "$WF_X_METHOD" "$WF_X_HOST" "$WF_X_PORT" "$WF_X_AUTH" "$WF_X_PATH" "$3" \
        "$_bs_len" "$_bs_pre" "$_bs_post" "$WF_X_BOUNDARY" "$WF_URL_STALL" \
        >"$WF_X_TMP.res" 2>"$WF_X_TMP.err" <<'WF_BASH' &
method=$1 host=$2 port=$3 auth=$4 path=$5 file=$6 len=$7 pre=$8 post=$9 boundary=${10} stall=${11}
exec 3<>"/dev/tcp/$host/$port" || { echo "000 - - cannot connect to $auth"; exit 0; }
{
    printf '%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: wfrewrite\r\n' "$method" "$path" "$auth"
    if [ "$method" != GET ]; then
        type=application/octet-stream
        [ "$pre" = /dev/null ] || type="multipart/form-data; boundary=$boundary"
        printf 'Content-Type: %s\r\nContent-Length: %s\r\n' "$type" "$len"
    fi
    printf '\r\n'
    [ "$method" = GET ] || cat "$pre" "$file" "$post"
} >&3 || { echo "000 - - send failed"; exit 0; }
IFS= read -r -t "$stall" status <&3 || { echo "000 - - no response within ${stall}s"; exit 0; }
status=${status%$'\r'}
code=${status#HTTP/* }
code=${code%% *}
clen=-
while IFS= read -r -t "$stall" line <&3; do
    line=${line%$'\r'}
    [ -n "$line" ] || break
    case ${line,,} in content-length:*) clen=${line#*:} clen=${clen// /} ;; esac
done
if [ "$method" = GET ] && [ "${code:0:1}" = 2 ]; then cat <&3 >"$file"; else cat <&3 >/dev/null; fi
echo "$code - $clen"
WF_BASH
    if [ -z "$_bs_limit" ]; then
        wf_url_guarded $! "$3"
    else
        wf_url_guarded $! - "$_bs_limit"
    fi
    read -r WF_X_CODE _bs_n WF_X_LEN WF_X_MSG <"$WF_X_TMP.res" || :
    WF_X_CODE=${WF_X_CODE:-000}
}
