"""Plotly figures of the experiment report, as HTML fragments that draw with the locally served plotly.js."""

import plotly.graph_objects as go

CHART_CONFIG = {"displaylogo": False, "responsive": True}


def _html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(height=320, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG)


def _series_chart(report: dict, field: str, title: str, div_id: str, y_title: str) -> str | None:
    series = report["history"]["series"]
    if not series["allocation_version"]:
        return None
    fig = go.Figure()
    for arm, values in series[field].items():
        fig.add_trace(go.Scatter(x=series["allocation_version"], y=values, mode="lines+markers", name=arm))
    fig.update_layout(title=title, xaxis_title="allocation version", yaxis_title=y_title)
    return _html(fig, div_id)


def _rates_chart(report: dict) -> str:
    arms = report["arms"]
    fig = go.Figure(
        go.Bar(
            x=[a["arm"] for a in arms],
            y=[a["mean"] for a in arms],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [a["ci_high"] - a["mean"] for a in arms],
                "arrayminus": [a["mean"] - a["ci_low"] for a in arms],
            },
            text=[a["variant"] for a in arms],
        )
    )
    fig.update_layout(title="Posterior mean with 95% credible interval", yaxis_title=report["reward_metric"])
    return _html(fig, "chart-rates")


def _densities_chart(report: dict) -> str:
    densities = report["densities"]
    fig = go.Figure()
    for arm in densities["arms"]:
        fig.add_trace(
            go.Scatter(x=densities["x"], y=arm["density"], mode="lines", fill="tozeroy", name=arm["arm"])
        )
    label = "rate" if densities["kind"] == "rate" else "revenue per impression"
    fig.update_layout(title=f"Posterior density of each arm's {label}", xaxis_title=label)
    return _html(fig, "chart-densities")


def _reward_chart(report: dict) -> str | None:
    series = report["history"]["series"]
    if not series["allocation_version"]:
        return None
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=series["cumulative_trials"], y=series["cumulative_reward"], name="this experiment")
    )
    fig.add_trace(
        go.Scatter(
            x=series["cumulative_trials"],
            y=series["even_split_reward"],
            name="even split",
            line={"dash": "dash"},
        )
    )
    fig.update_layout(title="Cumulative reward vs an even split", xaxis_title="decisions shown")
    return _html(fig, "chart-reward")


def experiment_charts(report: dict) -> dict[str, str]:
    """Chart name -> HTML fragment; charts without data yet are left out."""
    if not report["arms"]:
        return {}
    charts = {
        "rates": _rates_chart(report),
        "densities": _densities_chart(report),
        "allocation": _series_chart(report, "weight", "Allocation over time", "chart-allocation", "weight"),
        "prob_best": _series_chart(report, "prob_best", "P(best) over time", "chart-prob-best", "P(best)"),
        "reward": _reward_chart(report),
    }
    return {name: html for name, html in charts.items() if html}
