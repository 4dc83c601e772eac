"""Packaging: every package is listed, and a built wheel serves pages from anywhere.

That ``workflows`` needs neither Flask, SQLAlchemy nor ``qms`` is tested in
tests/workflows/test_standalone.py.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_setup_cfg_lists_every_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {p for p in find_packages(ROOT, include=["qms*", "workflows*", "standards*"]) if "migrations" not in p}
    assert found | {"qms.templates"} == listed


@pytest.mark.slow
def test_built_wheel_serves_pages_from_another_directory(tmp_path):
    """pip wheel ., install it in a fresh venv, run it from elsewhere: templates and migrations ship."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("qmsflow-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The fresh venv gets the dependencies from ours (no network needed) and the wheel itself
    # unpacked with pip's own installer, so nothing of the source tree is importable.
    Path(target, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, str(wheel)],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    script = textwrap.dedent(
        """
        import qms, os
        assert 'site-packages' in qms.__file__, qms.__file__
        from qms import create_app
        from qms.cli import init_database
        app = create_app({'WTF_CSRF_ENABLED': False})
        with app.app_context():
            init_database()
        client = app.test_client()
        page = client.get('/login')
        assert page.status_code == 200 and b'Sign in' in page.data, page.status_code
        assert client.get('/static/qms.css').status_code == 200
        print('served', qms.__file__)
        """
    )
    env = {**os.environ, "QMS_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": ""}
    result = subprocess.run([python, "-c", script], cwd=workdir, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "served" in result.stdout
