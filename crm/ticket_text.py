"""How a ticket message shows: plain text in which only links become HTML.

Messages are typed by agents and by customers, so they are not Markdown: `**` or `#` stay as
typed. The one piece of Markdown they carry is the link the reply box inserts for a
knowledge-base article, `[Title](https://…)`; it becomes a clickable link on the agent's and
the customer's ticket pages and in the reply email (title and address in the text part, a
link in the HTML part). Bare web addresses become links too. Everything else is escaped, and
the result passes nh3 with an allow-list of `a`, `p` and `br` (http, https and mailto links
only), so a script, an `on*` attribute or a `javascript:` link never gets through.
"""

import re
from urllib.parse import urlsplit

import nh3
from django.utils.html import escape, format_html, linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe

LINK_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"
# [title](address): the title may escape brackets (\[ \]); the address has no spaces and may
# hold one level of parentheses (https://en.wikipedia.org/wiki/Mercury_(planet)).
MARKDOWN_LINK = re.compile(
    r"\[(?P<title>(?:\\.|[^\\\[\]\n]){1,500})\]\((?P<url>(?:[^\s()]|\([^\s()]*\)){1,2048})\)"
)


def _link_parts(match: re.Match) -> tuple[str, str] | None:
    """The title and address of a Markdown link, or None if its address may not be a link."""
    url = match.group("url")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in LINK_SCHEMES:
        return None
    return re.sub(r"\\(.)", r"\1", match.group("title")).strip() or url, url


def message_html(body: str) -> SafeString:
    """A message for a page or an HTML email: escaped text, links, paragraphs."""
    parts, position = [], 0
    body = body or ""
    for match in MARKDOWN_LINK.finditer(body):
        parts.append(urlize(body[position : match.start()], nofollow=True, autoescape=True))
        link = _link_parts(match)
        parts.append(
            format_html('<a href="{}">{}</a>', link[1], link[0]) if link else escape(match.group(0))
        )
        position = match.end()
    parts.append(urlize(body[position:], nofollow=True, autoescape=True))
    html = linebreaks("".join(parts), autoescape=False)
    clean = nh3.clean(
        html,
        tags={"a", "br", "p"},
        attributes={"a": {"href"}},
        url_schemes=LINK_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - escaped above, then cleaned by nh3's allow-list


def message_plain(body: str) -> str:
    """A message for a plain-text email: a link reads "Title <https://…>"."""

    def plain(match: re.Match) -> str:
        link = _link_parts(match)
        return f"{link[0]} <{link[1]}>" if link else match.group(0)

    return MARKDOWN_LINK.sub(plain, body or "")
