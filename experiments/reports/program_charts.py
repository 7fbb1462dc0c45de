"""Plotly figures of the program report (the whole program against the global holdout)."""

import plotly.graph_objects as go

from .charts import _html

GROUP_NAMES = {"holdout": "holdout (each slot's baseline)", "program": "program (experiments and defaults)"}


def _uplift_chart(report: dict) -> str | None:
    """Uplift with its 95% interval, for the metrics the holdout can measure."""
    metrics = {k: m for k, m in report["metrics"].items() if m["measurable"] and m["uplift"] is not None}
    if not metrics:
        return None
    names = [m["label"].split(" (")[0] for m in metrics.values()]
    uplift = [m["uplift"] * 100 for m in metrics.values()]
    high = [
        ((m["ci_high"] if m["ci_high"] is not None else m["uplift"]) - m["uplift"]) * 100
        for m in metrics.values()
    ]
    low = [
        (m["uplift"] - (m["ci_low"] if m["ci_low"] is not None else m["uplift"])) * 100
        for m in metrics.values()
    ]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=uplift,
            error_y={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
            hovertemplate="%{x}: %{y:+.1f}%<extra></extra>",
        )
    )
    fig.update_layout(
        title="Program uplift over the holdout, with 95% interval",
        xaxis_title="metric",
        yaxis_title="uplift over the holdout (%)",
    )
    return _html(fig, "chart-program-uplift")


def _ctr_over_time_chart(report: dict) -> str | None:
    series = report["ctr_over_time"]
    if not series["time"]:
        return None
    fig = go.Figure()
    for group in ("holdout", "program"):
        fig.add_trace(
            go.Scatter(
                x=series["time"],
                y=[None if v is None else v * 100 for v in series[group]],
                mode="lines+markers",
                name=GROUP_NAMES[group],
            )
        )
    fig.update_layout(
        title="Click-through rate so far, holdout and program",
        xaxis_title="time (UTC)",
        yaxis_title="click-through rate so far (%)",
    )
    return _html(fig, "chart-program-ctr-time")


def _slot_ctr_chart(report: dict) -> str | None:
    """Horizontal bars, one pair per slot: slot keys stay readable however many slots there are."""
    slots = report["slots"]
    if not slots:
        return None
    fig = go.Figure()
    names = [s["slot"] for s in slots]
    for group in ("holdout", "program"):
        fig.add_trace(
            go.Bar(
                y=names,
                x=[None if s.get(f"{group}_ctr") is None else s[f"{group}_ctr"] * 100 for s in slots],
                orientation="h",
                name=GROUP_NAMES[group],
                customdata=[[s.get(f"{group}_decisions", 0), s["baseline"] or "none"] for s in slots],
                hovertemplate="%{x:.1f}% over %{customdata[0]:,} decisions (baseline %{customdata[1]})"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        title="Click-through rate per slot: holdout (the slot's baseline variant) and program",
        xaxis_title="click-through rate (%)",
        yaxis={"title": {"text": "slot"}, "autorange": "reversed", "automargin": True},
        barmode="group",
    )
    return _html(fig, "chart-program-slots", height=140 + 36 * len(slots))


def program_charts(report: dict) -> dict[str, str]:
    """Chart name -> HTML fragment; charts without data are left out."""
    charts = {
        "uplift": _uplift_chart(report),
        "ctr_over_time": _ctr_over_time_chart(report),
        "slots": _slot_ctr_chart(report),
    }
    return {name: html for name, html in charts.items() if html}
