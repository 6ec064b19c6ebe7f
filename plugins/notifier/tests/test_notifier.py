import datetime as dt
import http.server
import importlib.metadata
import json
import socket
import sys
import threading
from pathlib import Path

import complianceengine_notifier as notifier_module
import pytest
from complianceengine_notifier import Notifier, NotifyError, finding_key

import complianceengine as ce
from complianceengine import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from conftest import XIANGSHAN, base_registry, base_ruleset, event, local

DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
         "at_least": 1}
ACK = {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
       "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"}]}
EVENTS = [
    event("p1", "patrol", local(2026, 8, 1), actor="a", unit="d1"),
    event("r1", "report", local(2026, 8, 2, 10), unit="d1", attributes={"case": "A"}),
]
FIRST_AS_OF = local(2026, 8, 3, 0)  # the ack of case A is due 3 Aug 10:00: open
LATER_AS_OF = local(2026, 8, 4, 0)  # ... and now missed


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    # the test servers are on 127.0.0.1: never route them through a proxy from the environment
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")
    for name in (notifier_module.ENV_FILE, notifier_module.ENV_URL, notifier_module.ENV_STATE):
        monkeypatch.delenv(name, raising=False)


def run(*plugins, as_of=FIRST_AS_OF, entry_points=False):
    # to 3 August: the ack of case A is due then (an audit reports what is due in its range)
    return ce.audit(base_ruleset(DAILY, ACK), base_registry(), EVENTS, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 3),
                    as_of=as_of, plugins=ce.Plugins(plugins, entry_points=entry_points))


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def summary(record):
    return record["obligation"], record["subject"]["id"], record["period"]["label"], record.get("step"), record["status"]


# ------------------------------------------------------------------------------------ file


def test_file_gets_each_new_failing_finding_once(tmp_path):
    out = tmp_path / "new.jsonl"
    report = run(Notifier(file=out))
    failing = [f for f in report.findings if f.status in ("open", "late", "missed")]
    assert {f.status for f in report.findings} == {"met", "missed", "open"}
    written = lines(out)
    assert sorted(summary(r) for r in written) == sorted([
        ("daily", "a", "2026-08-02", None, "missed"),
        ("daily", "b", "2026-08-01", None, "missed"),
        ("daily", "b", "2026-08-02", None, "missed"),
        ("daily", "a", "2026-08-03", None, "open"),
        ("daily", "b", "2026-08-03", None, "open"),
        ("ack", "case=A", "2026-08-02 10:00 to 2026-08-03 10:00", "acked", "open"),
    ])
    assert len(written) == len(failing)
    first = written[0]
    assert first["ruleset"] == "mini" and first["as_of"] == report.model_dump(mode="json")["as_of"]
    assert first["key"] == finding_key(failing[0], "mini")
    assert {k: v for k, v in first.items() if k not in ("ruleset", "as_of", "key")} == failing[0].model_dump(mode="json")
    state = json.loads((tmp_path / "new.jsonl.state.json").read_text(encoding="utf-8"))
    assert state == {"version": 1, "sent": sorted(r["key"] for r in written)}

    # the same audit again: nothing new (a new Notifier object: the memory is the state file)
    run(Notifier(file=out))
    assert len(lines(out)) == 6

    # a day later the open acknowledgement and the open days are missed: only those are new
    run(Notifier(file=out), as_of=LATER_AS_OF)
    written = lines(out)
    assert len(written) == 9
    assert sorted(summary(r) for r in written[6:]) == [
        ("ack", "case=A", "2026-08-02 10:00 to 2026-08-03 10:00", "acked", "missed"),
        ("daily", "a", "2026-08-03", None, "missed"), ("daily", "b", "2026-08-03", None, "missed"),
    ]
    assert written[-1]["as_of"].startswith("2026-08-04")
    assert all(r["status"] != "met" for r in written)


def test_met_findings_are_never_sent_even_when_passed(tmp_path):
    report = run()
    sent = Notifier(file=tmp_path / "all.jsonl").notify(report.findings, report)
    assert len(sent) == 6 and all(r["status"] in ("open", "late", "missed") for r in sent)


def test_explicit_state_file_and_utf8(tmp_path):
    out, state = tmp_path / "new.jsonl", tmp_path / "memory" / "sent.json"
    state.parent.mkdir()
    registry = base_registry().model_dump()
    registry["people"][0]["name"] = "蒋斌"
    report = ce.audit(base_ruleset(DAILY), ce.Registry.model_validate(registry), [], first_day=dt.date(2026, 8, 1),
                      last_day=dt.date(2026, 8, 1), as_of=FIRST_AS_OF, plugins=ce.Plugins([Notifier(file=out, state=state)]))
    assert "蒋斌" in out.read_text(encoding="utf-8")  # not \\u-escaped
    assert not (tmp_path / "new.jsonl.state.json").exists()
    assert len(json.loads(state.read_text(encoding="utf-8"))["sent"]) == len(report.findings) == 2
    assert [p.name for p in state.parent.iterdir()] == ["sent.json"]  # no temporary file left behind


