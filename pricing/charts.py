"""Plotly figures of the teacher portal, built from plain dicts and rendered for the local
plotly.js: a course's demand and revenue curves with their bands, and the weekly earnings."""

from __future__ import annotations

from functools import cache

import pandas as pd
import plotly.io as pio

from tokenecon.figures import figure_div

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def _band(x, low, high, *, name: str, color: str) -> list[dict]:
    return [
        {"type": "scatter", "x": x, "y": high, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
         "showlegend": False},
        {"type": "scatter", "x": x, "y": low, "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
         "fillcolor": color, "name": name, "hoverinfo": "skip"},
    ]  # fmt: skip


WHAT_IF_MARK = "what-if"  # the marker static/js/app.js moves with the price slider


def _price_markers(
    *, current: int, recommended: int | None, chosen: int | None = None
) -> tuple[list[dict], list[dict]]:
    """Vertical lines at today's price, the advised price and the slider's price, labelled. The
    slider's line is always there (on today's price until the slider moves) so the page can move
    it by name."""
    chosen = current if chosen is None else chosen
    marks = [("now", current, f"now {current}", "#1d2433", "dash", "right")]
    if recommended is not None and recommended != current:
        marks.append(("advised", recommended, f"advised {recommended}", "#1a7f4b", "dot", "left"))
    marks.append((WHAT_IF_MARK, chosen, f"what if {chosen}", "#b4530a", "solid", "left"))
    shapes = [
        {"type": "line", "name": name, "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
         "line": {"color": color, "dash": dash, "width": 1.5 if name == WHAT_IF_MARK else 2},
         "visible": name != WHAT_IF_MARK or chosen != current}
        for name, x, _, color, dash, _ in marks
    ]  # fmt: skip
    annotations = [
        {"name": name, "x": x, "y": 1 if name != WHAT_IF_MARK else 0.92, "xref": "x", "yref": "paper",
         "text": text, "showarrow": False, "xanchor": anchor, "yanchor": "bottom",
         "visible": name != WHAT_IF_MARK or chosen != current}
        for name, x, text, _, _, anchor in marks
    ]  # fmt: skip
    return shapes, annotations


@cache
def _white_template() -> dict:
    return pio.templates["plotly_white"].to_plotly_json()


def figure_html(data: list[dict], layout: dict) -> str:
    """A Plotly figure from plain dicts, for the local plotly.js: a ``<div>`` with the figure as
    data that ``static/js/app.js`` draws (no inline script, for the Content-Security-Policy).

    Not through graph_objects: validating every property and copying the template took about
    100 ms of a course page's 160 ms; these dicts are fixed here and need no validation.
    """
    figure = {"data": data, "layout": {"template": _white_template(), **layout}}
    return figure_div(pio.to_json(figure, validate=False), config=PLOTLY_CONFIG)


def curve_figures(
    curve: pd.DataFrame, *, current: int, recommended: int | None, chosen: int | None = None
) -> tuple[str, str]:
    """The demand and revenue curves over price with their 95% bands, as HTML for the local Plotly;
    ``chosen`` is the slider's price, marked on both."""
    price = curve["price"].to_numpy()
    shapes, annotations = _price_markers(current=current, recommended=recommended, chosen=chosen)
    layout = {
        "margin": {"l": 55, "r": 20, "t": 40, "b": 45},
        "height": 320,
        "xaxis": {"title": {"text": "Price (tokens)"}},
        "legend": {"orientation": "h", "y": -0.25},
        "shapes": shapes,
        "annotations": annotations,
    }
    demand = [
        *_band(price, curve["enrollments_low"].to_numpy(), curve["enrollments_high"].to_numpy(),
               name="95% band", color="rgba(52,84,209,0.15)"),
        {"type": "scatter", "x": price, "y": curve["expected_enrollments"].to_numpy(),
         "name": "Expected enrollments", "line": {"color": "#3454d1"}},
    ]  # fmt: skip
    revenue = [
        *_band(price, curve["revenue_low"].to_numpy(), curve["revenue_high"].to_numpy(),
               name="95% band", color="rgba(26,127,75,0.15)"),
        {"type": "scatter", "x": price, "y": curve["expected_revenue"].to_numpy(), "name": "Gross revenue",
         "line": {"color": "#1a7f4b"}},
        {"type": "scatter", "x": price, "y": curve["teacher_earnings"].to_numpy(), "name": "Your earnings",
         "line": {"color": "#6b7385", "dash": "dot"}},
    ]  # fmt: skip
    return (
        figure_html(
            demand,
            {**layout, "title": {"text": "Demand: enrollments per 30 days"},
             "yaxis": {"title": {"text": "Enrollments"}}},
        ),
        figure_html(
            revenue,
            {**layout, "title": {"text": "Revenue: tokens per 30 days"},
             "yaxis": {"title": {"text": "Tokens"}}},
        ),
    )  # fmt: skip


def earnings_figure(weekly: pd.DataFrame) -> str:
    """Cumulative earnings and the payouts of each week (``selectors.teacher_earnings_by_week``)."""
    weeks = [str(w) for w in weekly["week"]]
    data = [
        {"type": "scatter", "x": weeks, "y": weekly["cumulative_earned_tokens"].to_numpy(),
         "name": "Cumulative earnings", "mode": "lines+markers", "line": {"color": "#3454d1"}},
        {"type": "bar", "x": weeks, "y": weekly["paid_out_tokens"].to_numpy(), "name": "Paid out that week",
         "marker": {"color": "rgba(26,127,75,0.5)"}},
    ]  # fmt: skip
    layout = {
        "title": {"text": "Earnings by week (tokens)"},
        "margin": {"l": 55, "r": 20, "t": 40, "b": 45},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.2},
    }
    return figure_html(data, layout)
