"""Plotly figures of the program report (the whole program against the global holdout)."""

import plotly.graph_objects as go

from .charts import _html


def program_charts(report: dict) -> dict[str, str]:
    fig = go.Figure()
    names = {
        "ctr": "CTR",
        "conversion": "Conversion",
        "average_order_value": "AOV",
        "revenue_per_session": "Rev/session",
    }
    metrics = report["metrics"]
    fig.add_trace(
        go.Bar(
            x=[names[k] for k in metrics],
            y=[(m["uplift"] or 0) * 100 for m in metrics.values()],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    ((m["ci_high"] or m["uplift"] or 0) - (m["uplift"] or 0)) * 100 for m in metrics.values()
                ],
                "arrayminus": [
                    ((m["uplift"] or 0) - (m["ci_low"] or m["uplift"] or 0)) * 100 for m in metrics.values()
                ],
            },
        )
    )
    fig.update_layout(title="Program uplift over the holdout (%, 95% interval)", yaxis_title="uplift %")
    return {"uplift": _html(fig, "chart-program-uplift")}
