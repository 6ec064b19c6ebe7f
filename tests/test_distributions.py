"""The package and each example plugin as distributions: built (sdist, then the wheel from the
sdist), installed into a fresh virtual environment, and used from outside the checkout.

Marked ``distributions``: the plain test run leaves it out (it takes about half a minute);
``make test`` runs it on its own. Dependencies are pinned to what the development environment
already resolved, so pip takes them from its cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, XIANGSHAN

pytestmark = pytest.mark.distributions

PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
AUDIT = ["--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none", "--format", "json"]


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sdist and wheel: the package's and each plugin's."""
    out = tmp_path_factory.mktemp("dist")
    for project in [ROOT, *PLUGINS]:
        # no isolation: the build backend the build-system asks for is in the development environment
        run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)])
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no access to the checkout) with every wheel installed."""
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(home)])
    constraints = home / "constraints.txt"
    constraints.write_text(run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"]).stdout, encoding="utf-8")
    wheels = sorted(str(w) for w in dist.glob("*.whl"))
    run([sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install", "--quiet", "--disable-pip-version-check",
         "-c", str(constraints), *wheels])
    return home


def outside(**extra: str) -> dict[str, str]:
    """The environment of a user of the installed package: nothing pointing into the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, **extra}


def test_every_project_builds_an_sdist_and_a_wheel_with_its_files(dist: Path):
    names = {"complianceengine", *(f"complianceengine_{p.name}" for p in PLUGINS)}
    assert {w.name.split("-")[0] for w in dist.glob("*.whl")} == names
    assert {s.name.split("-")[0] for s in dist.glob("*.tar.gz")} == names
    [wheel] = dist.glob("complianceengine-*.whl")
    files = zipfile.ZipFile(wheel).namelist()
    assert "complianceengine/py.typed" in files and "complianceengine/cli.py" in files
    assert any(f.endswith(".dist-info/licenses/LICENSE") for f in files)
    [sdist] = dist.glob("complianceengine-*.tar.gz")
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    assert {"LICENSE", "README.md", "pyproject.toml", "src/complianceengine/py.typed"} <= members
    # the tide plugin's table travels inside its package, in the wheel and in the sdist
    [tides] = dist.glob("complianceengine_tides-*.whl")
    assert "complianceengine_tides/tables/xiangshan-2026.csv" in zipfile.ZipFile(tides).namelist()
    [tides_sdist] = dist.glob("complianceengine_tides-*.tar.gz")
    assert any(m.endswith("src/complianceengine_tides/tables/xiangshan-2026.csv") for m in tarfile.open(tides_sdist).getnames())
    for plugin in PLUGINS:  # each plugin is found through its entry point
        [wheel] = dist.glob(f"complianceengine_{plugin.name}-*.whl")
        entry_points = next(f for f in zipfile.ZipFile(wheel).namelist() if f.endswith("entry_points.txt"))
        assert "[complianceengine]" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_package_audits_the_sample_outside_the_checkout(installed: Path, tmp_path: Path):
    bin_ = installed / "bin"
    where = run([str(bin_ / "python"), "-c", "import complianceengine, complianceengine_tides; "
                 "print(complianceengine.__file__); print(complianceengine_tides.__file__)"], cwd=tmp_path, env=outside())
    assert all(Path(line).is_relative_to(installed) for line in where.stdout.split())
    listed = run([str(bin_ / "complianceengine"), "plugins"], cwd=tmp_path, env=outside()).stdout
    assert all(f"{plugin.name}:" in listed for plugin in PLUGINS)

    work = tmp_path / "xiangshan"
    shutil.copytree(XIANGSHAN, work, ignore=shutil.ignore_patterns("tests", "generate.py", "README.md"))
    args = ["ruleset.yaml", "--registry", "sample/registry.yaml", "--events", "sample/events.jsonl", *AUDIT]
    there = json.loads(run([str(bin_ / "complianceengine"), "audit", *args, "--output", "-"], cwd=work, env=outside()).stdout)
    here = json.loads(run([str(Path(sys.executable).parent / "complianceengine"), "audit", *args, "--output", "-"], cwd=XIANGSHAN).stdout)
    county = there["units"][0]  # the roll-up of everything
    assert county["counts"] == here["units"][0]["counts"] and county["counts"]["met"] > 700
    assert there["events_used"] == here["events_used"] and len(there["rejects"]) == len(here["rejects"])
    assert [(f["id"], f["status"]) for f in there["findings"]] == [(f["id"], f["status"]) for f in here["findings"]]
    assert not any(o["not_judged"] for o in there["obligations"])  # the tide plugin judged the by-tide duty

    # the same audit with the tide table that ships inside the plugin, and no table beside the ruleset
    (work / "sample" / "tides.csv").unlink()
    ruleset = (work / "ruleset.yaml").read_text(encoding="utf-8")
    assert "table: sample/tides.csv" in ruleset
    (work / "ruleset.yaml").write_text(ruleset.replace("table: sample/tides.csv", "bundled: xiangshan-2026"), encoding="utf-8")
    bundled = json.loads(run([str(bin_ / "complianceengine"), "audit", *args, "--output", "-"], cwd=work, env=outside()).stdout)
    assert [(f["id"], f["status"]) for f in bundled["findings"]] == [(f["id"], f["status"]) for f in here["findings"]]

    # the platform export plugin reads its sample export
    export = tmp_path / "export.csv"
    shutil.copy(ROOT / "plugins" / "platform_csv" / "samples" / "xiangshan_export.csv", export)
    from_export = json.loads(run([str(bin_ / "complianceengine"), "audit", *args[:3], "--events", str(export), *AUDIT],
                                 cwd=work, env=outside()).stdout)
    assert from_export["events_used"] > 0


MONITOR_WITHOUT_DURABLE = """
import importlib.util, sys
import complianceengine as ce
assert importlib.util.find_spec("durable") is None, "durable-rules is an optional extra, not installed by default"
ruleset = ce.load_ruleset(sys.argv[1] + "/ruleset.yaml")
registry = ce.load_registry(sys.argv[1] + "/sample/registry.yaml", ruleset)
monitor = ce.Monitor(ruleset, registry)
monitor.ingest_many(ce.read_events([sys.argv[1] + "/sample/events.jsonl"], ruleset, registry).events)
try:
    ce.Monitor(ruleset, registry, engine="durable")
except ce.UsageError as exc:
    assert "complianceengine[durable]" in str(exc), exc
else:
    raise AssertionError("the durable engine without its extra")
print(monitor.engine, len(monitor.events))
"""


def test_the_plain_install_has_the_python_monitor_and_names_the_durable_extra(installed: Path, tmp_path: Path):
    done = run([str(installed / "bin" / "python"), "-c", MONITOR_WITHOUT_DURABLE, str(XIANGSHAN)], cwd=tmp_path, env=outside())
    engine, events = done.stdout.split()
    assert engine == "python" and int(events) > 500
