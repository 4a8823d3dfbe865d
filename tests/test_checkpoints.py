"""Checkpoints: a run stopped by a signal or a crash goes on from its saved state and ends
exactly where an unbroken run ends; a checkpoint never resumes another run."""

import io
import json
import os
import re
import signal
import subprocess
import time
import zipfile

import jax
import numpy as np
import pytest

from gatys_jax import checkpoints, resumable
from gatys_jax.cli import main
from gatys_jax.engine import driver
from gatys_jax.errors import GatysError
from gatys_jax.events import ProgressEvent
from gatys_jax.io import images
from gatys_jax.optim import solvers
from gatys_jax.transfer import stylize, stylize_batch

from conftest import CLI, random_weights, signalled
from test_driver import arrays, problem  # noqa: F401  (the module's random-network problem)

SETTINGS = dict(size=32, iterations=8, stop_tolerance=1e-9, stop_window=2, stop_pixels=1e-6)


def test_the_driver_goes_on_from_a_restored_state_and_trace(problem):  # noqa: F811
    x0, targets, weights = arrays(problem, [0, 1])
    args = (problem.vgg.params, targets, weights)
    compiled = driver.compile(solvers.lbfgs_solver(5), problem.objective, x0, *args,
                              batched=True)
    rule = driver.StopRule(8, tolerance=1e-9, window=2, pixels=1e-6)
    to_pixels = lambda x: x * 100
    whole = driver.run(compiled, x0, args, rule, to_pixels=to_pixels)
    half = driver.run(compiled, x0, args, rule._replace(iterations=4), to_pixels=to_pixels)
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(half.state)]
    trace = driver.Trace.restore(half.trace.arrays())
    rest = driver.run(compiled, None, args, rule, to_pixels=to_pixels, trace=trace,
                      state=driver.restore(compiled, leaves))
    assert int(rest.state.iteration) == 8
    np.testing.assert_array_equal(np.asarray(rest.state.x), np.asarray(whole.state.x))
    np.testing.assert_array_equal(np.asarray(rest.state.evaluations),
                                  np.asarray(whole.state.evaluations))
    for index in (0, 1):
        resumed, unbroken = rest.trace.history(index), whole.trace.history(index)
        assert [(r["evaluations"], r["total_loss"], r.get("moved")) for r in resumed] == [
            (r["evaluations"], r["total_loss"], r.get("moved")) for r in unbroken]
    assert rest.trace.moves.keys() == whole.trace.moves.keys() and whole.trace.moves
    with pytest.raises(GatysError, match="does not fit"):
        driver.restore(compiled, leaves[:-1])



def test_a_resumable_run_stopped_by_a_signal_goes_on_to_the_unbroken_end(problem,  # noqa: F811
                                                                         tmp_path):
    """resumable.run keeps the state, the trace and the caller's notes and arrays when a signal
    stops it; the run that loads them ends where one that never stopped ends, pixel for pixel,
    and keeps nothing at its end when keep_at_end says not to."""
    x0, targets, weights = arrays(problem, [0])
    args = (problem.vgg.params, targets, weights)
    compiled = driver.compile(solvers.lbfgs_solver(5), problem.objective, x0, *args, steps=1)
    stop = driver.StopRule(8)
    whole = resumable.run(compiled, x0, args, stop)
    keeper = checkpoints.Checkpoint(tmp_path / "run.npz", "key")
    seen: list[int] = []

    def stop_at_3(state, row):
        seen.append(int(state.iteration))
        if int(state.iteration) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    stopped = resumable.run(compiled, x0, args, stop, keeper=keeper, on_update=stop_at_3,
                            notes=lambda: {"seen": seen},
                            arrays=lambda: {"seen": np.array(seen)})
    assert stopped.interrupted == signal.SIGTERM and int(stopped.state.iteration) == 3
    saved = keeper.load()
    assert saved.notes == {"seen": [0, 1, 2, 3]}
    np.testing.assert_array_equal(saved.arrays["seen"], [0, 1, 2, 3])
    keeper.path.unlink()
    rest = resumable.run(compiled, None, args, stop, keeper=keeper, saved=saved,
                         keep_at_end=lambda run: False)
    assert int(rest.state.iteration) == 8 and not keeper.path.exists()
    np.testing.assert_array_equal(np.asarray(rest.state.x), np.asarray(whole.state.x))
    assert rest.trace.history() == [
        {**row, "seconds": mine["seconds"]}
        for row, mine in zip(whole.trace.history(), rest.trace.history())]

