"""Plotly figures built server-side; the page only calls Plotly.newPlot on the JSON.

The price-history figure draws one GPU variant at a time (a dropdown in the figure switches, so a
$12 variant never squashes a $2 one and the legend stays at two entries), each market as a median
line over a lowest-to-median band, with a gap wherever a day has no data (never a line across it),
and a linear/log toggle. Both controls are plotly ``updatemenus``: data in the figure JSON, drawn by
the bundled plotly.js, no inline script (the CSP in app/web/security_headers.py holds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import plotly.graph_objects as go

from app.services.history import DailyPoint
from providers.gpus import GPUS

# Colour-blind-safe palette (Okabe-Ito): on-demand and spot of the shown variant.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
BUCKET = timedelta(days=1)
"""History is kept per UTC day: two points further apart than this have no data between them."""
SCALES = ("linear", "log")
DAY_MS = 86_400_000
LOG_DTICK = "D2"
"""Log-axis ticks at 1, 2 and 5 of each decade: every digit would crowd the axis."""


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def series_label(slug: str, spot: bool) -> str:
    return f"{GPUS[slug].name} {'spot' if spot else 'on-demand'}"


def market_label(spot: bool) -> str:
    return "spot" if spot else "on-demand"


def with_gaps(series: Sequence[DailyPoint], bucket: timedelta = BUCKET) -> list[DailyPoint | date]:
    """The points in day order, with the first missing day (a bare ``date``) wherever the next point
    is more than one bucket later: plotly breaks the line there (connectgaps off)."""
    out: list[DailyPoint | date] = []
    previous: DailyPoint | None = None
    for point in sorted(series, key=lambda p: p.day):
        if previous is not None and point.day - previous.day > bucket:
            out.append(previous.day + bucket)
        out.append(point)
        previous = point
    return out


def variants_in(points: Sequence[DailyPoint]) -> list[str]:
    """Variants with data, the best covered first (most days, then most offers, then catalog order)."""
    days: dict[str, int] = defaultdict(int)
    offers: dict[str, int] = defaultdict(int)
    for point in points:
        days[point.gpu_slug] += 1
        offers[point.gpu_slug] += point.offer_count
    order = {slug: i for i, slug in enumerate(GPUS)}
    return sorted(days, key=lambda slug: (-days[slug], -offers[slug], order.get(slug, len(order))))


def _values(rows: list[DailyPoint | date], attr: str) -> list[float | None]:
    # Floats only for drawing: the exact Decimals are in the table under the chart.
    return [None if isinstance(r, date) else float(getattr(r, attr)) for r in rows]


def _series_traces(slug: str, spot: bool, series: Sequence[DailyPoint], colour: str, visible: bool) -> list[go.Scatter]:
    """A lowest-price line, then the median line filled down to it (the min–median band)."""
    rows = with_gaps(series)
    days = [(r if isinstance(r, date) else r.day).isoformat() for r in rows]
    label = series_label(slug, spot)
    common = dict(x=days, mode="lines", connectgaps=False, legendgroup=label, visible=visible,
                  meta=dict(variant=slug, market=market_label(spot)))
    lowest = go.Scatter(y=_values(rows, "min_price"), name=f"{label} lowest", showlegend=False,
                        line=dict(width=1, color=_rgba(colour, 0.6)), hovertemplate="lowest %{y:$.2f}", **common)
    customdata = [[None, None] if isinstance(r, date) else [float(r.max_price), r.offer_count] for r in rows]
    median = go.Scatter(
        y=_values(rows, "median_price"), name=f"{label} median", fill="tonexty", fillcolor=_rgba(colour, 0.15),
        line=dict(width=2.5, color=colour, dash="dot" if spot else "solid"), marker=dict(size=6),
        customdata=customdata, hovertemplate="median %{y:$.2f} · highest %{customdata[0]:$.2f} · %{customdata[1]} offers",
        **{**common, "mode": "lines+markers"},
    )
    return [lowest, median]


def _span_days(points: Sequence[DailyPoint]) -> int:
    days = [p.day for p in points]
    return (max(days) - min(days)).days


def history_figure(points: Sequence[DailyPoint], shown: str | None = None, scale: str = "linear") -> str | None:
    """The history of every variant in ``points``, ``shown`` visible (default: the best covered);
    None without data."""
    if not points:
        return None
    variants = variants_in(points)
    shown = shown if shown in variants else variants[0]
    groups: dict[tuple[str, bool], list[DailyPoint]] = defaultdict(list)
    for point in points:
        groups[(point.gpu_slug, point.spot)].append(point)
    fig = go.Figure()
    owners: list[str] = []
    for slug in variants:
        for spot in (False, True):
            if (slug, spot) in groups:
                traces = _series_traces(slug, spot, groups[(slug, spot)], PALETTE[int(spot)], slug == shown)
                fig.add_traces(traces)
                owners += [slug] * len(traces)
    # Both menus top left, in the top margin (top right is the modebar's): the scale toggle on the row
    # above the plot, the variant dropdown on the row above it (pad in px; it opens over the toggle).
    menus = [dict(
        type="buttons", direction="right", showactive=True, active=SCALES.index(scale),
        x=0, xanchor="left", y=1.02, yanchor="bottom", pad=dict(l=0, t=0, b=0), name="scale",
        buttons=[dict(label="Linear", method="relayout", args=[{"yaxis.type": "linear", "yaxis.dtick": None}]),
                 dict(label="Log scale", method="relayout", args=[{"yaxis.type": "log", "yaxis.dtick": LOG_DTICK}])],
    )]
    if len(variants) > 1:
        menus.insert(0, dict(
            type="dropdown", direction="down", showactive=True, active=variants.index(shown),
            x=0, xanchor="left", y=1.02, yanchor="bottom", pad=dict(l=0, t=0, b=34), name="variant",
            buttons=[dict(label=GPUS[slug].name, method="update",
                          args=[{"visible": [owner == slug for owner in owners]}])
                     for slug in variants],
        ))
    fig.update_layout(
        template="plotly_white",
        height=420,
        margin=dict(l=56, r=16, t=88 if len(variants) > 1 else 48, b=8),
        hovermode="x unified",
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13),
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0),
        yaxis=dict(title=dict(text="$ per GPU-hour"), tickprefix="$", tickformat=".2f", type=scale,
                   dtick=LOG_DTICK if scale == "log" else None),
        # A tick per day over a short range: automatic 12-hour ticks would label each day twice.
        xaxis=dict(type="date", tickformat="%b %d", dtick=DAY_MS if _span_days(points) <= 14 else None),
        updatemenus=menus,
        meta=dict(shown=shown),
    )
    return fig.to_json()
