"""HTML mail made readable as plain text.

Mail HTML is written for a renderer, but intake reads lines: "Name of child | Felix Ashdown" must stay
on one line, paragraphs and `<br>` must become line breaks, and none of the `<style>` or Outlook
conditional junk may leak into the text. selectolax's lexbor parser (C, HTML5 error recovery) does the
parsing; we mark block boundaries with private-use sentinel characters inside the tree and let lexbor
concatenate the text in one C call, which is several times faster than walking every node in Python.
"""

from __future__ import annotations

import html as html_module
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Private-use code points: they never occur in real mail text, survive lexbor's text() untouched, and are
# not whitespace, so the HTML whitespace collapse below leaves them alone.
_NL = "\ue000"  # a line break
_PARA = "\ue001"  # a paragraph break (blank line)
_CELL = "\ue002"  # the start of a table cell
_QUOTE_OPEN = "\ue003"
_QUOTE_CLOSE = "\ue004"
_ROW = "\ue005"  # a table row boundary: a line break that cell handling never removes
_SENTINELS = re.compile("[\ue000-\ue005]")

# Guards. Text beyond MAX_HTML_CHARS is not read. HTML5 tree building is quadratic in the depth of
# unclosed elements (measured with lexbor: 20,000 nested <div> take 0.6 s, 40,000 <b><i> before
# paragraphs 14 s; browsers cap the depth for the same reason), and every end tag that closes nothing
# makes the parser look down the whole stack of open elements for it (1,000 <b> then 500,000 </x>:
# 3 s). Markup nested deeper than MAX_NESTING, or whose end tags would cost the parser more than
# MAX_END_TAG_WORK such looks, is read by a linear tag-stripping fallback instead of the parser.
MAX_HTML_CHARS = 2_000_000
MAX_NESTING = 1_000
MAX_END_TAG_WORK = 20_000_000  # open elements passed over by end tags; about 0.1 s of lexbor's time

