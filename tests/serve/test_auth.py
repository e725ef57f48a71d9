"""HTTP Basic against a users file of bcrypt hashes: wrong or missing credentials get 401 on every path, the
right ones pass; plain-text passwords are refused when the file is read; beyond loopback users are required."""

from __future__ import annotations

import base64

import bcrypt
import pytest
from fastapi.testclient import TestClient

from forensics.errors import UsageError
from forensics.serve import check_bind, create_app
from forensics.serve.auth import load_users


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
