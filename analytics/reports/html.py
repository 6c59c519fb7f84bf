"""What every pipeline report shares: a Plotly figure as an HTML fragment in the report's style."""

from __future__ import annotations

import plotly.graph_objects as go

from tokenecon.figures import figure_div


def figure_html(figure: go.Figure) -> str:
    """The figure as a ``<div>`` for a report page, which loads plotly.js once itself; drawn by
    ``static/js/app.js``, so the stored report needs no inline script (and no nonce)."""
    figure.update_layout(margin={"l": 50, "r": 20, "t": 50, "b": 40}, height=380, template="plotly_white")
    return figure_div(figure.to_json(), config={"displaylogo": False})
