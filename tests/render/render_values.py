"""Values the render tests share (a module of its own: `from conftest import ...` picks whichever conftest
another test folder loaded first when pytest-xdist runs folders in one worker)."""

from __future__ import annotations

from flowgen import SPAN, T0

WINDOW = {"from": T0.isoformat(), "to": (T0 + SPAN).isoformat()}
# Strings that would run script if a page pasted them unescaped.
HOSTILE_PATH = "<script>window.__xss = 1</script>.pcap"
HOSTILE_NET = '<img src=x onerror="window.__xss = 2">'
