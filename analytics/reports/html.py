"""What every pipeline report shares: a Plotly figure as an HTML fragment in the report's style."""

from __future__ import annotations

import plotly.graph_objects as go


def figure_html(figure: go.Figure) -> str:
    """The figure as a ``<div>`` for a report page, which loads plotly.js once itself."""
    figure.update_layout(margin={"l": 50, "r": 20, "t": 50, "b": 40}, height=380, template="plotly_white")
    return figure.to_html(include_plotlyjs=False, full_html=False, config={"displaylogo": False})
