"""The table ``simulate_traffic`` ends with: per slot, the leading variant of its running
experiment, how sure the bandit is, the leader's own CTR over its own impressions, and where
to read the whole report; then the program report's address."""

from urllib.parse import quote

COLUMNS = ("slot", "leader", "P(best)", "leader CTR", "leader impressions", "report")
RIGHT_ALIGNED = {"P(best)", "leader CTR", "leader impressions"}
DASH = "–"


def _cells(row: dict, base_url: str) -> tuple[str, ...]:
    has_leader = row["leader"] is not None
    return (
        row["slot"],
        row["leader"] or DASH,
        f"{row['prob_best']:.1%}" if has_leader else DASH,
        f"{row['rate']:.1%}" if has_leader and row["trials"] else DASH,
        f"{row['trials']:,}",
        f"{base_url}/reports/experiments/{quote(row['experiment'])}/",
    )


def demo_summary_table(rows: list[dict], *, base_url: str) -> str:
    """``rows`` as ``slot_leaders`` gives them; ``base_url`` like ``http://127.0.0.1:8000``."""
    base_url = base_url.rstrip("/")
    body = [_cells(row, base_url) for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(COLUMNS)]

    def line(cells) -> str:
        padded = (
            cell.rjust(width) if column in RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, column in zip(cells, widths, COLUMNS, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(COLUMNS), rule, *(line(r) for r in body)]
    lines.append(f"Program report (all slots against the global holdout): {base_url}/reports/program/")
    return "\n".join(lines)