def test_a_broken_state_file_is_an_error_not_a_flood(tmp_path):
    out = tmp_path / "new.jsonl"
    (tmp_path / "new.jsonl.state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ce.NotificationError, match=r"Notifier\(file=.*is not a notifier state"):
        run(Notifier(file=out))
    assert not out.exists()


def test_status_and_period_are_part_of_the_key():
    report = run()
    finding = next(f for f in report.findings if f.status == "missed")
    assert finding_key(finding, "mini") == finding_key(finding.model_copy(), "mini")
    assert finding_key(finding, "mini") != finding_key(finding.model_copy(update={"status": "late"}), "mini")
    assert finding_key(finding, "mini") != finding_key(finding, "other")
    # the same instant in another zone is the same period
    shifted = finding.period.model_copy(update={"start": finding.period.start.astimezone(dt.UTC)})
    assert finding_key(finding, "mini") == finding_key(finding.model_copy(update={"period": shifted}), "mini")
    assert finding_key(finding, "mini") == finding_key(finding.model_copy(update={"observed": "reworded", "note": "n"}), "mini")


def test_inputs_are_not_modified(tmp_path):
    report = run()
    before = report.model_dump()
    failing = [f for f in report.findings if f.status in ("open", "late", "missed")]
    dumps = [f.model_dump() for f in failing]
    Notifier(file=tmp_path / "new.jsonl").complianceengine_notify(failing, report)
    assert report.model_dump() == before
    assert [f.model_dump() for f in failing] == dumps and len(failing) == 6


def test_needs_a_target_and_an_http_url(tmp_path):
    with pytest.raises(ValueError, match="needs a file, a url"):
        Notifier()
    with pytest.raises(ValueError, match="http"):
        Notifier(url="file:///etc/passwd")


# ------------------------------------------------------------------------------------ HTTP


class Receiver:
    """A local HTTP server recording the POSTs it receives and answering ``status``."""

    def __init__(self, status=200):
        self.status = status
        self.received = []

    def __enter__(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, self.headers["Content-Type"], json.loads(body.decode("utf-8"))))
                answer = b"" if receiver.status < 300 else b"database is down"
                self.send_response(receiver.status)
                if receiver.status in (301, 302, 303, 307, 308):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/findings"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_http_posts_one_document_per_audit_with_only_new_findings(tmp_path):
    state = tmp_path / "state.json"
    with Receiver() as server:
        report = run(Notifier(url=server.url, state=state))
        ((path, content_type, payload),) = server.received
        assert path == "/hooks/findings" and content_type == "application/json"
        assert set(payload) == {"ruleset", "as_of", "findings"}
        assert payload["ruleset"] == "mini" and payload["as_of"] == report.model_dump(mode="json")["as_of"]
        failing = [f for f in report.findings if f.status in ("open", "late", "missed")]
        assert [f["key"] for f in payload["findings"]] == [finding_key(f, "mini") for f in failing]
        assert [{k: v for k, v in f.items() if k != "key"} for f in payload["findings"]] == [f.model_dump(mode="json") for f in failing]

        run(Notifier(url=server.url, state=state))
        assert len(server.received) == 1  # nothing new: no POST at all

        run(Notifier(url=server.url, state=state), as_of=LATER_AS_OF)
        assert len(server.received) == 2
        assert sorted((f["obligation"], f["status"]) for f in server.received[1][2]["findings"]) == [
            ("ack", "missed"), ("daily", "missed"), ("daily", "missed")]


def test_http_failure_names_the_plugin_and_is_retried(tmp_path):
    out, state = tmp_path / "new.jsonl", tmp_path / "state.json"
    with Receiver(status=500) as bad:
        with pytest.raises(ce.NotificationError, match=r"plugin 'Notifier\(file=\S+new.jsonl, url=http://127.0.0.1:\d+/hooks/findings\)' failed.*HTTP 500") as failure:
            run(Notifier(file=out, url=bad.url, state=state))
        assert "database is down" in str(failure.value) and failure.value.failures[0].hook == "complianceengine_notify"
        assert len(bad.received) == 1
    assert not state.exists() and not out.exists()  # nothing recorded as sent, nothing written
    with Receiver() as good:
        run(Notifier(file=out, url=good.url, state=state))
        assert len(good.received[0][2]["findings"]) == 6
    assert len(lines(out)) == 6 and len(json.loads(state.read_text(encoding="utf-8"))["sent"]) == 6


def test_in_memory_state_retries_after_a_refused_connection():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier = Notifier(url=f"http://user:secret@127.0.0.1:{port}/hook?token=secret")
    with pytest.raises(ce.NotificationError, match="POST http://127.0.0.1:.*/hook failed") as failure:
        run(notifier)
    assert "secret" not in str(failure.value)
    with Receiver() as server:
        notifier.url = server.url
        run(notifier)
        run(notifier)  # remembered by the object
        assert [len(payload["findings"]) for _, _, payload in server.received] == [6]


def test_redirects_are_failures_not_silent_gets(tmp_path):
    with Receiver(status=302) as server:
        with pytest.raises(ce.NotificationError, match="HTTP 302"):
            run(Notifier(url=server.url, state=tmp_path / "state.json"))
        assert len(server.received) == 1


# ------------------------------------------------------------------------- the real sample


def test_xiangshan_sample_writes_one_line_per_failing_finding(tmp_path):
    ruleset = ce.load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = ce.load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    events = ce.read_events(XIANGSHAN / "sample" / "events.jsonl", ruleset, registry)
    out = tmp_path / "new.jsonl"

    def audit():
        return ce.audit(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31),
                        as_of=dt.datetime.fromisoformat("2026-11-01T00:00+08:00"), plugins=ce.Plugins([Notifier(file=out)]))

    report = audit()
    failing = report.failing("open")
    assert failing and len(lines(out)) == len(failing)
    assert len({r["key"] for r in lines(out)}) == len(failing)  # keys tell every failing finding apart
    audit()
    assert len(lines(out)) == len(failing)


