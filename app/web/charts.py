"""Plotly figures built server-side; the page only calls Plotly.newPlot on the JSON."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import plotly.graph_objects as go

from app.services.history import DailyPoint
from providers.gpus import GPUS

# Colour-blind-safe palette (Okabe-Ito), one colour per GPU variant and market.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def series_label(slug: str, spot: bool) -> str:
    return f"{GPUS[slug].name} {'spot' if spot else 'on-demand'}"


def history_figure(points: Sequence[DailyPoint]) -> str | None:
    """Daily median line inside a min–max band per GPU variant and market; None without data."""
    if not points:
        return None
    groups: dict[tuple[str, bool], list[DailyPoint]] = defaultdict(list)
    for point in points:
        groups[(point.gpu_slug, point.spot)].append(point)
    fig = go.Figure()
    for index, ((slug, spot), series) in enumerate(sorted(groups.items(), key=lambda g: (g[0][1], g[0][0]))):
        colour = PALETTE[index % len(PALETTE)]
        label = series_label(slug, spot)
        days = [p.day.isoformat() for p in series]
        # Floats only for drawing: the exact Decimals are in the table under the chart.
        maximum = [float(p.max_price) for p in series]
        minimum = [float(p.min_price) for p in series]
        median = [float(p.median_price) for p in series]
        band = dict(x=days, mode="lines", line=dict(width=1, color=_rgba(colour, 0.5)), legendgroup=label,
                    hovertemplate="%{y:$.2f}")
        fig.add_trace(go.Scatter(y=maximum, name=f"{label} max", showlegend=False, **band))
        fig.add_trace(go.Scatter(y=minimum, name=f"{label} min–max", fill="tonexty",
                                 fillcolor=_rgba(colour, 0.12), **band))
        fig.add_trace(go.Scatter(
            x=days, y=median, name=f"{label} median", mode="lines+markers", legendgroup=label,
            line=dict(width=2.5, color=colour, dash="dot" if spot else "solid"), marker=dict(size=6),
            hovertemplate="%{y:$.2f}",
        ))
    fig.update_layout(
        template="plotly_white",
        height=380,
        margin=dict(l=56, r=16, t=16, b=8),
        hovermode="x unified",
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13),
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0),
        yaxis=dict(title=dict(text="$ per GPU-hour"), tickprefix="$", tickformat=".2f"),
        xaxis=dict(type="date", tickformat="%b %d"),
    )
    return fig.to_json()
