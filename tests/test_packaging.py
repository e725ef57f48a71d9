"""A plain `pip install` of the built wheel gives a working `forensics` with its SQL and templates inside."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    wheels = list(out.glob("forensics-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_carries_queries_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "queries", "report_templates"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked
    for rel in tracked:
        assert f"forensics/{rel}" in names, rel


def test_installed_wheel_runs_help_and_import(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, capture_output=True)
    exe = env_dir / "bin" / "forensics"
    env = dict(os.environ)
    run = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0 and "import" in run.stdout
    # the installed package must find its SQL inside itself, not in the checkout
    where = subprocess.run([str(py), "-c", "import forensics.resources as r; print(r.queries_dir())"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout.strip()
    assert str(env_dir) in where
    from tests import builders as b

    cap = tmp_path / "one.pcap"
    cap.write_bytes(b.pcap_file([(1.0, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1, 2))))]))
    run = subprocess.run([str(exe), "import", "--db", str(tmp_path / "c.duckdb"), str(cap)], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    demo = subprocess.run([str(exe), "demo", "--out", str(tmp_path / "demo"), "--quiet"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (tmp_path / "demo" / "index.html").exists()