# ------------------------------------------------------------------- the module as a plugin


def cli_audit(tmp_path, *options):
    return cli.main([
        "--plugin", "complianceengine_notifier", "--no-entry-points", *options,
        "audit", str(XIANGSHAN / "ruleset.yaml"), "--registry", str(XIANGSHAN / "sample" / "registry.yaml"),
        "--events", str(XIANGSHAN / "sample" / "events.jsonl"), "--from", "2026-08-01", "--to", "2026-10-31",
        "--as-of", "2026-11-01T00:00:00+08:00", "--format", "json", "--output", str(tmp_path / "report.json"), "--fail-on", "none",
    ])


def test_module_plugin_configured_from_the_environment(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli.jsonl"
    assert cli_audit(tmp_path) == 0  # nothing configured: does nothing
    assert not out.exists()
    monkeypatch.setenv(notifier_module.ENV_FILE, str(out))
    assert cli_audit(tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    failing = [f for f in report["findings"] if f["status"] in ("open", "late", "missed")]
    assert len(lines(out)) == len(failing) > 0
    assert (tmp_path / "cli.jsonl.state.json").exists()
    assert cli_audit(tmp_path) == 0
    assert len(lines(out)) == len(failing)  # a second process-like run sends nothing new

    # a URL alone would forget everything between runs: refused, naming the plugin
    monkeypatch.delenv(notifier_module.ENV_FILE)
    monkeypatch.setenv(notifier_module.ENV_URL, "http://127.0.0.1:9/hook")
    capsys.readouterr()
    assert cli_audit(tmp_path) == 2
    assert "plugin 'complianceengine_notifier' failed in complianceengine_notify" in capsys.readouterr().err


def test_module_plugin_posts_with_a_state_file(tmp_path, monkeypatch):
    state = tmp_path / "state.json"
    with Receiver() as server:
        monkeypatch.setenv(notifier_module.ENV_URL, server.url)
        monkeypatch.setenv(notifier_module.ENV_STATE, str(state))
        run(notifier_module)
        run(notifier_module)
        assert [len(payload["findings"]) for _, _, payload in server.received] == [6]
    assert state.exists()


def test_entry_point_is_installed_and_coexists_with_notifier_objects(tmp_path):
    entries = {e.name: e.value for e in importlib.metadata.entry_points(group="complianceengine")}
    assert entries["notifier"] == "complianceengine_notifier"
    plugins = dict(ce.Plugins([Notifier(file=tmp_path / "a.jsonl"), Notifier(file=tmp_path / "b.jsonl")], entry_points=True).describe())
    assert plugins["notifier"] == ["complianceengine_notify"]
    assert sum(name.startswith("Notifier(") for name in plugins) == 2
    # with nothing in the environment, the installed module does nothing
    run(Notifier(file=tmp_path / "a.jsonl"), entry_points=True)
    assert len(lines(tmp_path / "a.jsonl")) == 6


def test_from_environment_reads_at_call_time():
    assert notifier_module.from_environment({}) is None
    assert notifier_module.from_environment({notifier_module.ENV_FILE: ""}) is None
    made = notifier_module.from_environment({notifier_module.ENV_FILE: "x/out.jsonl", notifier_module.ENV_STATE: "y/s.json"})
    assert made.file == Path("x/out.jsonl") and made.state == Path("y/s.json") and made.url is None
    with pytest.raises(NotifyError, match="COMPLIANCEENGINE_NOTIFY_STATE"):
        notifier_module.from_environment({notifier_module.ENV_URL: "http://127.0.0.1/hook"})


def test_a_receiver_that_drips_its_answer_does_not_hold_the_audit():
    # answers one byte of its status line every half second: each read is quick, the answer never ends
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip():
        connection, _ = listener.accept()
        connection.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            if stop.wait(0.5):
                break
            connection.sendall(bytes([byte]))
        connection.close()

    server = threading.Thread(target=drip, daemon=True)
    server.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/findings"
    started = dt.datetime.now()
    try:
        with pytest.raises(ce.NotificationError, match="no complete answer within 1 s"):
            run(Notifier(url=url, timeout=1.0))
    finally:
        stop.set()
        listener.close()
    assert (dt.datetime.now() - started).total_seconds() < 5
