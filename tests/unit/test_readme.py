"""The README's signature-verification example really verifies our signatures (and rejects tampering)."""

from __future__ import annotations

import re
import time

from router.adapters import signing
from tests.builders import ROOT

README = ROOT / "README.md"


def test_readme_python_example_verifies_router_signatures():
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    ns: dict = {}
    exec(code, ns)  # noqa: S102 - our own README
    secret, other = signing.new_secret(), signing.new_secret()
    body = '{"reference": "诸暨调〔2026〕000123号"}'.encode()
    headers = signing.headers([other, secret], "msg_1", int(time.time()), body)  # rotation: two signatures
    assert ns["verify"](secret, headers, body)
    assert not ns["verify"](secret, headers, body + b" ")
    stale = signing.headers([secret], "msg_1", int(time.time()) - 301, body)
    assert not ns["verify"](secret, stale, body)
