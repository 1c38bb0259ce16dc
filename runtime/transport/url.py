"""The ``url`` transport, driver side: put the inputs where the script can GET them, tell it
where to send the outputs, and bring the results back once its manifest is there.

    t = UrlTransport(Options(transport="url", store="http://127.0.0.1:8089/wfr/"))
    facts = t.gather(plan, "/runs/t1")          # uploads /data/names.txt, presigns (I/O)
    plan = run_passes(plan, facts, t.passes(...))   # bind_urls: the plan now names URLs only
    ... the executor runs the script with nothing mounted ...
    t.fetch(plan, "/runs/t1")                   # manifest first, then what it lists
    # t.bind(plan) does the first two in one call (tests, benchmarks)

For the task of ``wfrewrite.compiler.plan.ir``'s docstring (input ``/data/names.txt``, output
``n.txt``) and ``--store http://127.0.0.1:8089/wfr/``, binding uploads the input once and turns
the plan's staging list and destinations into URLs (run key ``5f2c...``):

    StageItem(source="http://127.0.0.1:8089/wfr/5f2c/in/0/names.txt",
              path="/tmp/wfr/work/_miniwdl_inputs/0/names.txt", size=12, checksum="sha1$...")
    UrlSpec(upload="put", upload_url="http://127.0.0.1:8089/wfr/5f2c/out/")

and the script's epilogue sends ``PUT http://127.0.0.1:8089/wfr/5f2c/out/work/n.txt``, then
``PUT .../out/wfrewrite/manifest.json``. With ``--store s3://bucket/runs`` the input URL is a
presigned GET (``X-Amz-Expires``, ``X-Amz-Signature``) and the outputs go out as below.

How outputs are named, and why. Output names are not known before the command has run (globs,
Directory outputs), so the driver never mints one URL per output; it hands the script a *prefix*
under which it may write, and each output is named by its path relative to the task's root:

- an HTTP or WebDAV store (nginx with ``dav_methods PUT``): a PUT prefix. Work file ``a b.txt``
  goes to ``PUT <prefix>work/a%20b.txt``. Clients: curl, GNU wget, python3; over plain http also
  perl, bash's /dev/tcp and BusyBox nc (BusyBox wget cannot PUT).
- an S3 store: one presigned POST policy (``generate_presigned_post``) with the condition
  ``["starts-with", "$key", "runs/5f2c/out/"]`` and the same expiry as the GET URLs; the script
  POSTs a multipart form: the policy's fields, ``key=runs/5f2c/out/work/a b.txt``, the file. A
  presigned PUT names exactly one key, and a POST policy is S3's only credential-free way to let
  the uploader choose names under a prefix (SeaweedFS checks the signature, the expiry and the
  prefix). Clients: curl -F, python3; over plain http perl, bash and BusyBox nc with a hand-built
  form, GNU wget from a body file.

Not taken: a tar of the outputs to one presigned PUT (needs tar in the image, one stream instead
of parallel transfers, S3's 5 GiB single-PUT limit), and a pool of presigned PUT URLs for
"slots" (the count is unknown, and each URL is half a kilobyte of script). The manifest goes
last under the same prefix (``wfrewrite/manifest.json``); ``fetch`` reads it and only then the
objects it lists, checking each one's size and sha1 (and every body against its Content-Length;
what does not check out is read again, ``VERIFY_ATTEMPTS`` times in all, then refused), so an
object that was not fully uploaded is never taken for an output. No credential ever enters the script: the driver holds them (boto3's
usual chain) and hands out presigned URLs that expire. The stores are ``stores.py``.

Inputs given as URIs (s3://, http(s)://) reach miniwdl as empty local placeholders
(``remote.RemoteInputs``); binding turns each back into its URI, so their bytes never pass
through this machine unless an output names one (``fill_placeholder``).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.compiler.emit import emit, stage_list
from wfrewrite.compiler.plan import (
    LiteralFile,
    Pass,
    StageItem,
    TaskPlan,
    UrlSpec,
    check,
    run_passes,
)

from ..job import Job
from ..options import Options
from .base import Transport
from .fetch import fetch_listed
from .remote import RemoteInputs
from .stores import Store, get_checked, open_store

# The task's directory inside a container when nothing is mounted: /tmp is writable in every
# image, for any uid, and stays writable under --read-only (a tmpfs).
URL_CONTAINER_ROOT = "/tmp/wfr"
# The script must fit in one argv word (Linux MAX_ARG_STRLEN, 128 KiB with the NUL) so that it
# can be passed as `sh -c SCRIPT` where nothing is mounted.
SCRIPT_MAX = 128 * 1024 - 1
# A staging list longer than this travels as one more download instead of inside the script.
STAGE_INLINE_MAX = 32 * 1024


@dataclass(frozen=True, slots=True)
class UrlFacts:
    """What binding found out with I/O: the run's key, the outputs' destination and the
    staging list with every source an URL the script can GET (uploaded, presigned)."""

    run: str
    spec: UrlSpec
    stage: tuple[StageItem, ...]


def bind_urls(plan: TaskPlan, facts: UrlFacts) -> TaskPlan:
    """The pass: ``plan`` with the url transport, its staging list and destinations bound."""
    return plan.replace(transport="url", url=facts.spec, stage=facts.stage)


class UrlTransport(RemoteInputs, Transport):
    """Binds plans to one store, uploading each local input once per process (a scatter's tasks
    share their inputs), and fetches what the scripts uploaded."""

    name = "url"
    mounts = False
    verifies = True

    def __init__(self, options: Options, store: Store | None = None) -> None:
        Transport.__init__(self, options)
        RemoteInputs.__init__(self)
        if not options.store:
            raise WfError("the url transport needs a store (--store http://... or s3://...)")
        self.store = store or open_store(options)
        if not self.store.serves_urls:
            raise WfError(
                f"--store {options.store}: the url transport needs an http(s):// or s3:// store "
                "(a file:// store is for the platform transport, where the platform reads it)"
            )
        self._uploaded: dict[tuple[str, int, int], tuple[str, int, str]] = {}
        # bound URL of a remote input -> its local placeholder (see restore_placeholders)
        self.placeholder_of: dict[str, str] = {}
        self._ca_pem = ""
        if options.store_ca:
            with open(options.store_ca, encoding="ascii") as f:
                self._ca_pem = f.read()

    def container_root(self, mounted_root: str) -> str:
        return URL_CONTAINER_ROOT

    # -- binding -----------------------------------------------------------------------------

    def gather(self, plan: TaskPlan, host_root: str, run_key: str | None = None) -> UrlFacts:
        """Upload or presign every input; the outputs' destination; and (when long) the staging
        list as one more download."""
        run = run_key or new_run_key(plan.name)
        items: list[StageItem] = []
        for n, item in enumerate(plan.stage):
            items += self._items(item, f"{run}/in/{n}")
        method, url, key_prefix, fields = self.store.upload_spec(f"{run}/out/")
        o = self.options
        spec = UrlSpec(
            upload=method,  # type: ignore[arg-type]
            upload_url=url,
            key_prefix=key_prefix,
            fields=fields,
            ca_pem=self._ca_pem,
            expires=int(time.time()) + o.url_expires,
            parallel=o.url_parallel,
            retries=o.url_retries,
            backoff_ms=o.url_backoff_ms,
            stall=o.url_stall,
        )
        facts = UrlFacts(run=run, spec=spec, stage=tuple(items))
        listing = stage_list(check(bind_urls(plan, facts))).encode()
        if len(listing) > STAGE_INLINE_MAX:
            key = f"{run}/wfrewrite/stage.tsv"
            self.store.put_bytes(key, listing)
            spec = replace(
                spec,
                stage_list=self.store.key_url(key),
                stage_list_size=len(listing),
                stage_list_sha1=hashlib.sha1(listing).hexdigest(),
            )
            facts = replace(facts, spec=spec)
        return facts

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        return [bind_urls]

    def finish(self, job: Job, facts: Any) -> Job:
        """Keep the script within one argv word: literal files move out to the store, largest
        first, while it does not fit."""
        plan, script = job.plan, job.script
        if len(script.encode()) <= SCRIPT_MAX:
            return job
        literals = sorted(plan.literals, key=lambda lit: len(lit.content), reverse=True)
        while len(script.encode()) > SCRIPT_MAX:
            movable = [lit for lit in literals if lit.kind == "file" and len(lit.content) > 256]
            if not movable:
                raise WfError(
                    f"task {plan.name}: the script is {len(script.encode())} bytes, more than "
                    f"the {SCRIPT_MAX} that fit in `sh -c` (is the command itself that long?)",
                    plan.source,
                )
            lit = movable[0]
            literals.remove(lit)
            plan = check(self._literal_to_stage(plan, lit, facts.run))
            script = emit(plan)
        return job.replace(plan=plan, script=script)

    def bind(self, plan: TaskPlan, run_key: str | None = None) -> TaskPlan:
        """Gather, bind and fit in one call: ``plan`` as a url-transport plan."""
        facts = self.gather(plan, "", run_key)
        plan = run_passes(plan, facts, self.passes(isolated=True, link_mode="copy"))
        job = Job(plan=plan, script=emit(plan), host_root="", name=facts.run)
        return self.finish(job, facts).plan

    def _items(self, item: StageItem, key: str) -> list[StageItem]:
        src = item.source
        remote = self.remote_uri(src)
        if remote is not None:
            out = self._items(replace(item, source=remote, size=None), key)
            if item.kind == "file":
                self.placeholder_of[out[0].source] = src
            return out
        if src.startswith("/"):
            if item.kind == "directory":
                return self._local_dir(item, key)
            url, size, sha1 = self._upload(src, f"{key}/{posixpath.basename(src)}")
            return [replace(item, source=url, size=size, checksum=f"sha1${sha1}")]
        if item.kind == "directory":
            out = [replace(item, source=src)]
            for rel, size in self.store.list_dir(src):
                url, _ = self.store.resolve(src.rstrip("/") + "/" + rel)
                out.append(
                    StageItem(
                        source=url, path=f"{item.path}/{rel}", size=size, writable=item.writable
                    )
                )
            return out
        if src.startswith(("http://", "https://")) and item.size is not None:
            return [item]  # a URL whose size the front end knew already
        url, known = self.store.resolve(src)
        return [replace(item, source=url, size=known if known is not None else item.size)]

    def _local_dir(self, item: StageItem, key: str) -> list[StageItem]:
        top = item.source.rstrip("/")
        base = f"{key}/{posixpath.basename(top)}"
        out = [replace(item, source=self.store.key_url(base + "/"))]
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, top)
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            for d in dirnames:
                out.append(
                    StageItem(
                        source=self.store.key_url(f"{base}/{rel_dir}{d}/"),
                        path=f"{item.path}/{rel_dir}{d}",
                        kind="directory",
                        writable=item.writable,
                    )
                )
            for name in sorted(filenames):
                url, size, sha1 = self._upload(
                    os.path.join(dirpath, name), f"{base}/{rel_dir}{name}"
                )
                out.append(
                    StageItem(
                        source=url,
                        path=f"{item.path}/{rel_dir}{name}",
                        size=size,
                        checksum=f"sha1${sha1}",
                        writable=item.writable,
                    )
                )
        return out

    def _upload(self, path: str, key: str) -> tuple[str, int, str]:
        st = os.stat(path)
        ident = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        if ident not in self._uploaded:
            size, sha1 = self.store.put_file(key, path)
            self._uploaded[ident] = (key, size, sha1)
        key, size, sha1 = self._uploaded[ident]
        return self.store.key_url(key), size, sha1

    def _literal_to_stage(self, plan: TaskPlan, lit: LiteralFile, run: str) -> TaskPlan:
        key = f"{run}/lit/{hashlib.sha1(lit.path.encode()).hexdigest()[:12]}"
        self.store.put_bytes(key, lit.content)
        item = StageItem(
            source=self.store.key_url(key),
            path=lit.path,
            size=len(lit.content),
            checksum="sha1$" + hashlib.sha1(lit.content).hexdigest(),
        )
        if lit.executable:
            raise WfError(f"task {plan.name}: an executable literal file too large to inline")
        return plan.replace(
            literals=tuple(x for x in plan.literals if x is not lit), stage=(*plan.stage, item)
        )

    # -- results ------------------------------------------------------------------------------

    def fetch(self, plan: TaskPlan, host_root: str) -> bool:
        """The manifest and the files it lists, into ``host_root`` (see ``fetch``); a remote
        input that is also an output gets the fetched content in its placeholder."""
        if plan.transport != "url":
            return True
        if not fetch(plan, self.store, host_root):
            return False
        self.restore_placeholders(plan, host_root, self.placeholder_of)
        return True


def new_run_key(task: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task)[:40]
    return f"{safe}-{uuid.uuid4().hex[:12]}"


# -- fetching the results ------------------------------------------------------------------------


def fetch(plan: TaskPlan, store: Store, host_root: str) -> bool:
    """Bring the manifest, then every file it lists, into ``host_root``; each file's size and
    sha1 are checked against the manifest (and the manifest is whole JSON), each read again if
    it is not (``VERIFY_ATTEMPTS``). False if there is no manifest (the script did not finish or
    could not upload it). Logs (stdout/stderr) come along when they are there."""
    assert plan.url is not None
    read = store.output_reader(plan.url)
    return fetch_listed(
        lambda rel, dest, size, sha1, verify: get_checked(read, rel, dest, size, sha1, verify),
        plan,
        host_root,
    )