def interrupt_at(iteration: int, scale: int = 0, signum=signal.SIGTERM):
    """An on_update that signals this process once the run passes `iteration` of `scale`."""
    def on_update(event):
        if (isinstance(event, ProgressEvent) and event.scale == scale
                and event.iteration == iteration):
            os.kill(os.getpid(), signum)
    return on_update


def history(result):
    return [(row["evaluations"], row["total_loss"], tuple(row["size"]))
            for row in result.to_json()["history"]]


@pytest.mark.parametrize("stop_scale", [0, 1], ids=["coarse scale", "fine scale"])
def test_a_stopped_run_resumes_to_the_unbroken_result(tmp_path, stop_scale):
    content, style = (np.random.default_rng(seed).uniform(0, 255, (32, 32, 3)) for seed in (1, 2))
    settings = dict(SETTINGS, vgg=random_weights(), start_size=16, save_every=3)
    for folder in ("unbroken", "resumed"):
        (tmp_path / folder).mkdir()
    unbroken = stylize(content, style, output=tmp_path / "unbroken" / "out.png", **settings)
    saved = tmp_path / "run.npz"
    output = tmp_path / "resumed" / "out.png"
    stop = interrupt_at(2, stop_scale)

    def slow_then_stop(event):  # the stopped run's seconds outweigh the resumed call's
        time.sleep(0.05)
        stop(event)

    stopped = stylize(content, style, checkpoint=saved, output=output,
                      on_update=slow_then_stop, **settings)
    assert stopped.interrupted == signal.SIGTERM and saved.exists()
    resumed = stylize(content, style, checkpoint=saved, output=output, **settings)
    # unconverged at its cap: its checkpoint stays for a higher cap
    assert not resumed.interrupted and resumed.ends_unconverged and saved.exists()
    # its optimizing seconds go on from the stopped run's
    assert resumed.wall_seconds >= stopped.wall_seconds >= 0.1
    assert resumed.to_json()["run"]["scales"] == [[16, 16], [32, 32]]
    np.testing.assert_array_equal(resumed.image, unbroken.image)
    assert history(resumed) == history(unbroken)
    assert resumed.images[0].evaluations == unbroken.images[0].evaluations
    # the images saved along the way: the same files as the unbroken run's
    assert (sorted(p.name for p in output.parent.iterdir())
            == sorted(p.name for p in (tmp_path / "unbroken").iterdir()))


def test_a_crashed_run_resumes_from_its_last_periodic_save(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "EVERY_SECONDS", 0.0)  # save after every step
    content, style = (np.random.default_rng(seed).uniform(0, 255, (24, 32, 3)) for seed in (3, 4))
    settings = dict(SETTINGS, vgg=random_weights(), seeds=[0, 1])
    unbroken = stylize_batch(content, [style], **settings)
    saved = tmp_path / "run.npz"

    def crash(event):
        if isinstance(event, ProgressEvent) and event.iteration == 6:
            raise RuntimeError("machine lost")

    with pytest.raises(RuntimeError):
        stylize_batch(content, [style], checkpoint=saved, on_update=crash, **settings)
    assert saved.exists()
    resumed = stylize_batch(content, [style], checkpoint=saved, **settings)
    assert resumed.ends_unconverged and saved.exists()
    for got, want in zip(resumed.images, unbroken.images):
        np.testing.assert_array_equal(got.image, want.image)
        assert got.evaluations == want.evaluations and got.converged == want.converged


def test_a_run_unconverged_at_its_cap_keeps_its_checkpoint_for_a_higher_cap(tmp_path):
    """The same call with a higher cap goes on from it to that cap's unbroken result; a run
    that converged, or had no rule to meet, removes its checkpoint."""
    content, style = (np.random.default_rng(seed).uniform(0, 255, (24, 32, 3)) for seed in (7, 8))
    settings = dict(SETTINGS, vgg=random_weights())
    saved = tmp_path / "run.npz"
    capped = stylize(content, style, checkpoint=saved, on_update=lambda _: time.sleep(0.1),
                     **settings)
    assert capped.iterations == 8 and capped.ends_unconverged and saved.exists()
    longer = stylize(content, style, checkpoint=saved, **{**settings, "iterations": 12})
    unbroken = stylize(content, style, **{**settings, "iterations": 12})
    assert longer.iterations == 12 and saved.exists()
    # it went on: its optimizing seconds include the slow capped run's
    assert longer.wall_seconds >= capped.wall_seconds >= 0.8
    np.testing.assert_array_equal(longer.image, unbroken.image)
    assert history(longer) == history(unbroken)
    for rules, converged in (({"stop_tolerance": 0.5, "stop_pixels": None}, True),
                             ({"stop_tolerance": None, "stop_pixels": None}, None)):
        finished = stylize(content, style, checkpoint=tmp_path / "finished.npz",
                           **{**settings, **rules})
        assert finished.images[0].converged is converged
        assert not (tmp_path / "finished.npz").exists()


