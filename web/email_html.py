"""An email's HTML made safe to show inside our page: nh3 (ammonia) keeps a short list of tags and
attributes and drops the rest, contents of <script> and <style> included.

What it removes, and why: scripts and event handlers (they would run as the coordinator); `style`
attributes and <style> (CSS can hide the real text or lay fake text over the page); images (a remote
image tells the sender when and where the mail was read; inline ones are attachments, listed below the
message); links other than http(s) and mailto (a javascript: link). Links open in a new tab with no
referrer. The page's Content-Security-Policy (web/guard.py) holds the line should anything get through.

Quoted history (<blockquote>, Gmail's and Outlook's quote containers) is folded into a <details>.
"""

from __future__ import annotations

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li", "ol", "p", "pre", "q", "s", "small",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
    "div": {"class"},  # only to find quote containers; our CSS never styles email classes
    "blockquote": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_QUOTE_SELECTORS = "blockquote, div.gmail_quote, div.moz-cite-prefix, div#divRplyFwdMsg, div.OutlookMessageHeader"


def sanitise(html: str) -> str:
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return _fold_quotes(clean)


def _fold_quotes(html: str) -> str:
    """Each outermost quote inside <details> (closed): the new words first, the history one click away."""
    tree = LexborHTMLParser(f"<div id='mdesk-root'>{html}</div>")
    root = tree.css_first("#mdesk-root")
    if root is None:
        return html
    quotes = [node for node in root.css(_QUOTE_SELECTORS) if not _inside_quote(node)]
    for node in quotes:
        inner = node.html or ""
        wrapper = LexborHTMLParser(
            f"<details class='quoted'><summary>Earlier messages (quoted)</summary>{inner}</details>"
        ).css_first("details")
        if wrapper is not None:
            node.replace_with(wrapper)
    out = root.html or ""
    return out.removeprefix('<div id="mdesk-root">').removesuffix("</div>")


def _inside_quote(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.tag != "html":
        if parent.tag == "blockquote" or (parent.attributes.get("class") or "").find("gmail_quote") >= 0:
            return True
        parent = parent.parent
    return False
