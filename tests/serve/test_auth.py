"""HTTP Basic against a users file of bcrypt hashes: wrong or missing credentials get 401 on every path, the
right ones pass; plain-text passwords are refused when the file is read; beyond loopback users are required."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import bcrypt
import pytest
from fastapi.testclient import TestClient

from forensics.config import load_config
from forensics.errors import UsageError
from forensics.serve import CaseSource, check_bind, create_app
from forensics.serve.auth import load_users, server_users
from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users.htpasswd"
    alice = bcrypt.hashpw(b"s3cret:with colon", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")  # htpasswd -B
    bob = bcrypt.hashpw("pässword".encode(), bcrypt.gensalt(4)).decode()
    path.write_text(f"# analysts\nalice:{alice}\n\nbob:{bob}\n")
    return path


@pytest.fixture(scope="module")
def guarded(source, users_file):
    with TestClient(create_app(source, load_users(users_file)), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("headers", [
    {}, _basic("alice", "wrong"), _basic("alice", "s3cret"), _basic("mallory", "s3cret:with colon"),
    {"Authorization": "Basic !!!notbase64"}, {"Authorization": "Bearer abc"},
    {"Authorization": "Basic " + base64.b64encode(b"alice").decode()},
])
@pytest.mark.parametrize("path", ["/api/report/internet/summary", "/", "/openapi.json", "/api/nothing"])
def test_wrong_or_missing_credentials_get_401(guarded, validate, headers, path):
    r = guarded.get(path, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Basic realm="forensics"')
    assert validate(r.json())["response"]["err"]["code"] == 401


def test_right_credentials_pass(guarded):
    assert guarded.get("/api/report/internet/summary", headers=_basic("alice", "s3cret:with colon")).status_code == 200
    assert guarded.get("/", headers=_basic("bob", "pässword")).status_code == 200


@pytest.mark.parametrize("text,named", [
    ("alice:plaintext\n", ":1"), ("alice:$1$abc$def\n", "not a bcrypt hash"), ("just-a-name\n", ":1"),
    ("# nobody\n", "no users"),
])
def test_users_file_refuses_plain_text_and_junk(tmp_path, text, named):
    path = tmp_path / "u"
    path.write_text(text)
    with pytest.raises(UsageError, match=named):
        load_users(path)


def test_beyond_loopback_needs_users():
    with pytest.raises(UsageError, match="--users"):
        check_bind("0.0.0.0")
    check_bind("0.0.0.0", with_users=True)
    check_bind("127.0.0.1")


def test_users_from_the_case_config_and_never_in_report_json(tmp_path, case_path, users_file):
    """[serve] users_file and [serve.users] in forensics.toml: both users get in, others get 401; the hashes
    appear neither in the config summary nor in any report's JSON served or written by `forensics report`."""
    carol = bcrypt.hashpw(b"carol-pw", bcrypt.gensalt(4)).decode()
    config = tmp_path / "forensics.toml"
    config.write_text(f'[serve]\nusers_file = "{users_file}"\n[serve.users]\ncarol = "{carol}"\n')
    cfg = load_config(config, str(case_path))
    users = server_users(cfg)
    assert sorted(users) == ["alice", "bob", "carol"]
    summary = json.dumps(cfg.summary())
    assert "$2" not in summary and carol not in summary
    assert cfg.summary()["serve"] == {"users": 1, "users_file": str(users_file)}
    assert carol not in repr(cfg)
    with TestClient(create_app(CaseSource(str(case_path), cfg), users), raise_server_exceptions=False) as c:
        assert c.get("/api/reports").status_code == 401
        assert c.get("/api/reports", headers=_basic("carol", "wrong")).status_code == 401
        r = c.get("/api/report/top_talkers", params={"request": '{"display_data": "yes"}'},
                  headers=_basic("carol", "carol-pw"))
        assert r.status_code == 200 and r.json()["response"]["result"]["data"]["config"]["serve"]["users"] == 1
        assert "$2" not in r.text
        assert c.get("/api/reports", headers=_basic("alice", "s3cret:with colon")).status_code == 200
    out = cli("report", "top_talkers", "--db", str(case_path), "--config", str(config), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["response"]["result"]["data"]["config"]["serve"]["users"] == 1
    assert "$2" not in out.stdout


@pytest.mark.parametrize("text,named", [
    ('[serve.users]\ndave = "hunter2"\n', "[serve.users] dave: not a bcrypt hash"),
    ('[serve.users]\ndave = "$argon2id$v=19$m=65536,t=3,p=4$abc$def"\n', "[serve.users] dave: not a bcrypt hash"),
    ('[serve]\nusers = "dave:hunter2"\n', "[serve] users: expected a table of bcrypt hashes"),
    ('[serve]\nusers_file = "missing.htpasswd"\n', "[serve] users_file"),
])
def test_config_users_refuse_plain_text(tmp_path, text, named):
    config = tmp_path / "forensics.toml"
    config.write_text(text)
    with pytest.raises(UsageError, match=re.escape(named)) as err:
        load_config(config)
    assert str(err.value).startswith(f"{config}:2: ")
