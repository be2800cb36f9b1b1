"""The benchmarks' pure helpers: statistics, targets, the RESULTS.md splice. No torch, no timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is a folder of the repository, not an installed package

from benchmarks import machine, report, stats  # noqa: E402


def test_median_and_ratio_handle_missing_values() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([]) is None
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(1.0, 0.0) is None


def test_interleaving_gives_every_contender_every_position() -> None:
    names = ["a", "b", "c"]
    rounds = [stats.interleaved(names, r) for r in range(3)]
    assert all(sorted(r) == names for r in rounds)
    for position in range(3):
        assert {r[position] for r in rounds} == set(names)
    assert stats.interleaved([], 4) == []


def test_agreement_passes_within_tolerance_and_names_the_culprit_beyond_it() -> None:
    losses = {"raw": [1.0, 0.5], "generated": [1.0 + 1e-7, 0.5 * (1 + 1e-4)]}
    sentence = stats.check_agreement(losses, "raw", first=1e-5, later=1e-3)
    assert "first epoch within 1.0e-07" in sentence
    assert "later epochs within 1.0e-04" in sentence
    with pytest.raises(AssertionError, match=r"lightning.*first"):
        stats.check_agreement({**losses, "lightning": [1.01, 0.5]}, "raw", 1e-5, 1e-3)
    with pytest.raises(AssertionError, match=r"lightning.*later"):
        stats.check_agreement({**losses, "lightning": [1.0, 0.6]}, "raw", 1e-5, 1e-3)
    with pytest.raises(AssertionError, match="short"):
        stats.check_agreement({**losses, "short": [1.0]}, "raw", 1e-5, 1e-3)


def test_paired_ratios_compare_round_by_round() -> None:
    # The machine slows down in round 2 for both: the paired ratios stay 1.1.
    assert stats.paired_ratio([1.1, 2.2, 1.1], [1.0, 2.0, 1.0]) == pytest.approx((1.1, 1.1, 1.1))
    assert stats.paired_ratio([1.0, 3.0], [1.0, 1.0]) == (2.0, 1.0, 3.0)
    assert stats.paired_ratio([], []) is None
    assert stats.paired_ratio([1.0], [1.0, 2.0]) is None
    raw = stats.summarize("raw", "raw", [1.0, 2.0, 1.0], rounds=[1.0, 2.0, 1.0])
    generated = stats.summarize("generated", "g", [1.1, 2.2, 1.1], rounds=[1.1, 2.2, 1.1])
    paired = report.contender_ratio({"rows": [raw, generated]}, "generated", "raw")
    assert paired is not None and paired[0] == pytest.approx(1.1)
    assert report.ratio_cell((1.1, 1.0, 1.25)) == "1.100x (1.000-1.250)"


def test_summarize_keeps_samples_and_spread() -> None:
    row = stats.summarize("raw", "raw loop", [3.0, 1.0, 2.0], "")
    assert (row["median"], row["min"], row["max"], row["n"]) == (2.0, 1.0, 3.0, 3)
    empty = stats.summarize("lightning", "Lightning", [], "skipped")
    assert empty["median"] is None and empty["note"] == "skipped"


def test_verdict_says_by_how_much_a_target_is_missed() -> None:
    assert report.verdict(1.02, "<=", 1.03) == "met"
    assert report.verdict(25.0, ">=", 20) == "met"
    assert report.verdict(1.0609, "<=", 1.03) == "missed by 0.0309 (3.0% over)"
    assert report.verdict(0.4, ">=", 0.8) == "missed by 0.4 (50.0% under)"


def result(section: str, rows: dict[str, float | None], **extra: object) -> dict[str, object]:
    return {
        "section": section,
        "title": section,
        "device": "cpu",
        "unit": "ms/step",
        "higher_is_better": False,
        "baseline": "raw",
        "rows": [stats.summarize(n, n, [] if v is None else [v]) for n, v in rows.items()],
        **extra,
    }


def test_targets_are_read_from_the_results() -> None:
    results = {
        "steps-tiny": result("steps-tiny", {"raw": 1.0, "generated": 1.1}),
        "render": result("render", {"defaults": 0.5}, metrics={"render_max_s": 0.5}),
        "image-pipeline": {"section": "image-pipeline", "error": "boom"},
    }
    by_label = {t.label: t for t in report.TARGETS}
    tiny = report.measure(by_label["generated trainer per step, CPU tiny MLP"], results)
    assert tiny[0] == pytest.approx(1.1)
    assert tiny[1].startswith("missed by 0.07")
    render_target = by_label["render, every combination (slowest, CPU time)"]
    assert report.measure(render_target, results) == (0.5, "met")
    assert report.measure(by_label["image pipeline vs PIL, per core"], results)[1].endswith(
        "failed"
    )
    medium = by_label["generated trainer per step, CPU medium MLP"]
    assert report.measure(medium, results) == (None, "not measured: section not run")
    cuda = {"steps-tiny": {**results["steps-tiny"], "device": "cuda"}}
    tiny_target = by_label["generated trainer per step, CPU tiny MLP"]
    assert "device cuda" in report.measure(tiny_target, cuda)[1]


def test_gpu_rows_say_not_measured_without_a_cuda_run() -> None:
    lines = report.gpu_table({"steps-tiny": result("steps-tiny", {"raw": 1.0, "generated": 1.0})})
    assert all(report.NO_GPU in line for line in lines[2:])


def test_block_renders_every_section_and_skipped_contenders() -> None:
    results = [
        result("steps-tiny", {"raw": 1.0, "generated": 1.02, "lightning": None}),
        {"section": "render", "error": "the worker exited with status 1"},
    ]
    run = {
        "date": "2026-01-01 00:00 UTC",
        "command": "python -m benchmarks",
        "revision": "abc123",
        "cores": 2,
        "cpu": "AMD EPYC",
        "threads": 2,
        "load_before": 0.5,
        "load_after": 0.7,
        "device": "cpu",
        "versions": {"python": "3.11", "torch": "2.14.1"},
    }
    block = report.render_block(results, run)
    assert "| raw | 1.000 |" in block
    assert "1.020x" in block
    assert "failed: the worker exited with status 1" in block
    assert "AMD EPYC" in block and "torch 2.14.1" in block
    assert "smoke run" not in block
    assert "smoke run" in report.render_block(results, {**run, "quick": True})


def test_splice_keeps_the_hand_written_text() -> None:
    existing = (
        f"# Results\n\nintro\n\n{report.BEGIN}\nold numbers\n{report.END}\n\n## Method\n\nby hand\n"
    )
    spliced = report.splice(existing, "new numbers\n")
    assert "old numbers" not in spliced
    assert spliced.startswith("# Results\n\nintro\n\n")
    assert spliced.endswith("## Method\n\nby hand\n")
    assert f"{report.BEGIN}\nnew numbers\n{report.END}" in spliced
    fresh = report.splice(None, "numbers\n")
    assert report.BEGIN in fresh and report.END in fresh


def test_cpu_model_is_read_from_cpuinfo() -> None:
    text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert machine.cpu_model(text) == "AMD EPYC 7B13"
    assert machine.cpu_model("") != ""
    assert machine.versions(("surely-not-a-package",))["surely-not-a-package"] == "not installed"


def test_the_command_line_side_imports_no_torch() -> None:
    code = (
        "import sys; import benchmarks.cli, benchmarks.report, benchmarks.worker; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
