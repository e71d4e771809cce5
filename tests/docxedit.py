"""Edit a shipped document template the way the office would in Word: a phrase replaced in one of its parts."""

from __future__ import annotations

import io
import re
import zipfile

from workflow.core.documents import shipped


def edited(old: str, new: str, *, name: str = "designation_notice", part: str = "word/document.xml",
           extra: dict[str, bytes] | None = None) -> bytes:
    """The shipped template of `name` with `old` replaced by `new` in `part` (and `extra` parts added)."""
    source = zipfile.ZipFile(io.BytesIO(shipped(name)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                text = data.decode("utf-8")
                assert old in text, f"{old!r} is not in {part}"
                data = text.replace(old, new, 1).encode("utf-8")
            target.writestr(item, data)
        for filename, data in (extra or {}).items():
            target.writestr(filename, data)
    return out.getvalue()


def text_of(content: bytes, part: str = "word/document.xml") -> str:
    """The text of a part of a .docx, its XML tags taken out."""
    return re.sub(r"<[^>]+>", "", zipfile.ZipFile(io.BytesIO(content)).read(part).decode("utf-8"))
