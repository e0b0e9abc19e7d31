"""Tooltips in a diagram's SVG: each message's full JSON as the ``<title>`` of its arrow,
its label and its line in the story column (a browser shows it on hover).

Matplotlib writes an artist with a gid as ``<g id="GID">``; the title goes right
after that tag, XML-escaped. Texts stay texts (``svg.fonttype = "none"``), so a
reader can search and select them.

>>> add_titles(b'<g id="msg0-a">\\n<path/></g>', {"msg0": '{"a": "<b>"}'})
b'<g id="msg0-a"><title>{&quot;a&quot;: &quot;&lt;b&gt;&quot;}</title>\\n<path/></g>'
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

__all__ = ["add_titles"]

_GROUP = re.compile(rb'<g id="(msg\d+)-[als]">')


def add_titles(svg: bytes, tooltips: dict[str, str]) -> bytes:
    """``svg`` with a ``<title>`` inside each message's groups."""
    titles = {gid: escape(text, {'"': "&quot;"}).encode("utf-8") for gid, text in tooltips.items()}

    def put(match: re.Match) -> bytes:
        title = titles.get(match.group(1).decode())
        if title is None:
            return match.group(0)
        return match.group(0) + b"<title>" + title + b"</title>"

    return _GROUP.sub(put, svg)
