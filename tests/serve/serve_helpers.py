"""Shared by the serve tests (imported by name: tests/serve is put on sys.path by its conftest)."""

from __future__ import annotations

import json


def ask(client, path, request=None, **extra):
    """GET path?request=JSON; returns the response."""
    params = dict(extra)
    if request is not None:
        params["request"] = request if isinstance(request, str) else json.dumps(request)
    return client.get(path, params=params)
