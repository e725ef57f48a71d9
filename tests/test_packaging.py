"""A plain `pip install` of the built wheel gives a working `forensics` with its SQL and templates inside;
every third-party module the package imports is a declared dependency.

(The fresh venv that installs the wheel WITH its dependencies from PyPI is tests/smoke/fresh_venv.sh, run by
.ci/run; here the dependencies come from the interpreter running the tests, so the test needs no network.)"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _third_party_imports(optional: bool = False) -> dict[str, str]:
    """Top-level module -> first file of forensics/ that imports it (absolute imports, stdlib left out): of the
    package less its optional engine (forensics/spark), or with `optional` of that engine alone."""
    found: dict[str, str] = {}
    spark = ROOT / "forensics" / "spark"
    for path in sorted((ROOT / "forensics").rglob("*.py")):
        if (spark in path.parents) != optional:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "forensics" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-") for req in requirements}


def _undeclared(imports: dict[str, str], declared: set[str]) -> dict[str, str]:
    dists = packages_distributions()
    return {module: where for module, where in imports.items()
            if not {d.lower().replace("_", "-") for d in dists.get(module, [module])} & declared}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"])
    imports = _third_party_imports()
    assert "duckdb" in imports and "typer" in imports  # the scan sees the package's imports
    undeclared = _undeclared(imports, declared)
    assert not undeclared, f"imported but not in pyproject dependencies: {undeclared}"
    # the Spark engine (forensics/spark, `pip install .[spark]`): its own imports are in the spark extra
    spark_imports = _third_party_imports(optional=True)
    assert "pyspark" in spark_imports and "sqlglot" in spark_imports
    undeclared = _undeclared(spark_imports, declared | _names(project["optional-dependencies"]["spark"]))
    assert not undeclared, f"imported by forensics/spark but not in its extra: {undeclared}"


def _outer_site_dirs() -> list[str]:
    """Where the interpreter running the tests finds its packages: its sys.path (a venv's own site-packages,
    the system's, and what their .pth files added), less any folder holding a `forensics` package (the
    checkout, an editable install), so that the venv's forensics is the installed wheel."""
    out: list[str] = []
    for d in sys.path:
        if d and d not in out and Path(d).is_dir() and not (Path(d) / "forensics" / "__init__.py").exists():
            out.append(d)
    return out


def _venv_with_outer_packages(env_dir: Path) -> Path:
    """A venv whose own site-packages comes first and whose dependencies come from the interpreter running the
    tests, through a .pth file. (system_site_packages=True would give the BASE interpreter's packages, which
    are not the ones installed when the tests themselves run in a venv.) Plain path lines: the outer .pth
    files, among them an editable install of forensics, are not run."""
    venv.create(env_dir, system_site_packages=False, with_pip=False)  # the outer pip installs into it (--python)
    py = env_dir / "bin" / "python"
    own = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (Path(own) / "zz_outer_site.pth").write_text("\n".join(_outer_site_dirs()) + "\n")
    return py


def _seed_numba_cache(installed: Path) -> int:
    """Copy the checkout's compiled numba cache (`cache=True` files in __pycache__, written by tests/numba_warm.py
    or any import before) beside the installed package's identical sources, with their stamp (mtime; numba
    checks mtime and size): the venv then loads the import path's machine code instead of compiling it again
    (~45 s CPU). Only for a source whose bytes are the checkout's. The cold first run of an installed wheel,
    compiling as a user's does, is tests/smoke/fresh_venv.sh's (.ci/run). Returns the files copied."""
    copied = 0
    for cached in sorted((ROOT / "forensics").rglob("__pycache__/*.nb[ic]")):
        rel = cached.parent.parent.relative_to(ROOT / "forensics")
        stem = cached.name.split(".", 1)[0]  # module-function-line.pyXY.nbi: the module's source file
        source = ROOT / "forensics" / rel / (stem.split("-", 1)[0] + ".py")
        target = installed / rel / (stem.split("-", 1)[0] + ".py")
        if not (source.is_file() and target.is_file()) or source.read_bytes() != target.read_bytes():
            continue
        st = source.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        (target.parent / "__pycache__").mkdir(exist_ok=True)
        shutil.copy2(cached, target.parent / "__pycache__" / cached.name)
        copied += 1
    return copied


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Built once: its two tests are one xdist work unit (group "wheel")."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    wheels = list(out.glob("forensics-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


@pytest.mark.xdist_group("wheel")
def test_wheel_carries_queries_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "queries", "report_templates"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked
    for rel in tracked:
        assert f"forensics/{rel}" in names, rel


@pytest.mark.xdist_group("wheel")
def test_installed_wheel_runs_help_and_import(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    py = _venv_with_outer_packages(env_dir)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--force-reinstall",
                    str(wheel)], check=True, capture_output=True)
    exe = env_dir / "bin" / "forensics"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed wheel, not a checkout
    run = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0 and "import" in run.stdout
    # the installed package must find its SQL inside itself, not in the checkout
    where = subprocess.run([str(py), "-c", "import forensics.resources as r; print(r.queries_dir())"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True).stdout.strip()
    assert str(env_dir) in where
    _seed_numba_cache(Path(where).parent)
    from tests import builders as b

    cap = tmp_path / "one.pcap"
    cap.write_bytes(b.pcap_file([(1.0, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1, 2))))]))
    run = subprocess.run([str(exe), "import", "--db", str(tmp_path / "c.duckdb"), str(cap)], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # the real command, full size (once in the suite: tests/demo/test_pipeline.py runs a small day): the JSON
    # names the outputs, the day holds the default number of packets
    out = tmp_path / "demo"
    demo = subprocess.run([str(exe), "demo", "--out", str(out), "--json", "--quiet"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (out / "index.html").exists()
    doc = json.loads(demo.stdout)
    assert doc["site"] == str(out / "index.html") and (out / "demo.json").exists()
    from forensics.demo.generate import DEFAULT_PACKETS

    assert doc["packets"] == json.loads((out / "office_day.truth.json").read_text())["packets"] == DEFAULT_PACKETS
