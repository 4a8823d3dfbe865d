"""The panel benchmarks at a tiny size: benchmarks.quality (ours against the classic recipe,
its reports per size, its kept runs) and benchmarks.bounds (L-BFGS-B against L-BFGS, the
pictures as saved); a signal ends either without a report."""

from pathlib import Path

import pytest

import bench_checks
from bench_checks import assert_png, need_torch, read_csv

torch_threads = bench_checks.torch_threads  # the fixture, where pytest looks for it


# ---------------------------------------------------------------- quality


@pytest.mark.slow
def test_quality_panel_end_to_end_and_reuse(tmp_path, monkeypatch, torch_threads,
                                            plain_weights_path):
    """One pair at 32 px: both recipes run, are judged against the targets and reach the CSV,
    the report and the contact sheet; with --reuse the second run reads gatys-jax's result
    instead of running it."""
    need_torch()
    import gatys_jax
    from benchmarks import panel, quality
    monkeypatch.setattr(panel, "RESULTS", tmp_path / "results")  # the classic recipe's cache
    out, docs, sheet = tmp_path / "q", tmp_path / "docs" / "quality.md", tmp_path / "sheet.jpg"
    argv = ["--size", "32", "--iterations", "5", "--pairs", "chelsea+starry_night",
            "--threads", "1", "--out", str(out), "--docs", str(docs), "--sheet", str(sheet)]
    assert quality.main(argv) == 0
    _, (row,) = read_csv(out / "quality.csv")
    assert row["pair"] == "chelsea+starry_night" and int(row["ours_evaluations"]) == 6
    for who in ("classic", "ours"):
        assert float(row[f"{who}_style_distance"]) > 0 and float(row[f"{who}_speckle"]) > 0
    report = docs.read_text()
    assert "| chelsea+starry_night |" in report and "pairs meeting all three targets" in report
    assert sheet.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert len(list((tmp_path / "results" / "torch_classic").glob("*.json"))) == 1

    def no_run(*args, **kwargs):
        raise AssertionError("gatys-jax ran although --reuse found its result")
    monkeypatch.setattr(gatys_jax, "stylize", no_run)
    assert quality.main(argv + ["--reuse"]) == 0
    assert docs.read_text().split("\n| chelsea")[1] == report.split("\n| chelsea")[1]
    with pytest.raises(AssertionError, match="ran although"):  # other settings run again
        quality.main(argv + ["--reuse", "--content-weight", "1e-2"])


def test_quality_reports_go_to_one_file_per_size():
    """The generated tables and sheets default to docs/quality_<size>.*, so a panel at one
    size never overwrites another's or the hand-written docs/quality.md."""
    from benchmarks import quality
    for size in (256, 512):
        args, _ = quality.parse_args(["--size", str(size)])
        assert Path(args.docs).name == f"quality_{size}.md"
        assert Path(args.sheet).name == f"quality_{size}.jpg"
    args, _ = quality.parse_args(["--docs", "x.md", "--sheet", "y.jpg"])
    assert (args.docs, args.sheet) == ("x.md", "y.jpg")


def test_a_cut_short_quality_run_is_never_kept(tmp_path, monkeypatch):
    """benchmarks.quality keeps each run for reuse: one that a signal cut short ends the
    benchmark (128 + the signal) and leaves no record to be reused."""
    import signal
    import types

    from benchmarks import quality
    from gatys_jax.config import StyleConfig
    monkeypatch.setattr(quality.gatys_jax, "stylize", lambda *args, **kwargs: types.SimpleNamespace(
        interrupted=int(signal.SIGINT)))
    with pytest.raises(SystemExit) as exit_info:
        quality.ours_run(("chelsea", "starry_night"), StyleConfig(size=32), tmp_path, reuse=True)
    assert exit_info.value.code == 128 + signal.SIGINT
    assert not (tmp_path / "ours").exists()


# ---------------------------------------------------------------- L-BFGS-B against L-BFGS


@pytest.mark.slow
def test_bounds_end_to_end(tmp_path, plain_weights_path):
    """Two pairs at 32 px: both optimizers from each seed's start; the saved picture's loss
    over the optimizer's reaches the CSV, and lbfgsb / lbfgs over the panel the report with
    its contact sheet (under 200 KB)."""
    from benchmarks import bounds
    out, docs = tmp_path / "bounds", tmp_path / "docs" / "bounds.md"
    code = bounds.main(["--weights", str(plain_weights_path), "--size", "32", "--iterations",
                        "30", "--pairs", "chelsea+starry_night,coffee+shipwreck",
                        "--out", str(out), "--docs", str(docs)])
    assert code == 0
    _, rows = read_csv(out / "bounds.csv")
    assert [(r["pair"], r["optimizer"]) for r in rows] == [
        ("chelsea+starry_night", "lbfgs"), ("chelsea+starry_night", "lbfgsb"),
        ("coffee+shipwreck", "lbfgs"), ("coffee+shipwreck", "lbfgsb")]
    for r in rows:
        assert int(r["evaluations"]) == 31
        assert float(r["saved_loss_ratio"]) == pytest.approx(
            float(r["saved_loss"]) / float(r["optimizer_loss"]))
        assert 0 <= float(r["clipped_channels"]) <= 1
        assert_png(out / f"{r['pair']}_seed0_{r['optimizer']}.png")
    report = docs.read_text()
    assert "loss of the picture as saved: median" in report and "(2 runs)" in report
    assert "| chelsea+starry_night | 0 | lbfgsb |" in report
    sheet = docs.with_suffix(".jpg")
    assert sheet.is_file() and sheet.stat().st_size <= 200_000 and sheet.name in report


def test_a_signal_ends_the_bounds_panel_without_a_report(tmp_path, monkeypatch,
                                                         plain_weights_path):
    """A run stopped by SIGTERM (stylize returns it as interrupted) ends the whole panel with
    128 + the signal, and no report is written from the runs it has."""
    import signal
    import types

    from benchmarks import bounds
    monkeypatch.setattr(bounds.gatys_jax, "stylize", lambda *args, **kwargs: types.SimpleNamespace(
        interrupted=int(signal.SIGTERM)))
    docs = tmp_path / "bounds.md"
    with pytest.raises(SystemExit) as exit_info:
        bounds.main(["--weights", str(plain_weights_path), "--size", "32", "--pairs",
                     "chelsea+starry_night", "--out", str(tmp_path / "out"), "--docs", str(docs)])
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert not docs.exists()