_DROPPED = [
    "head", "title", "script", "style", "noscript", "template", "object", "embed", "iframe", "frame",
    "frameset", "svg", "math", "xml", "applet", "canvas", "select", "button", "map", "meta", "link",
]  # fmt: skip
_LINE_BLOCKS = (
    "address, article, aside, center, dd, details, dialog, div, dl, dt, fieldset, figcaption, figure, "
    "footer, form, header, main, nav, ol, section, summary, ul, caption, table, hr, li, legend"
)
_PARA_BLOCKS = "h1, h2, h3, h4, h5, h6"
_WS = re.compile(r"[ \t\n\r\f\v]+")
# A run of adjacent block boundaries is one break: a blank line if any of them is a paragraph.
_BREAKS = re.compile("[ \ue000\ue001]*[\ue000\ue001][ \ue000\ue001]*")
# Paragraphs at the edges of a table cell (Word wraps every cell in <p>) must not break the row.
_CELL_EDGES = re.compile("[ \ue000\ue001]*\ue002[ \ue000\ue001]*")
_ROW_EDGES = re.compile("[ \ue000\ue001]*\ue005[ \ue000\ue001\ue005]*")
_BLANK_RUNS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable text of an HTML document or fragment; never raises on malformed HTML."""
    if not html:
        return ""
    html = html[:MAX_HTML_CHARS]
    if _SENTINELS.search(html):  # our markers must mean only what we put in
        html = _SENTINELS.sub("", html)
    if _nesting_could_be_deep(html) and _too_deep_for_the_parser(html):
        return _text_without_tree(html)
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROPPED, recursive=True)
    root = tree.body or tree.root
    if root is None:
        return ""
    _mark_preformatted(root)
    _mark_blocks(root)
    _mark_tables(root)
    _mark_quotes(root)
    return _tidy(root.text(deep=True))


_TAG_NAME = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*?(/?)>")
# Elements that never deepen the tree: void ones, and those the parser closes implicitly.
_VOID_OR_SELF_CLOSING = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
    "wbr", "keygen", "p", "li", "td", "th", "tr", "option", "dt", "dd",
})  # fmt: skip


# HTML's "special" elements (the spec's category) that can be open: an end tag for another element that
# would have to close one of them on the way is ignored by the parser, so the tree stays as deep.
_SPECIAL = frozenset({
    "address", "applet", "article", "aside", "blockquote", "body", "button", "caption", "center", "colgroup",
    "details", "dir", "div", "dl", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "h1", "h2",
    "h3", "h4", "h5", "h6", "head", "header", "hgroup", "html", "iframe", "listing", "main", "marquee", "menu",
    "nav", "noembed", "noframes", "noscript", "object", "ol", "plaintext", "pre", "script", "search", "section",
    "select", "style", "summary", "table", "tbody", "template", "textarea", "tfoot", "thead", "title", "ul",
    "xmp",
})  # fmt: skip


def _nesting_could_be_deep(html: str) -> bool:
    """Cheap C-speed counts decide whether the exact (Python-loop) scan is worth running: the tree is no
    deeper than the number of start tags, and end tags pass over no more than that many elements each."""
    closes = html.count("</")
    opens = html.count("<") - closes
    return opens > MAX_NESTING or opens * closes > MAX_END_TAG_WORK


def _too_deep_for_the_parser(html: str) -> bool:
    """Whether the parser's stack of open elements would grow past MAX_NESTING, or its end tags pass over
    more than MAX_END_TAG_WORK open elements, modelled as the parser treats them: an end tag closes the
    nearest open element of its name (and those opened after it) unless a special element of another
    name lies in between; one that closes nothing (`</x>` with no open x) leaves the depth as it was."""
    stack: list[str] = []
    where: dict[str, list[int]] = {}  # name -> positions in `stack`, innermost last
    specials: list[int] = []  # positions of special elements in `stack`
    work = 0
    for match in _TAG_NAME.finditer(html):
        closing, name, self_closing = match.groups()
        name = name.lower()
        if self_closing or name in _VOID_OR_SELF_CLOSING:
            continue
        if not closing:
            where.setdefault(name, []).append(len(stack))
            if name in _SPECIAL:
                specials.append(len(stack))
            stack.append(name)
            if len(stack) > MAX_NESTING:
                return True
            continue
        open_at = where.get(name)
        target = open_at[-1] if open_at else -1
        if target < 0 or (specials and specials[-1] > target):
            work += len(stack)  # looked down the whole stack and closed nothing
        else:
            work += len(stack) - target
            for popped in stack[target:]:
                where[popped].pop()
            del stack[target:]
            while specials and specials[-1] >= target:
                specials.pop()
        if work > MAX_END_TAG_WORK:
            return True
    return False


_BLOCK_NAMES = frozenset({
    "address", "article", "aside", "blockquote", "br", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})  # fmt: skip
_ANY_TAG = re.compile(r"<[^<>]*>")
# The fallback's three passes, all in C (a Python callback a tag took 0.6 s for 2 MB of tags).
_AFTER_NAME = r"(?![a-zA-Z0-9:-])[^<>]*>"
_CELL_TAG = re.compile(r"</?(?:td|th)" + _AFTER_NAME, re.IGNORECASE)
_BLOCK_TAG = re.compile(r"</?(?:" + "|".join(sorted(_BLOCK_NAMES)) + ")" + _AFTER_NAME, re.IGNORECASE)


def _text_without_tree(html: str) -> str:
    """Linear fallback for pathological markup: tags become breaks or nothing, entities are decoded."""
    html = _BLOCK_TAG.sub(_NL, _CELL_TAG.sub(_CELL, html))
    return _tidy(html_module.unescape(_ANY_TAG.sub("", html)))


def _mark_preformatted(root: LexborNode) -> None:
    """Keep the line breaks of <pre>: its text is rewritten so the whitespace collapse cannot touch it."""
    for pre in root.css("pre, plaintext, xmp, listing"):
        text = pre.text(deep=True)
        pre.insert_before(_PARA)
        pre.insert_after(_PARA)
        pre.replace_with(text.replace("\r\n", "\n").replace("\n", _NL).replace(" ", "\xa0"))


def _mark_blocks(root: LexborNode) -> None:
    for node in root.css("br"):
        node.insert_after(_NL)
    for node in root.css(_LINE_BLOCKS):
        node.insert_before(_NL)
        node.insert_after(_NL)
        if node.tag == "li":
            _prefix(node, "- ")
    for node in root.css(_PARA_BLOCKS):
        node.insert_before(_PARA)
        node.insert_after(_PARA)
    for node in root.css("p"):
        # Word/Outlook paragraphs (class MsoNormal ...) have zero margins and spell blank lines out as
        # <p>&nbsp;</p>; other generators rely on the paragraph margin, which is a blank line.
        cls = node.attributes.get("class") or ""
        mark = _NL if "mso" in cls.lower() else _PARA
        node.insert_before(mark)
        node.insert_after(mark)


def _prefix(node: LexborNode, text: str) -> None:
    first = node.child
    if first is None:
        node.insert_child(text)
    else:
        first.insert_before(text)


def _mark_tables(root: LexborNode) -> None:
    # Every cell is preceded by a marker; cells are joined with " | " and empty ones dropped in _tidy, so
    # spacer cells do not leave "|  |  |" behind.
    for node in root.css("tr"):
        node.insert_before(_ROW)
        node.insert_after(_ROW)
    for node in root.css("td, th"):
        node.insert_before(_CELL)
        node.insert_after(_NL)  # an edge, removed by _CELL_EDGES/_ROW_EDGES, but it ends the cell's text


def _mark_quotes(root: LexborNode) -> None:
    """Quoted history in HTML (Gmail, Apple Mail, Thunderbird, Yahoo) becomes "> " lines, as in plain text,
    so reply splitting treats both the same. Plain indentation blockquotes are left alone."""
    for node in root.css("blockquote"):
        attrs = node.attributes
        cls = (attrs.get("class") or "").lower()
        style = (attrs.get("style") or "").lower()
        if (attrs.get("type") or "").lower() == "cite" or "quote" in cls or "border-left" in style:
            node.insert_before(_NL + _QUOTE_OPEN)
            node.insert_after(_NL + _QUOTE_CLOSE + _NL)


def _tidy(text: str) -> str:
    text = _WS.sub(" ", text)
    if _CELL in text:
        text = _CELL_EDGES.sub(_CELL, text)
        text = _ROW_EDGES.sub(_ROW, text)
    text = _BREAKS.sub(_break_for, text).replace(_ROW, "\n").replace("\xa0", " ")
    if _QUOTE_OPEN in text:
        text = _quote_marked(text)
    lines = []
    for line in text.split("\n"):
        if _CELL in line:
            cells = [cell.strip() for cell in line.split(_CELL)]
            line = " | ".join(cell for cell in cells if cell)
        lines.append(line.strip())
    text = "\n".join(lines)
    text = _SENTINELS.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _break_for(match: re.Match[str]) -> str:
    return "\n\n" if _PARA in match.group() else "\n"


def _quote_marked(text: str) -> str:
    """Prefix "> " to every line between quote markers (nesting adds one ">" per level)."""
    out: list[str] = []
    depth = 0
    for raw_line in text.split("\n"):
        opens, closes = raw_line.count(_QUOTE_OPEN), raw_line.count(_QUOTE_CLOSE)
        line = raw_line.replace(_QUOTE_OPEN, "").replace(_QUOTE_CLOSE, "")
        if (opens or closes) and not line.strip():
            depth = max(0, depth + opens - closes)
            continue  # a line that only held markers is no line of the text
        depth += opens
        if depth > 0 and line.strip():
            line = "> " * depth + line.strip()
        depth = max(0, depth - closes)
        out.append(line)
    return "\n".join(out)
