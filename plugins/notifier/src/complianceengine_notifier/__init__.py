"""Send *new* failing findings (``open``, ``late``, ``missed``) to a JSON Lines file, an HTTP
endpoint, or both, once each.

It implements the ``complianceengine_notify`` hook, which complianceengine calls after every
audit with the findings that are not met.

From Python, register a :class:`Notifier`::

    import complianceengine as ce
    from complianceengine_notifier import Notifier

    notifier = Notifier(file=Path("out/new-findings.jsonl"), url="https://duty.example/hooks/findings")
    report = ce.audit(ruleset, registry, events, first_day=..., last_day=..., plugins=ce.Plugins([notifier]))

From the command line, the module itself is the plugin (installed under the ``complianceengine``
entry-point group as ``notifier``, or given with ``--plugin complianceengine_notifier``). It reads
its settings from the environment each time it is called and does nothing when neither
``COMPLIANCEENGINE_NOTIFY_FILE`` nor ``COMPLIANCEENGINE_NOTIFY_URL`` is set::

    COMPLIANCEENGINE_NOTIFY_FILE=out/new-findings.jsonl \\
    COMPLIANCEENGINE_NOTIFY_URL=https://duty.example/hooks/findings \\
    complianceengine audit rulesets/xiangshan/ruleset.yaml --registry ... --events ... --from ... --to ...

``COMPLIANCEENGINE_NOTIFY_STATE`` names the state file (see below). A command-line run is one
process, so it has nothing to remember between runs but that file: when only the URL is set,
``COMPLIANCEENGINE_NOTIFY_STATE`` is required (otherwise every run would send every finding again)
and its absence is an error rather than a flood.

What is sent
    ``file``: one JSON object per line (UTF-8, not ASCII-escaped) per new finding: the finding
    as ``Finding.model_dump(mode="json")`` plus ``ruleset`` (the ruleset id), ``as_of`` (the moment
    of the audit) and ``key`` (below). Lines are appended; the file is created when needed.

    ``url``: one ``POST`` per audit that has new findings, ``Content-Type: application/json``,
    body ``{"ruleset": ..., "as_of": ..., "findings": [...]}`` where each finding is its JSON dump
    plus its ``key`` (a receiver can use it to drop duplicates). Any answer other than 2xx
    (redirects are not followed), a refused connection or a timeout (``timeout`` seconds) raises
    :class:`NotifyError`; complianceengine reports it as a ``PluginError`` naming this plugin, inside the
    ``NotificationError`` that carries the finished report.
    With both, the POST comes first; if it fails, nothing is appended to the file either.

Which findings are new
    A finding is identified by its key: a hash of the ruleset id, the obligation, the subject
    (kind, id and role), the unit, the period's start and end (as UTC instants), the step and the
    status (:func:`key_fields` lists them, :func:`finding_key` computes the key). A finding whose
    key was sent before is not sent again. A finding whose status changes (``open`` to
    ``missed``, ``missed`` to ``late``) has a new key and is sent again, as is one whose period
    changes (a staffing shortfall that grows; a period clipped by a different audit range).
    Wording (``required``, ``observed``, ``note``) is not part of the key.

Where the memory lives
    ``state`` is a JSON file ``{"version": 1, "sent": [keys...]}``. It defaults to
    ``<file>.state.json`` when ``file`` is given. With a state file, the file *is* the memory: it
    is read at every call (so several notifiers, or successive processes, using the same state
    file share it) and replaced atomically (a temporary file, then ``os.replace``) after a
    successful delivery. With no state file (only ``url``, no ``state``) the :class:`Notifier`
    object remembers what it sent for as long as it lives, which suits a long-running process.

    Keys are recorded only after every target accepted the findings: a failed POST records
    nothing, so the same findings are sent on the next run. Delivery is therefore *at least
    once*: if the file append or the state write fails after the POST succeeded, the findings are
    sent again next time. There is no locking: do not run two audits against one state file at the
    same time. Keys are never forgotten; delete the state file to send everything again.

Findings and the report are only read, never modified.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from complianceengine import Finding, Report, hookimpl
from complianceengine.findings import FAILING

__all__ = ["ENV_FILE", "ENV_STATE", "ENV_URL", "Notifier", "NotifyError", "finding_key", "from_environment", "key_fields"]

ENV_FILE = "COMPLIANCEENGINE_NOTIFY_FILE"
ENV_URL = "COMPLIANCEENGINE_NOTIFY_URL"
ENV_STATE = "COMPLIANCEENGINE_NOTIFY_STATE"
STATE_VERSION = 1
USER_AGENT = "complianceengine-notifier/0.1.0"


class NotifyError(RuntimeError):
    """Findings could not be delivered, or the state file cannot be used."""


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.isoformat()
    return value.astimezone(dt.UTC).isoformat()


def key_fields(finding: Finding, ruleset: str) -> tuple[str | None, ...]:
    """What identifies a finding across runs (see the module documentation)."""
    return (
        ruleset,
        finding.obligation,
        finding.subject.kind,
        finding.subject.id,
        finding.subject.role,
        finding.unit,
        _instant(finding.period.start),
        _instant(finding.period.end),
        finding.step,
        finding.status,
    )


def finding_key(finding: Finding, ruleset: str) -> str:
    """The stable key of a finding: 32 hex digits of the SHA-256 of its :func:`key_fields`."""
    canonical = json.dumps(list(key_fields(finding, ruleset)), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _redacted(url: str) -> str:
    """The URL without credentials, query or fragment, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    with contextlib.suppress(ValueError):
        if parts.port is not None:
            host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib turns a redirected POST into a GET without the body: treat a redirect as a failure
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class Notifier:
    """Sends the findings it has not sent before to ``file`` (JSON Lines), ``url`` (HTTP POST) or both.

    ``state`` is the JSON file remembering the keys already sent (default ``<file>.state.json``
    when ``file`` is given; without one, this object remembers). ``timeout`` is in seconds, for
    the whole POST (connecting, sending and reading the answer). ``name`` is the plugin name complianceengine reports failures under; the default
    names the targets, so two notifiers with different targets can be registered together.
    """

    def __init__(
        self,
        file: Path | str | None = None,
        url: str | None = None,
        state: Path | str | None = None,
        timeout: float = 5.0,
        *,
        name: str | None = None,
    ):
        if file is None and url is None:
            raise ValueError("a Notifier needs a file, a url, or both")
        if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"url must be an http:// or https:// URL, not {_redacted(url)!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.file = Path(file) if file is not None else None
        self.url = url
        if state is not None:
            self.state: Path | None = Path(state)
        elif self.file is not None:
            self.state = self.file.with_name(self.file.name + ".state.json")
        else:
            self.state = None
        self.timeout = timeout
        self._sent: set[str] = set()
        targets = [f"file={self.file}"] if self.file is not None else []
        targets += [f"url={_redacted(url)}"] if url is not None else []
        # complianceengine's Plugins names a plugin by its __name__
        self.__name__ = name or f"Notifier({', '.join(targets)})"

    def __repr__(self) -> str:
        return f"<{self.__name__}>"

    @hookimpl
    def complianceengine_notify(self, findings: list[Finding], report: Report) -> None:
        self.notify(findings, report)

    def notify(self, findings: Iterable[Finding], report: Report) -> list[dict[str, Any]]:
        """Send the findings of ``report`` that are failing and new; return what was sent
        (one dict per finding, as written to the file)."""
        sent = self._load()
        new: dict[str, Finding] = {}
        for finding in findings:
            if finding.status not in FAILING:
                continue
            key = finding_key(finding, report.ruleset)
            if key not in sent and key not in new:
                new[key] = finding
        if not new:
            return []
        header = report.model_dump(mode="json", include={"ruleset", "as_of"})
        dumps = [{**finding.model_dump(mode="json"), "key": key} for key, finding in new.items()]
        if self.url is not None:
            self._post({"ruleset": header["ruleset"], "as_of": header["as_of"], "findings": dumps})
        records = [{**dump, "ruleset": header["ruleset"], "as_of": header["as_of"], "key": dump["key"]} for dump in dumps]
        if self.file is not None:
            self._append(records)
        self._remember(sent | new.keys())
        return records

    # ---------------------------------------------------------------------------------- targets

    def _post(self, payload: Mapping[str, Any]) -> None:
        """POST ``payload``, all of it within ``timeout`` seconds: the socket's timeout is per
        read, so a receiver that drips one byte at a time would otherwise hold the audit forever.
        The request runs in a daemon thread the audit stops waiting for at the deadline."""
        assert self.url is not None
        failed: list[BaseException] = []

        def send() -> None:
            try:
                self._post_once(payload)
            except BaseException as exc:  # handed to the waiting thread
                failed.append(exc)

        worker = threading.Thread(target=send, name="complianceengine-notifier-post", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise NotifyError(
                f"POST {_redacted(self.url)} gave no complete answer within {self.timeout:g} s; nothing was recorded as sent; "
                "the findings will be sent again on the next run"
            )
        if failed:
            raise failed[0]

    def _post_once(self, payload: Mapping[str, Any]) -> None:
        assert self.url is not None
        where = _redacted(self.url)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
        )
        retry = "nothing was recorded as sent; the findings will be sent again on the next run"
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status, reason = response.status, response.reason
        except urllib.error.HTTPError as exc:
            detail = ""
            with contextlib.suppress(Exception):
                text = exc.read(300).decode("utf-8", "replace").strip()
                detail = f": {text}" if text else ""
            raise NotifyError(f"POST {where} answered HTTP {exc.code} {exc.reason}{detail}; {retry}") from exc
        except urllib.error.URLError as exc:
            raise NotifyError(f"POST {where} failed: {exc.reason}; {retry}") from exc
        except (OSError, ValueError) as exc:  # timeouts while reading, malformed URLs
            raise NotifyError(f"POST {where} failed: {type(exc).__name__}: {exc}; {retry}") from exc
        if not 200 <= status < 300:
            raise NotifyError(f"POST {where} answered HTTP {status} {reason}; {retry}")

    def _append(self, records: list[dict[str, Any]]) -> None:
        assert self.file is not None
        text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        try:
            with self.file.open("a", encoding="utf-8", newline="\n") as out:
                out.write(text)
        except OSError as exc:
            raise NotifyError(f"cannot append to {self.file}: {exc.strerror or exc}") from exc

    # ------------------------------------------------------------------------------------ state

    def _load(self) -> set[str]:
        if self.state is None:
            return set(self._sent)
        try:
            text = self.state.read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise NotifyError(f"cannot read the state file {self.state}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError(f"expected an object with \"version\": {STATE_VERSION}")
            keys = data.get("sent")
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ValueError('"sent" must be a list of keys')
        except ValueError as exc:
            raise NotifyError(
                f"the state file {self.state} is not a notifier state ({exc}); fix it, or delete it to send every current finding again"
            ) from exc
        return set(keys)

    def _remember(self, keys: set[str]) -> None:
        if self.state is None:
            self._sent = set(keys)
            return
        text = json.dumps({"version": STATE_VERSION, "sent": sorted(keys)}, indent=1) + "\n"
        try:
            handle, temporary = tempfile.mkstemp(dir=self.state.parent, prefix=f".{self.state.name}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, self.state)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            raise NotifyError(
                f"the findings were delivered but the state file {self.state} cannot be written ({exc.strerror or exc}); "
                "they will be sent again on the next run"
            ) from exc


# ------------------------------------------------------------------------------ the module plugin


def from_environment(environ: Mapping[str, str] | None = None) -> Notifier | None:
    """The notifier configured by ``COMPLIANCEENGINE_NOTIFY_FILE``, ``_URL`` and ``_STATE``, or
    ``None`` when neither a file nor a URL is set. Empty values count as unset."""
    env = os.environ if environ is None else environ
    file, url, state = (env.get(name) or None for name in (ENV_FILE, ENV_URL, ENV_STATE))
    if file is None and url is None:
        return None
    if file is None and state is None:
        raise NotifyError(
            f"{ENV_URL} is set without {ENV_STATE}: set {ENV_STATE} to a file where the notifier remembers what it sent "
            f"(or set {ENV_FILE}, whose state file is then used); otherwise every run would send every finding again"
        )
    return Notifier(file=file, url=url, state=state, name=__name__)


@hookimpl
def complianceengine_notify(findings: list[Finding], report: Report) -> None:
    """The module as a plugin: a :class:`Notifier` built from the environment at every call."""
    notifier = from_environment()
    if notifier is not None:
        notifier.notify(findings, report)
