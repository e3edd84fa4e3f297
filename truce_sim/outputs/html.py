"""report.html pages, readable straight from disk: no server, no internet, relative links."""

from __future__ import annotations

import html

import pandas as pd

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}.note{color:#555;font-size:.9em}
.caveat{background:#fff4e0;border-left:4px solid #d98c00;padding:.5em .5em .5em 2em}"""


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    )


def figure(stem: str, alt: str) -> str:
    return (
        f"<p><a href='{stem}.svg'><img src='{stem}.png' alt='{html.escape(alt)}'></a><br>"
        f"<span class='note'>{html.escape(alt)} (<a href='{stem}.png'>PNG</a>, <a href='{stem}.svg'>SVG</a>)</span></p>"
    )


def table(frame: pd.DataFrame, digits: int = 4) -> str:
    return frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}g}", border=0, na_rep="-")
