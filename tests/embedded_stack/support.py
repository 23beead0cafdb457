"""Helpers for the embedded stack's tests."""

from __future__ import annotations

import io
import textwrap
import zipfile


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from {path: source}; sources are dedented."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, textwrap.dedent(text))
    return buf.getvalue()
