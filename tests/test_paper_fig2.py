"""Figure 2 (python -m paper.fig2) end to end with the real weights: its terms, its saved run
and its checkpoint, and the snapshots it shows."""

import json
import os
import re
import signal

import pytest

from paper import experiment, fig2

from conftest import CONTENT, STYLE
from paper_checks import TINY

real_weights = pytest.mark.real_weights


@pytest.mark.slow
@real_weights
def test_fig2(paper_runs):
    metrics = paper_runs.checked("fig2", {"both_terms_fall"}, 4)  # the start and 3 steps
    terms = metrics["results"]
    assert [t["iteration"] for t in terms] == [0, 1, 2, 3]
    assert [t["evaluations"] for t in terms] == [t["iteration"] + 1 for t in terms]
    for t in terms:
        assert t["total"] == pytest.approx(t["content_term"] + t["style_term"])
    # the terms are the optimizer's own: their sum is its total at that evaluation
    curve = {h["evaluations"]: h["total_loss"] for h in metrics["history"]}
    for t in terms:
        assert t["total"] == pytest.approx(curve[t["evaluations"]], rel=1e-4)
    (image,) = metrics["images"]
    assert image["evaluations"] == 4 and terms[-1]["total"] < terms[0]["total"]


@pytest.mark.slow
@real_weights
def test_fig2_resumes_from_its_saved_run(tmp_path, normalized_weights_path, monkeypatch):
    """A second fig2 with the same request loads the finished run instead of optimizing and
    writes the same terms, curve and claim, also when the run's last iteration is no multiple
    of --snapshot-every (the final picture is kept all the same); an incomplete saved run, or
    --fresh, optimizes again."""
    args = ["--content", CONTENT, "--out", str(tmp_path), "--weights",
            str(normalized_weights_path), *TINY, "--style", STYLE, "--snapshot-every", "2"]
    first = fig2.main(args)
    assert [t["iteration"] for t in first["results"]] == [0, 2, 3]
    real, calls = fig2.optimize, []
    monkeypatch.setattr(fig2, "optimize", lambda *a: calls.append(1) or real(*a))
    again = fig2.main(args)
    for key in ("results", "history", "images", "claims"):
        assert again[key] == first[key], key
    assert again["runs"][0]["resumed"] and not first["runs"][0]["resumed"] and not calls
    assert fig2.main(args + ["--fresh"])["results"] == first["results"] and calls == [1]
    record = tmp_path / "fig2" / "runs" / "run.json"
    saved = json.loads(record.read_text())
    record.write_text(json.dumps({k: v for k, v in saved.items() if k != "terms"}))
    assert not fig2.main(args)["runs"][0]["resumed"] and calls == [1, 1]


@real_weights
def test_an_interrupted_fig2_keeps_its_checkpoint_and_goes_on_from_it(
        tmp_path, normalized_weights_path, monkeypatch, capsys):
    args = ["--content", CONTENT, "--weights", str(normalized_weights_path), *TINY, "--style",
            STYLE, "--snapshot-every", "1"]
    unbroken = fig2.main(args + ["--out", str(tmp_path / "unbroken")])
    real = fig2.resumable.run

    def stopped_at_2(*args, on_update, **options):
        def update(state, row):
            on_update(state, row)
            if int(state.iteration) == 2:
                os.kill(os.getpid(), signal.SIGINT)
        return real(*args, on_update=update, **options)

    monkeypatch.setattr(fig2.resumable, "run", stopped_at_2)
    with pytest.raises(SystemExit) as stopped:
        fig2.main(args + ["--out", str(tmp_path)])
    assert stopped.value.code == experiment.INTERRUPTED
    assert "[fig2] interrupted" in capsys.readouterr().err
    runs = tmp_path / "fig2" / "runs"
    (checkpoint,) = runs.iterdir()
    assert re.fullmatch(r"run\.[0-9a-f]{12}\.checkpoint\.npz", checkpoint.name)
    assert not (tmp_path / "fig2" / "metrics.json").exists()
    monkeypatch.setattr(fig2.resumable, "run", real)
    resumed = fig2.main(args + ["--out", str(tmp_path)])
    # unconverged at its cap, it keeps its checkpoint for a higher cap
    assert sorted(p.name for p in runs.iterdir()) == [checkpoint.name, "run.json", "run.npz"]
    same = lambda a, b: [(h["evaluations"], h["total_loss"]) for h in a["history"]] == [
        (h["evaluations"], h["total_loss"]) for h in b["history"]]
    for key in ("results", "images", "claims"):
        assert resumed[key] == unbroken[key], key
    assert same(resumed, unbroken)
    # which goes on from there to where an unbroken run under that cap ends
    cap = ["--iterations", "5"]
    longer = fig2.main(args + cap + ["--out", str(tmp_path)])
    unbroken_longer = fig2.main(args + cap + ["--out", str(tmp_path / "unbroken")])
    assert not longer["runs"][0]["resumed"]
    for key in ("results", "images", "claims"):
        assert longer[key] == unbroken_longer[key], key
    assert same(longer, unbroken_longer) and not same(longer, unbroken)


@pytest.mark.slow
def test_fig2_shows_log_spaced_snapshots():
    assert fig2.snapshots_shown([10, 20]) == [10, 20]
    shown = fig2.snapshots_shown(list(range(10, 1001, 10)))
    assert shown[0] == 10 and shown[-1] == 1000 and len(shown) == fig2.SHOWN
    assert shown[1] < 100  # log-spaced, not even


@real_weights
def test_the_paper_scripts_run_with_lbfgsb(tmp_path, normalized_weights_path):
    """--optimizer lbfgsb reaches a paper script's run and its record."""
    metrics = fig2.main(["--content", CONTENT, "--out", str(tmp_path), "--weights",
                         str(normalized_weights_path), *TINY, "--style", STYLE,
                         "--optimizer", "lbfgsb"])
    assert metrics["settings"]["optimizer"] == "lbfgsb"
    (image,) = metrics["images"]
    assert image["evaluations"] == 4 and image["saved_loss_ratio"] > 0
