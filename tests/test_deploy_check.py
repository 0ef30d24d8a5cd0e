"""`manage.py check --deploy` is clean with the production settings (README, production
notes). Run in a subprocess: the settings module is chosen at process start."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(tmp_path, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "SECURE_SSL_REDIRECT",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        KITH_VAR_DIR=str(tmp_path),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean(tmp_path):
    result = run_check(tmp_path, SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_catches_a_weak_secret_key(tmp_path):
    result = run_check(tmp_path, SECRET_KEY="too-short", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_check(tmp_path, ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
