"""Charts of the HTML report, drawn by pygal as inline SVG.

A `Chart` is plain data (kind, labels, series); `chart_svg` draws it. pygal is pure Python
and writes SVG, which stays sharp on a phone and on paper; its script (tooltips loaded from
the web) is left out, so the page runs nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

ChartKind = Literal["stacked_bar", "line", "hbar", "stacked_hbar", "pie"]

# Okabe-Ito colours: told apart with every common kind of colour blindness, and in print.
PALETTE = ("#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
CHART_WIDTH = 800


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]
    colour: str | None = None


@dataclass(frozen=True)
class Chart:
    kind: ChartKind
    title: str
    labels: tuple[str, ...]  # one per value of each series (pie: one per series)
    series: tuple[Series, ...]
    percent: bool = False  # values are shares 0-1, shown as percentages


def charts_available() -> bool:
    try:
        _import_pygal()
    except ImportError:
        return False
    return True


def _import_pygal() -> None:
    import pygal

    # pygal adds an import hook for its map plugins (pygal.maps.*, not used here) that lacks
    # find_spec, so every later failed import anywhere in the process warns (ImportWarning).
    # Taken out again; the charts do not need it.
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not (type(finder).__module__ == pygal.__name__ and hasattr(finder, "find_module"))
    ]


def _legend_columns(chart: Chart) -> int:
    # pygal gives each legend column an equal share of the width and lets long names
    # overlap: as many columns as the longest name leaves room for.
    longest = max((len(series.name) for series in chart.series), default=1)
    return max(1, min(len(chart.series), 4, CHART_WIDTH // (40 + 9 * longest)))


def chart_svg(chart: Chart) -> str:
    """The chart as inline SVG (pygal), without pygal's script and with a text alternative."""
    _import_pygal()
    import pygal
    from pygal.etree import etree
    from pygal.style import Style

    palette = PALETTE
    colours = tuple(s.colour or palette[n % len(palette)] for n, s in enumerate(chart.series))
    style = Style(
        background="transparent",
        plot_background="transparent",
        foreground="#222222",
        foreground_strong="#111111",
        foreground_subtle="#666666",
        colors=colours,
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        value_font_size=13,
        tooltip_font_size=13,
    )
    options: dict[str, Any] = {
        "style": style,
        "js": [],  # no script from outside (pygal's default loads its tooltips from the web)
        "disable_xml_declaration": True,
        "width": CHART_WIDTH,
        "height": 400,
        "show_title": False,  # the section's heading names it
        "legend_at_bottom": True,
        "legend_at_bottom_columns": _legend_columns(chart),
        "truncate_legend": -1,
        "print_values": False,
        "margin": 10,
    }
    legend_rows = -(-len(chart.series) // _legend_columns(chart))
    if legend_rows > 1:
        # pygal leaves room for one row of the legend only
        options["margin_bottom"] = 10 + 26 * (legend_rows - 1)
    if chart.percent:
        options["value_formatter"] = lambda value: f"{value:.0%}"
        options["range"] = (0, 1)
    if chart.kind == "pie":
        options["print_values"] = True
        drawing = pygal.Pie(inner_radius=0.45, **options)
    else:
        kinds = {
            "stacked_bar": pygal.StackedBar,
            "line": pygal.Line,
            "hbar": pygal.HorizontalBar,
            "stacked_hbar": pygal.HorizontalStackedBar,
        }
        extra: dict[str, Any] = {}
        if chart.kind in ("stacked_bar", "line") and len(chart.labels) > 10:
            extra = {"x_label_rotation": 40, "show_minor_x_labels": False}
            extra["x_labels_major_every"] = max(1, len(chart.labels) // 8)
        if chart.kind in ("hbar", "stacked_hbar"):
            options["height"] = 120 + 36 * max(len(chart.labels), 1)
            options["show_legend"] = len(chart.series) > 1
        drawing = kinds[chart.kind](**options, **extra)
        drawing.x_labels = list(chart.labels)
        if chart.kind in ("hbar", "stacked_hbar"):
            # pygal draws horizontal bars bottom-up; the first (largest) belongs on top.
            drawing.x_labels = list(reversed(chart.labels))
    for series in chart.series:
        values = list(series.values)
        if chart.kind in ("hbar", "stacked_hbar"):
            values.reverse()
        drawing.add(series.name, values)  # type: ignore[arg-type]
    # pygal builds the tree with lxml when it is installed, else with xml.etree
    root: Any = drawing.render_tree()
    chart_id = root.get("id", "chart")
    for parent in root.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("script"):
                parent.remove(child)
            elif child.get("id"):
                # pygal repeats ids such as "activate-serie-0" in every chart (its script
                # uses them); ids must be unique in the page.
                child.set("id", f"{chart_id}-{child.get('id')}")
    root.set("role", "img")
    root.set("aria-label", chart.title)
    root.set("class", f"{root.get('class', '')} chart".strip())
    root.set("data-chart", chart.kind)
    to_text: Any = etree.tostring
    return str(to_text(root, encoding="unicode"))
