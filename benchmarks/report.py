"""RESULTS.md from the sections' JSON results: tables, targets, machine. No torch needed.

The command rewrites only the part between the two markers; the hand-written text
around them (the method) stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.stats import paired_ratio, ratio

BEGIN = "<!-- BEGIN GENERATED RESULTS: written by `python -m benchmarks`; edits here are lost -->"
END = "<!-- END GENERATED RESULTS -->"
NO_GPU = "not measured: no GPU lent to this task"


@dataclass(frozen=True)
class Target:
    """A goal of the issue: a contender's ratio to a baseline, or a section's metric, against a bound."""

    label: str
    section: str
    op: str
    """'<=' or '>='."""
    bound: float
    contender: str = ""
    baseline: str = ""
    metric: str = ""
    aside: str = ""
    """A metric shown beside the measured one (the wall time beside a CPU time)."""
    device: str = "cpu"

    @property
    def goal(self) -> str:
        sign = "≤" if self.op == "<=" else "≥"
        if self.metric:
            return f"{sign} {self.bound:g} s"
        return f"{sign} {self.bound:g}x {self.baseline}"


TARGETS = (
    Target(
        "generated trainer per step, CPU tiny MLP", "steps-tiny", "<=", 1.03, "generated", "raw"
    ),
    Target(
        "generated trainer per step, CPU medium MLP", "steps-medium", "<=", 1.01, "generated", "raw"
    ),
    Target("tabular pipeline vs raw slicing", "tabular-pipeline", ">=", 0.8, "generated", "raw"),
    Target(
        "tabular pipeline vs per-row Dataset", "tabular-pipeline", ">=", 20, "generated", "per-row"
    ),
    Target("image pipeline vs PIL, per core", "image-pipeline", ">=", 1.5, "generated", "pil"),
    Target(
        "Parquet streaming vs full read", "parquet-pipeline", ">=", 0.6, "streaming", "full-read"
    ),
    Target(
        "render, every combination (slowest, CPU time)",
        "render",
        "<=",
        1.0,
        metric="render_max_s",
        aside="render_max_wall_s",
    ),
    Target(
        "first epoch, fresh default project, CPU", "first-epoch", "<=", 20.0, metric="first_epoch_s"
    ),
)

GPU_ROWS = (
    ("steps-tiny", "per training step, GPU, tiny MLP (32-64-64-1)"),
    ("steps-medium", "per training step, GPU, medium MLP (256-1024-1024-1)"),
)


def find_row(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((row for row in result.get("rows", []) if row["name"] == name), None)


def row_median(result: dict[str, Any], name: str) -> float | None:
    row = find_row(result, name)
    return None if row is None else row["median"]


def contender_ratio(
    result: dict[str, Any], contender: str, baseline: str
) -> tuple[float, float, float] | None:
    """`contender` over `baseline`: the median of their paired per-round ratios, with its range.

    Rows without rounds (older results) give the ratio of their medians, without a range.
    """
    row, base = find_row(result, contender), find_row(result, baseline)
    if row is None or base is None:
        return None
    # A contender that ran beside a baseline run of its own carries that run's rounds.
    own_baseline = row.get("baseline_rounds") if baseline == result.get("baseline") else None
    paired = paired_ratio(row.get("rounds", []), own_baseline or base.get("rounds", []))
    if paired is not None:
        return paired
    value = ratio(row["median"], base["median"])
    return None if value is None else (value, value, value)


def measure(target: Target, results: dict[str, dict[str, Any]]) -> tuple[float | None, str]:
    """The measured value of `target` (a ratio, or seconds) and its status in words."""
    result = results.get(target.section)
    if result is None:
        return None, "not measured: section not run"
    if "error" in result:
        return None, "not measured: the section failed"
    if result.get("device", "cpu") != target.device:
        return None, f"not measured: this run used --device {result['device']}"
    if target.metric:
        value = result.get("metrics", {}).get(target.metric)
    else:
        paired = contender_ratio(result, target.contender, target.baseline)
        value = None if paired is None else paired[0]
    if value is None:
        return None, "not measured"
    return value, verdict(value, target.op, target.bound)


def verdict(value: float, op: str, bound: float) -> str:
    """'met', or 'missed by <amount> (<percent> over/under the bound)'."""
    if (value <= bound) if op == "<=" else (value >= bound):
        return "met"
    gap = abs(value - bound)
    percent = abs(value / bound - 1) * 100
    side = "over" if op == "<=" else "under"
    return f"missed by {gap:.3g} ({percent:.1f}% {side})"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if "rows/s" in unit or "images/s" in unit:
        return f"{value:,.0f}"
    if "ms/step" in unit:
        return f"{value:.3f}"
    return f"{value:.2f}"


def targets_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| target | goal | measured | status |", "| --- | --- | --- | --- |"]
    for target in TARGETS:
        value, status = measure(target, results)
        shown = "-" if value is None else (f"{value:.2f} s" if target.metric else f"{value:.3f}x")
        aside = results.get(target.section, {}).get("metrics", {}).get(target.aside)
        if value is not None and aside is not None:
            shown += f" (wall {aside:.2f} s)"
        lines.append(f"| {target.label} | {target.goal} | {shown} | {status} |")
    return lines


def gpu_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| GPU row | result |", "| --- | --- |"]
    for section, label in GPU_ROWS:
        result = results.get(section)
        if result is not None and result.get("device") == "cuda" and "error" not in result:
            paired = contender_ratio(result, "generated", "raw")
            shown = "-" if paired is None else f"generated {paired[0]:.3f}x raw (table below)"
            lines.append(f"| {label} | {shown} |")
        else:
            lines.append(f"| {label} | {NO_GPU} |")
    return lines


def section_lines(result: dict[str, Any]) -> list[str]:
    title = result.get("title", result["section"])
    if "error" in result:
        return [f"### {title}", "", f"failed: {result['error']}"]
    unit, baseline = result["unit"], result.get("baseline")
    lines = [f"### {title}", ""]
    if result.get("setup"):
        lines += [result["setup"] + ".", ""]
    if result.get("agreement"):
        lines += [f"Same work: {result['agreement']}.", ""]
    header = f"| contender | median {unit} | min - max | samples |"
    rule = "| --- | ---: | ---: | ---: |"
    secondary = result.get("secondary_header", "")
    if secondary:
        header += f" {secondary} |"
        rule += " ---: |"
    if baseline:
        what = "time" if not result["higher_is_better"] else "throughput"
        header += f" {what} ÷ {baseline}, paired by round (range) |"
        rule += " ---: |"
    lines += [header + " note |", rule + " --- |"]
    for row in result["rows"]:
        cells = [
            row["label"],
            fmt(row["median"], unit),
            f"{fmt(row['min'], unit)} - {fmt(row['max'], unit)}" if row["n"] > 1 else "",
            str(row["n"]),
        ]
        if secondary:
            cells.append(fmt(row.get("secondary"), unit))
        if baseline:
            paired = contender_ratio(result, row["name"], baseline)
            cells.append(ratio_cell(paired))
        cells.append(row.get("note", ""))
        lines.append("| " + " | ".join(cells) + " |")
    for note in result.get("notes", []):
        lines += ["", f"Note: {note}"]
    return lines


def ratio_cell(paired: tuple[float, float, float] | None) -> str:
    """'1.012x (0.981-1.050)': the median paired ratio and its range over the rounds."""
    if paired is None:
        return "-"
    value, low, high = paired
    return f"{value:.3f}x" if low == high else f"{value:.3f}x ({low:.3f}-{high:.3f})"


def render_block(results: Sequence[dict[str, Any]], run: dict[str, Any]) -> str:
    """The generated part of RESULTS.md."""
    by_section = {r["section"]: r for r in results}
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items())
    lines = [
        f"Generated {run['date']} by `{run['command']}` at revision {run['revision']}.",
        "",
        f"Machine: {run['cores']} cores (nproc), {run['cpu']}; torch threads "
        f"{run.get('threads', '?')}; load average {run['load_before']:.2f} before, "
        f"{run['load_after']:.2f} after. Device: {run['device']}.",
        "",
        f"Versions: {versions}.",
        "",
        *(
            [
                "**A smoke run (--quick): the sizes are too small for these numbers to mean much.**",
                "",
            ]
            if run.get("quick")
            else []
        ),
        "## Targets",
        "",
        *targets_table(by_section),
        "",
        *gpu_table(by_section),
        "",
        "## Tables",
    ]
    for result in results:
        lines += ["", *section_lines(result)]
    return "\n".join(lines) + "\n"


def splice(existing: str | None, block: str) -> str:
    """`existing` with the text between the markers replaced by `block`; a new file without them."""
    generated = f"{BEGIN}\n{block}{END}"
    if existing and BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + generated + tail
    return f"# Benchmark results\n\n{generated}\n"
