"""Plotly figures of the cost pages, serialised server-side by plotly; the page draws them with the
bundled plotly.js (``[data-plotly-figure]`` in site.js). Floats are for drawing only: each point
carries its exact amount in ``customdata``, and the same numbers are in a table next to the chart.

The figures are plain dicts in plotly's figure schema, serialised without building ``go.Figure``
objects: their validation (and a copy of the style template per figure) took ~30 ms a chart, most
of a page's time. The tests check every figure against the schema with ``go.Figure``.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.io as pio

from app.web.charts import PALETTE

FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13, color="#1a1f2b")
GRID = "#e6e9ef"


def _dollars(micros: pd.Series) -> tuple[list[float], list[str]]:
    exact = [Decimal(int(m)).scaleb(-6) for m in micros]
    return [float(a) for a in exact], [f"{a:.6f}" for a in exact]


def _figure(traces: list[dict], height: int, **layout) -> str:
    base = dict(height=height, margin=dict(l=56, r=16, t=16, b=40), font=FONT, paper_bgcolor="#fff",
                plot_bgcolor="#fff", hoverlabel=dict(font=FONT))
    return pio.to_json({"data": traces, "layout": base | layout}, validate=False)


def _money_axis(**extra) -> dict:
    return dict(tickprefix="$", rangemode="tozero", gridcolor=GRID, zerolinecolor="#c5cbd6", automargin=True,
                **extra)


def daily_figure(daily: pd.Series) -> str:
    """Bars of the cost of each local day (``daily``: micro-dollars indexed by date)."""
    y, exact = _dollars(daily)
    bars = dict(type="bar", x=[d.isoformat() for d in daily.index], y=y, customdata=exact, name="Cost per day",
                marker=dict(color=PALETTE[0]), hovertemplate="%{x|%a %b %d}: $%{y:,.2f}<extra></extra>")
    return _figure([bars], 320, showlegend=False, bargap=0.25,
                   yaxis=_money_axis(title=dict(text="$ per day")),
                   xaxis=dict(type="date", tickformat="%b %d", showgrid=False, automargin=True))


def share_figure(totals: pd.Series, title: str) -> str | None:
    """A ring of the cost per GPU type (or any labelled series); None without any cost."""
    if not len(totals):
        return None
    values, exact = _dollars(totals)
    pie = dict(type="pie", labels=list(totals.index), values=values, customdata=exact, name=title, sort=False,
               hole=0.45, marker=dict(colors=[PALETTE[i % len(PALETTE)] for i in range(len(totals))]),
               texttemplate="%{percent:.0%}", hovertemplate="%{label}: $%{value:,.2f}<extra></extra>")
    return _figure([pie], 300, legend=dict(orientation="h", yanchor="top", y=-0.05, xanchor="left", x=0))


def bar_figure(totals: pd.Series, title: str, color: str = PALETTE[2]) -> str | None:
    """Horizontal bars of the cost per provider (or member), largest on top; None without any cost."""
    if not len(totals):
        return None
    values, exact = _dollars(totals)
    bars = dict(type="bar", orientation="h", x=values[::-1], y=list(totals.index)[::-1], customdata=exact[::-1],
                name=title, marker=dict(color=color), hovertemplate="%{y}: $%{x:,.2f}<extra></extra>")
    # Bars about 30 px thick whatever their number, up to the chart's height.
    return _figure([bars], max(300, 70 + 42 * len(totals)), showlegend=False,
                   bargap=max(0.35, 1 - 0.12 * len(totals)), xaxis=_money_axis(), yaxis=dict(automargin=True))
