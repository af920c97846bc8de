"""Order plots: log–log error against Δt for each series of an order table, with slope guides Δt¹ and Δt².

A table row is ``(panel, series, order, dt, error)`` (``order``: what ``scheme.order()`` reports);
:func:`order_figure` draws one panel per ``panel`` value, each series with its fitted slope in the legend,
and the guide of slope p at twice the largest error of the order-p series at the largest Δt (dashed: first
order; dotted: second). ``python -m experiments.time_order.figures TABLE.csv OUT.png`` redraws a written table.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from experiments.common import fit_power_law, save_figure

__all__ = ["FIELDS", "order_figure", "read_table", "write_table"]

FIELDS = ("panel", "series", "order", "dt", "error")


def write_table(rows, path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({k: r[k] for k in FIELDS} for r in rows)


def read_table(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [dict(r, dt=float(r["dt"]), error=float(r["error"])) for r in csv.DictReader(f)]


def order_figure(rows, path: Path, title: str) -> None:
    """One log–log panel per ``panel``: every series, its fitted slope, and the Δt¹, Δt² guides."""
    from matplotlib.figure import Figure

    panels = list(dict.fromkeys(r["panel"] for r in rows))
    fig = Figure(figsize=(8.5 * len(panels), 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels, strict=True):
        mine = [r for r in rows if r["panel"] == panel]
        for series in dict.fromkeys(r["series"] for r in mine):
            pts = sorted((r["dt"], r["error"]) for r in mine if r["series"] == series)
            dts, errors = map(np.asarray, zip(*pts, strict=True))
            fitted = fit_power_law(dts, errors).exponent
            order = next(r["order"] for r in mine if r["series"] == series)
            ax.loglog(dts, errors, "o-", label=f"{series} (order() {order}, slope {fitted:.2f})")
        span = np.array([min(r["dt"] for r in mine), max(r["dt"] for r in mine)])
        for p, style in ((1, "--"), (2, ":")):
            at_top = [r["error"] for r in mine if r["dt"] == span[1] and int(r["order"]) == p]
            top = 2 * max(at_top or [r["error"] for r in mine if r["dt"] == span[1]])
            ax.loglog(span, top * (span / span[1]) ** p, "k" + style, lw=1, label=f"slope {p} guide")
        ax.set(title=panel, xlabel="Δt", ylabel="error")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.time_order.figures", description=__doc__.split("\n")[0]
    )
    parser.add_argument("table", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--title", default="order in time")
    args = parser.parse_args(argv)
    order_figure(read_table(args.table), args.out, args.title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
