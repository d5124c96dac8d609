"""Email wording an organization wrote itself, with placeholders like `{{ contact_name }}`.

The organization's text is data, never template source: placeholders are found by a regular
expression and replaced from a fixed list of values, so `{{ 7*7 }}` or `{% ... %}` in it stay
as they were typed. The HTML part escapes the text and the values, turns blank lines into
paragraphs and single newlines into line breaks, and is framed by the same layout as
Portico's own email.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from markupsafe import Markup, escape

from integrations.templating import RenderedEmail, environment

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
FRAME = "_written.html"


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in `text`, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(text)))


def placeholder(name: str) -> str:
    return "{{ " + name + " }}"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def fill_text(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def fill_html(text: str, values: Mapping[str, str], links: Collection[str] = ()) -> Markup:
    """Escaped paragraphs of `text`; the values named in `links` become clickable."""
    paragraphs = _PARAGRAPH_BREAK.split(normalize_newlines(text).strip())
    return Markup("\n").join(
        Markup('<p style="margin:0 0 16px;">{}</p>').format(
            Markup("<br>\n").join(_html_line(line, values, links) for line in paragraph.split("\n"))
        )
        for paragraph in paragraphs
        if paragraph
    )


def render_written(
    *,
    subject: str,
    body: str,
    values: Mapping[str, str],
    language: str,
    organization_name: str,
    links: Collection[str] = (),
) -> RenderedEmail:
    """The email an organization wrote, filled in; every placeholder must be in `values`."""
    filled_subject = " ".join(fill_text(subject, values).split())
    env = environment(language)
    html = env.get_template(FRAME).render(
        subject=filled_subject,
        body=fill_html(body, values, links),
        organization_name=organization_name,
        language=env.globals["language"],
    )
    text = fill_text(normalize_newlines(body).strip(), values) + "\n"
    return RenderedEmail(subject=filled_subject, text=text, html=html)


def _html_line(line: str, values: Mapping[str, str], links: Collection[str]) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in PLACEHOLDER.finditer(line):
        parts.append(escape(line[position : match.start()]))
        name = match.group(1)
        value = values[name]
        if name in links:
            parts.append(Markup('<a href="{0}">{0}</a>').format(value))
        else:
            parts.append(escape(value))
        position = match.end()
    parts.append(escape(line[position:]))
    return Markup("").join(parts)
