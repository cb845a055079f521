"""A small, safe Markdown subset for summaries: the text is HTML-escaped first, then headings,
lists, paragraphs, ``**bold**``, ``*italic*`` and ```code``` become tags. No links, images or raw HTML:
a summary is meeting content and may quote anything anyone said."""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*]+?)(?<=\S)\*(?![*\w])")


def _inline(text: str) -> str:
    escaped = html.escape(text.strip(), quote=True)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _ITALIC.sub(r"<em>\1</em>", escaped)


def markdown_to_html(text: str) -> str:
    """HTML for ``text``; headings start at ``<h3>`` (the page owns ``h1``/``h2``)."""
    out: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None

    def close_paragraph() -> None:
        if paragraph:
            out.append("<p>" + " ".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def close_list() -> None:
        nonlocal list_tag
        if list_tag:
            out.append(f"</{list_tag}>")
            list_tag = None

    for line in text.splitlines():
        if not line.strip():
            close_paragraph()
            close_list()
            continue
        heading = _HEADING.match(line)
        item = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if heading:
            close_paragraph()
            close_list()
            level = min(len(heading.group(1)) + 2, 6)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item or numbered:
            close_paragraph()
            tag = "ul" if item else "ol"
            if list_tag != tag:
                close_list()
                out.append(f"<{tag}>")
                list_tag = tag
            body = (item or numbered).group(1)  # type: ignore[union-attr]
            out.append(f"<li>{_inline(body)}</li>")
        else:
            close_list()
            paragraph.append(line)
    close_paragraph()
    close_list()
    return "\n".join(out)


def text_to_html(text: str) -> str:
    """Plain text: escaped, one paragraph per blank-line-separated block."""
    blocks = [block for block in re.split(r"\n\s*\n", text) if block.strip()]
    return "\n".join("<p>" + html.escape(block.strip()).replace("\n", "<br>") + "</p>" for block in blocks)
