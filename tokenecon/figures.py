"""Plotly figures as HTML that needs no inline script: a ``<div>`` carrying the figure's JSON,
drawn by ``static/js/app.js`` (loaded by every page). Plotly's own ``to_html`` emits an inline
``<script>``, which the Content-Security-Policy (scripts from this site only) would block, and a
report stored for later could never carry the nonce of the request that shows it."""

from __future__ import annotations

import json

from django.utils.html import format_html
from django.utils.safestring import SafeString


def figure_div(figure_json: str, *, config: dict) -> SafeString:
    """``figure_json`` is the figure as Plotly's JSON (``{"data": [...], "layout": {...}}``);
    both attributes are HTML-escaped, so no value in the figure can end the tag."""
    return format_html(
        '<div class="plotly-figure" data-figure="{}" data-config="{}"></div>', figure_json, json.dumps(config)
    )
