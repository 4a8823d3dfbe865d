"""The helpers the benchmarks share instead of keeping copies, and every script's one-line
errors for bad arguments. Each script's run end to end: tests/test_bench_<group>.py."""

import jax
import pytest

from benchmarks import common
from gatys_jax.config import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from gatys_jax.engine import costs
from gatys_jax.model.objective import Objective


def test_flop_model_and_curve_lookups():
    # conv FLOPs at 512x384 through conv5_1, forward + input gradient
    assert 2 * costs.forward_flops(384, 512) / 1e9 == pytest.approx(284.1, abs=0.1)
    grams = sum(4 * (384 >> b) * (512 >> b) * n * n
                for b, n in zip(range(5), (64, 128, 256, 512, 512)))
    objective = Objective(DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS)
    assert costs.evaluation_flops(objective, 384, 512) == 2 * costs.forward_flops(384, 512) + grams
    history = [{"evaluations": 1, "seconds": 0.5, "total_loss": 9.0},
               {"evaluations": 4, "seconds": 1.0, "total_loss": 5.0},
               {"evaluations": 5, "seconds": 2.0, "total_loss": 6.0}]
    assert common.loss_at(history, 3) == 9.0
    assert common.loss_at(history, 1.5, key="seconds") == 5.0
    assert common.loss_at(history, 0.1, key="seconds") is None
    assert common.first_reaching(history, 5.5) == (4, 1.0)
    assert common.first_reaching(history, 1.0) == (None, None)


def test_markdown_tables():
    assert common.markdown_table(["a", "b c"], "lr", [["1", "-"], ["x", "2.0"]]) == (
        "| a | b c |\n| --- | ---: |\n| 1 | - |\n| x | 2.0 |")


def test_loss_agreement_is_judged_by_the_backends_precision_and_reported():
    from benchmarks import vs_torch_report
    assert common.loss_rtol() == common.LOSS_RTOL[jax.default_backend()]
    assert common.LOSS_RTOL["gpu"] > common.LOSS_RTOL["cpu"]  # TF32-class convolutions
    rows = [{"implementation": impl, "size": size, "loss_rel_to_jax_float32": rel}
            for size, rel in ((512, 3e-5), (1024, 1.1e-4))
            for impl, rel in (("JAX float32", 0.0), ("PyTorch nchw", rel))]
    assert "within 1.1e-04" in vs_torch_report.loss_agreement(rows, 2e-3)
    assert "within it." in vs_torch_report.loss_agreement(rows, 2e-3)
    over = vs_torch_report.loss_agreement(rows, 1e-4)
    assert "over it at 1024 px:" in over and "512 px" not in over


def test_benchmarks_share_one_implementation_of_each_helper():
    """One CPU count (lab.host), one FLOP model (gatys_jax.engine.costs), one timing loop, one
    PyTorch device: the other modules import them."""
    from benchmarks import features, torch_runs
    assert features.forward_flops is costs.forward_flops
    assert features.time_round_robin is common.time_round_robin
    assert features.matmul_case is common.matmul_case
    assert features.torch_device is torch_runs.torch_device
    from benchmarks import torch_reference
    from lab import host
    assert torch_reference.cores is host.cores


def test_bad_arguments_give_one_line_errors(capsys):
    from benchmarks import bounds, lbfgs_panel, memory, optimizers, vs_torch
    for main, argv, words in (
            (bounds.main, ["--pairs", "chelsea"], "pairs"),
            (bounds.main, ["--seeds", "3-1"], "seed"),
            (lbfgs_panel.main, ["--pairs", "chelsea"], "pairs"),
            (lbfgs_panel.main, ["--evaluations", "100"], "--evaluations"),
            (lbfgs_panel.main, ["--cap", "0.5"], "--cap"),
            (lbfgs_panel.main, ["--coarse-start", "256"], "--coarse-start"),
            (memory.main, ["--sizes", "1024,x"], "--sizes"),
            (memory.main, ["--sizes", "0"], "--sizes"),
            (optimizers.main, ["--methods", "jax_lbfgs,newton"], "unknown method"),
            (optimizers.main, ["--seeds", "3-1"], "seed"),
            (optimizers.main, ["--evaluations", "1"], "--evaluations"),
            (optimizers.main, ["--adam-lrs", "1,x"], "--adam-lrs"),
            (optimizers.main, ["--content-weight", "1e-3,1e-4"], "--content-weight"),
            (vs_torch.main, ["--sizes", "8,32"], "--sizes"),
            (vs_torch.main, ["--dtypes", "bfloat16"], "--dtypes"),
            (vs_torch.main, ["--precondition", "3"], "--precondition"),
            (vs_torch.main, ["--content", "nosuchsample"], "--content"),
            (vs_torch.main, ["--weights", "/nonexistent.h5"], "--weights")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].count("error:") == 1 and words in err[-1], err
        assert "Traceback" not in "\n".join(err)
