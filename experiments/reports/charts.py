"""Plotly figures of the experiment report, as HTML fragments that draw with the locally served plotly.js."""

import plotly.graph_objects as go

from experiments.domain.arm_summary import METRIC_WORDS
from experiments.domain.report_numbers import CURRENCY_SYMBOLS

CHART_CONFIG = {"displaylogo": False, "responsive": True}
REWARD_WORDS = {
    "click": "Click rate",
    "add_to_cart": "Add-to-cart rate",
    "purchase": "Purchase rate",
    "revenue": "Revenue per impression",
}


def _html(fig: go.Figure, div_id: str, height: int = 320) -> str:
    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG)


def _experiment_html(fig: go.Figure, div_id: str) -> str:
    """An experiment chart: room for axis titles, the legend below the x axis's title so it hides
    neither a line nor the chart's title (four variant names do not fit beside a title above)."""
    fig.update_layout(
        height=380,
        autosize=True,
        margin={"l": 70, "r": 20, "t": 50, "b": 110},
        template="plotly_white",
        legend={"orientation": "h", "yanchor": "top", "y": -0.32, "xanchor": "left", "x": 0.0},
    )
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG)


def _variant_names(report: dict) -> dict[str, str]:
    """Arm key -> how legends and labels name it: the variant, with the arm key beside."""
    return {a["arm"]: f"{a['variant']} ({a['arm']})" for a in report["arms"]}


def _reward_axis(report: dict) -> dict:
    """The y (or x) axis of a reward per impression: its name in words and a percent or money format."""
    metric = report["reward_metric"]
    if metric == "revenue":
        symbol = CURRENCY_SYMBOLS.get(report.get("currency", ""), "")
        return {"title": {"text": "Revenue per impression"}, "tickprefix": symbol, "tickformat": ",.3f"}
    return {"title": {"text": REWARD_WORDS[metric]}, "tickformat": ".1%"}


def _time_axis() -> dict:
    # Plotly picks date ticks to suit the span (minutes in a day's test, days in a month's) on its own.
    return {"title": {"text": "Time (UTC)"}, "type": "date", "nticks": 6}


def _series_chart(report: dict, field: str, title: str, div_id: str, y_title: str) -> str | None:
    """One line per arm over time (the snapshot times), named by variant."""
    series = report["history"]["series"]
    if not series["created_at"]:
        return None
    names = _variant_names(report)
    fig = go.Figure()
    for arm, values in series[field].items():
        fig.add_trace(
            go.Scatter(x=series["created_at"], y=values, mode="lines+markers", name=names.get(arm, arm))
        )
    fig.update_layout(
        title=title,
        xaxis=_time_axis(),
        yaxis={"title": {"text": y_title}, "tickformat": ".0%", "rangemode": "tozero"},
    )
    return _experiment_html(fig, div_id)


def _rates_chart(report: dict) -> str:
    arms = report["arms"]
    names = _variant_names(report)
    fig = go.Figure(
        go.Bar(
            x=[names[a["arm"]] for a in arms],
            y=[a["mean"] for a in arms],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [a["ci_high"] - a["mean"] for a in arms],
                "arrayminus": [a["mean"] - a["ci_low"] for a in arms],
            },
        )
    )
    fig.update_layout(
        title="Posterior mean with 95% credible interval",
        xaxis={"title": {"text": "Variant (arm)"}, "automargin": True},
        yaxis={**_reward_axis(report), "rangemode": "tozero"},
    )
    return _experiment_html(fig, "chart-rates")


def _densities_chart(report: dict) -> str:
    densities = report["densities"]
    names = _variant_names(report)
    fig = go.Figure()
    for arm in densities["arms"]:
        fig.add_trace(
            go.Scatter(
                x=densities["x"],
                y=arm["density"],
                mode="lines",
                fill="tozeroy",
                name=names.get(arm["arm"], arm["arm"]),
            )
        )
    axis = _reward_axis(report)
    fig.update_layout(
        title=f"How sure we are of each variant's {axis['title']['text'].lower()}",
        xaxis=axis,
        yaxis={"title": {"text": "Posterior density"}, "showticklabels": False},
    )
    return _experiment_html(fig, "chart-densities")


def _reward_chart(report: dict) -> str | None:
    series = report["history"]["series"]
    if not series["created_at"]:
        return None
    noun = METRIC_WORDS[report["reward_metric"]][0]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=series["created_at"], y=series["cumulative_reward"], name="This experiment"))
    fig.add_trace(
        go.Scatter(
            x=series["created_at"],
            y=series["even_split_reward"],
            name="An even split (estimated)",
            line={"dash": "dash"},
        )
    )
    fig.update_layout(
        title=f"{noun.capitalize()} so far vs an even split",
        xaxis=_time_axis(),
        yaxis={"title": {"text": f"{noun.capitalize()} so far"}, "tickformat": ",d", "rangemode": "tozero"},
    )
    return _experiment_html(fig, "chart-reward")


def experiment_charts(report: dict) -> dict[str, str]:
    """Chart name -> HTML fragment; charts without data yet are left out."""
    if not report["arms"]:
        return {}
    charts = {
        "rates": _rates_chart(report),
        "densities": _densities_chart(report),
        "allocation": _series_chart(
            report,
            "weight",
            "Share of traffic over time",
            "chart-allocation",
            "Share of the experiment's traffic",
        ),
        "prob_best": _series_chart(
            report, "prob_best", "P(best) over time", "chart-prob-best", "Probability of being best"
        ),
        "reward": _reward_chart(report),
    }
    return {name: html for name, html in charts.items() if html}