def test_a_checkpoint_resumes_only_its_own_run(tmp_path):
    content, style = (np.random.default_rng(seed).uniform(0, 255, (24, 32, 3)) for seed in (5, 6))
    settings = dict(SETTINGS, vgg=random_weights())
    saved = tmp_path / "run.npz"
    stylize(content, style, checkpoint=saved, on_update=interrupt_at(3), seed=0, **settings)
    kept = saved.read_bytes()
    with pytest.raises(GatysError, match="belongs to another run"):
        stylize(content, style, checkpoint=saved, seed=1, **settings)
    with pytest.raises(GatysError, match="belongs to another run"):
        stylize(content, style[::-1], checkpoint=saved, seed=0, **settings)
    assert saved.read_bytes() == kept  # refused before anything was written
    # a higher cap goes on with the same run
    longer = stylize(content, style, checkpoint=saved, seed=0, **{**settings, "iterations": 10})
    assert longer.iterations == 10 and saved.exists()
    saved.write_bytes(b"not a checkpoint")
    with pytest.raises(GatysError, match="cannot be read"):
        stylize(content, style, checkpoint=saved, seed=0, **settings)


def test_cli_checkpoint_errors(tmp_path, capsys):
    content = tmp_path / "content.png"
    images.save(np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8), content)
    base = ["stylize", str(content), str(content), "-o", str(tmp_path / "out.png"), "--size",
            "32", "--iterations", "2", "--quiet"]
    assert main(base + ["--checkpoint", str(content)]) == 2
    assert "is the content image" in capsys.readouterr().err
    assert main(base + ["--checkpoint", str(content / "run.npz")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main(base + ["--checkpoint", str(tmp_path / "run.npz"), "--seeds", "0,1",
                        "--max-batch", "1"]) == 2
    assert "needs every image in one batch" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.subprocess
@pytest.mark.real_weights
def test_cli_run_stopped_and_run_again_goes_on(tmp_path):
    saved, out = tmp_path / "run.npz", tmp_path / "out.png"
    argv = ["stylize", "chelsea", "starry_night", "-o", str(out), "--size", "32",
            "--checkpoint", str(saved), "--metrics", str(tmp_path / "metrics.json")]
    stopped = signalled(argv + ["--iterations", "100000"], tmp_path, signal.SIGINT, "evals=3")
    assert stopped["returncode"] == 130 and saved.exists() and out.exists()
    reached = json.loads((tmp_path / "metrics.json").read_text())["iterations"]
    again = subprocess.run(CLI + argv + ["--iterations", str(reached + 5), "-q"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert not saved.exists()
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    # one history over both runs: the initial evaluation, then a row per step
    assert len(history) == reached + 6 and history[0]["evaluations"] == 1


class Planted:
    """Unpickling this writes a file: proof that a pickle was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_checkpoint_with_a_pickle_is_refused_unread(tmp_path):
    saved, planted = tmp_path / "run.npz", tmp_path / "planted"
    with saved.open("wb") as file:
        np.savez(file, meta=np.array('{"key": "k", "notes": {}, "leaves": 1}'),
                 leaf_0=np.array([Planted(planted)], dtype=object))
    with pytest.raises(GatysError, match="cannot be read"):
        checkpoints.Checkpoint(saved, "k").load()
    assert not planted.exists()


# ---------------------------------------------------------------- damaged and edited checkpoints


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def declared(shape: tuple) -> bytes:
    """A .npy member whose header declares `shape` float32 over 16 bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(16)


META = npy(np.array(json.dumps({"format": checkpoints.FORMAT, "key": "k", "notes": {},
                                "leaves": 1})))


@pytest.mark.parametrize("members, words", [
    ({"leaf_0.npy": declared((10**13,))}, "declares"),  # would allocate 36 TiB
    ({"leaf_0.npy": declared((5,))}, "declares"),
    ({"leaf_0.npy": npy(np.zeros(2)), "evil.npy": npy(np.zeros(2))}, "unknown member 'evil.npy'"),
    ({"leaf_0.npy": npy(np.zeros(2)), "trace_../x.npy": npy(np.zeros(2))}, "unknown member"),
    ({"leaf_0.npy": (npy(np.zeros(10**6)), zipfile.ZIP_DEFLATED)}, "not stored as np.savez"),
])
def test_a_checkpoint_is_checked_member_by_member_before_it_is_read(tmp_path, members, words):
    saved = tmp_path / "run.npz"
    with zipfile.ZipFile(saved, "w") as archive:
        archive.writestr("meta.npy", META)
        for name, data in members.items():
            data, compression = data if isinstance(data, tuple) else (data, zipfile.ZIP_STORED)
            archive.writestr(name, data, compress_type=compression)
    with pytest.raises(GatysError, match=f"checkpoint {saved} cannot be read .*"
                       f"{re.escape(words)}.*delete it to start the run afresh"):
        checkpoints.Checkpoint(saved, "k").load()


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """(content, style, settings, checkpoint) of a tiny run stopped at its third step."""
    content, style = (np.random.default_rng(seed).uniform(0, 255, (32, 32, 3))
                      for seed in (9, 10))
    settings = dict(SETTINGS, vgg=random_weights(), start_size=16)  # two scales
    saved = tmp_path_factory.mktemp("stopped") / "run.npz"
    stylize(content, style, checkpoint=saved, on_update=interrupt_at(3), **settings)
    assert saved.exists()
    return content, style, settings, saved


def edited(source, folder, edit):
    """A copy of checkpoint `source` whose arrays (meta as JSON) `edit` changes in place."""
    with np.load(source, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    arrays["meta"] = json.loads(str(arrays["meta"]))
    edit(arrays)
    arrays["meta"] = np.array(json.dumps(arrays["meta"]))
    target = folder / "run.npz"
    with target.open("wb") as file:
        np.savez(file, **arrays)
    return target


def notes(**changes):
    return lambda arrays: arrays["meta"]["notes"].update(changes)


def row(**changes):
    return {"evaluations": 3, "total_loss": 1.5, "seconds": 0.1, "size": [16, 16], **changes}


def poisoned(name, value):
    def edit(arrays):
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] = value
    return edit


@pytest.mark.parametrize("edit, words", [
    (notes(scale=7), "scale is 7, not an index below 2"),
    (notes(scale=-1), "scale is -1"),
    (notes(scale=True), "scale is True"),
    (notes(scale="0"), "scale is '0'"),
    (notes(histories="x"), "one history for each of the 1 images"),
    (notes(histories=[]), "one history for each of the 1 images"),
    (notes(histories=[[], []]), "one history for each of the 1 images"),
    (notes(histories=["x"]), "one history for each of the 1 images"),
    (notes(histories=[[{"evaluations": "3"}]]), "not a history row"),
    (notes(histories=[[row(evaluations="3")]]), "evaluations is '3'"),
    (notes(histories=[[row(evaluations=-3)]]), "evaluations is -3"),
    (notes(histories=[[row(total_loss=None)]]), "total_loss is not a finite number"),
    (notes(histories=[[row(moved=float("nan"))]]), "moved is not a finite number"),
    (notes(histories=[[row(size=[16])]]), "not (height, width)"),
    (notes(histories=[[row(extra=1)]]), "not a history row"),
    (notes(seconds=float("inf")), "seconds is not a finite number"),
    (notes(seconds=-5.0), "seconds are negative"),
    (notes(seconds="1"), "seconds is not a finite number"),
    (lambda arrays: arrays["meta"].update(notes=[]), "not a stylize run's"),
    (poisoned("leaf_0", np.nan), "leaf_0 holds non-finite values"),  # the image
    (poisoned("leaf_0", np.inf), "leaf_0 holds non-finite values"),
    (poisoned("leaf_2", np.nan), "leaf_2 holds non-finite values"),  # its gradient
    (poisoned("trace_totals", np.inf), "trace_totals holds non-finite values"),
    (lambda arrays: arrays.pop("trace_seconds"), "seconds"),
])
def test_an_edited_checkpoint_is_refused_before_the_run(stopped, tmp_path, edit, words):
    content, style, settings, source = stopped
    saved = edited(source, tmp_path, edit)
    kept = saved.read_bytes()
    output = tmp_path / "out.png"
    with pytest.raises(GatysError, match=f"checkpoint {saved} cannot be read .*"
                       f"{re.escape(words)}.*delete it to start the run afresh") as raised:
        stylize(content, style, checkpoint=saved, output=output, **settings)
    assert "\n" not in str(raised.value)
    assert saved.read_bytes() == kept and not output.exists()


def test_an_unedited_copy_of_the_checkpoint_goes_on(stopped, tmp_path):
    """Guards the cases above: the copy `edited` makes resumes."""
    content, style, settings, source = stopped
    saved = edited(source, tmp_path, lambda arrays: None)
    resumed = stylize(content, style, checkpoint=saved, **settings)
    assert resumed.iterations == settings["iterations"]
