"""`gatys-jax` as a user runs it: a subprocess per command line.

Each subprocess pays for importing JAX (and the runs below for compiling), so all command lines
of this module start together in a small process pool when the first test asks for one, and
each test then waits for its own.
"""

import argparse
import dataclasses
import importlib.metadata
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gatys_jax
from gatys_jax import cli
from gatys_jax.config import StyleConfig
from gatys_jax.events import PlanEvent, ProgressEvent
from gatys_jax.io import images, samples
from gatys_jax.progress_bar import Progress

from conftest import CLI, CONTENT, STYLE, signalled

TIMEOUT = 600

# name: (arguments after `stylize`, with {content} {style} {text} {truncated} {tmp}, extra env,
#        words the one-line message must contain). StyleConfig's own checks are unit tests
# (test_config.py); these are the cases that need a real process.
BAD_INPUTS = {
    "missing_content": ("{tmp}/nope.jpg {style} -o {tmp}/out.png", {}, "not found"),
    "missing_style": ("{content} {tmp}/nope.jpg -o {tmp}/out.png", {}, "not found"),
    "not_an_image": ("{text} {style} -o {tmp}/out.png", {}, "not an image"),
    "truncated_image": ("{truncated} {style} -o {tmp}/out.png", {}, "truncated"),
    "unknown_style_layer": ("{content} {style} -o {tmp}/out.png --style-layers conv1_1,conv9_9",
                            {}, "--style-layers has 'conv9_9'"),
    "negative_content_weight": ("{content} {style} -o {tmp}/out.png --content-weight -1", {},
                                "--content-weight must be non-negative"),
    "size_too_small": ("{content} {style} -o {tmp}/out.png --size 8", {}, "too small"),
    "output_parent_is_a_file": ("{content} {style} -o {text}/out.png", {},
                                "exists and is not a folder"),
    "output_extension": ("{content} {style} -o {tmp}/out.gif", {}, ".png"),
    "default_weights_missing": ("{content} {style} -o {tmp}/out.png",
                                {"GATYS_JAX_WEIGHTS_DIR": "{tmp}/empty_weights"},
                                "gatys-jax weights fetch"),
    "weights_file_missing": ("{content} {style} -o {tmp}/out.png --weights {tmp}/nope.h5", {},
                             "not found"),
    "unknown_sample": ("nosuchsample {style} -o {tmp}/out.png", {}, "not found"),
    "lbfgsb_preconditioned": ("{content} {style} -o {tmp}/out.png --optimizer lbfgsb "
                              "--precondition 0.5", {}, "--precondition applies to lbfgs only"),
    "lbfgsb_weights_not_weights": ("{content} {style} -o {tmp}/out.png --optimizer lbfgsb "
                                   "--weights {text}", {}, "unreadable"),
}


def run_cli(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Input files and one empty folder per command line."""
    root = tmp_path_factory.mktemp("cli")
    inputs = root / "inputs"
    inputs.mkdir()
    (inputs / "text.jpg").write_text("this is not an image\n")
    painting = Path(gatys_jax.__file__).parent / "data" / "starry_night.jpg"
    (inputs / "truncated.jpg").write_bytes(painting.read_bytes()[:3000])
    content = images.save(samples.load(CONTENT), inputs / "content.png")
    names = {"content": content, "style": STYLE, "text": inputs / "text.jpg",
             "truncated": inputs / "truncated.jpg"}
    return root, names


@pytest.fixture(scope="module")
def results(workspace, normalized_weights_path):
    """{name: Future} of every command line of this module, all started at once."""
    root, names = workspace
    pool = ThreadPoolExecutor(max_workers=4)
    futures = {}

    def folder(name: str) -> Path:
        path = root / name
        path.mkdir()
        return path

    def fill(text: str, tmp: Path) -> str:
        return text.format(tmp=tmp, **names)

    # Slow ones first, so that they overlap with the many quick failures.
    tmp = folder("interrupt")
    futures["interrupt"] = pool.submit(signalled, [
        "stylize", str(names["content"]), str(names["style"]), "-o", str(tmp / "out.png"),
        "--size", "32", "--iterations", "100000"], tmp, signal.SIGINT, "evals=3", 0.5)
    tmp = folder("demo")
    futures["demo"] = pool.submit(run_cli, ["demo", "-o", str(tmp / "demo"), "--iterations", "3",
                                            "--size", "64", "-q"], tmp)
    tmp = folder("success")
    futures["success"] = pool.submit(run_cli, [
        "stylize", str(names["content"]), str(names["style"]), "-o", str(tmp / "out.png"),
        "--size", "40", "--iterations", "5", "--metrics", str(tmp / "metrics.json")], tmp)
    tmp = folder("new_folders")
    futures["new_folders"] = pool.submit(run_cli, [
        "stylize", str(names["content"]), str(names["style"]), "-o",
        str(tmp / "no/such/folder/out.png"), "--metrics", str(tmp / "other/metrics.json"),
        "--size", "32", "--iterations", "2", "-q"], tmp)
    tmp = folder("sweep_new_folder")
    (tmp / "jobs.jsonl").write_text(json.dumps({"name": "cat", "content": str(names["content"]),
                                                "style": str(names["style"])}) + "\n")
    futures["sweep_new_folder"] = pool.submit(run_cli, [
        "sweep", str(tmp / "jobs.jsonl"), "-o", str(tmp / "new/sweep"), "--size", "32",
        "--iterations", "2", "-q"], tmp)
    tmp = folder("bounded")
    futures["bounded"] = pool.submit(run_cli, [
        "stylize", str(names["content"]), str(names["style"]), "-o", str(tmp / "out.png"),
        "--size", "40", "--iterations", "20", "--optimizer", "lbfgsb", "--content-weight", "1e-6",
        "--metrics", str(tmp / "metrics.json"), "-q"], tmp)
    for name, (args, env, _) in BAD_INPUTS.items():
        tmp = folder(name)
        env = {key: fill(value, tmp) for key, value in env.items()}
        if "GATYS_JAX_WEIGHTS_DIR" in env:
            Path(env["GATYS_JAX_WEIGHTS_DIR"]).mkdir()
        futures[name] = pool.submit(run_cli, ["stylize", *fill(args, tmp).split()], tmp, env)
    yield {name: (future, root / name) for name, future in futures.items()}
    pool.shutdown(wait=True, cancel_futures=True)


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def assert_one_line_error(result: subprocess.CompletedProcess, words: str):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "error" in lines[0]
    assert words in lines[0], lines[0]


@pytest.mark.subprocess
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_no_output(results, name):
    future, folder = results[name]
    result = future.result()
    assert_one_line_error(result, BAD_INPUTS[name][2])
    assert files_in(folder) == [], files_in(folder)  # no image, no temporary file


def test_non_finite_loss_stops_the_run(tmp_path, capsys, monkeypatch):
    """The limits on the settings keep the loss finite; past them, the run still stops at
    once with one line and writes nothing."""
    from gatys_jax import config
    monkeypatch.setattr(config, "MAX_LEARNING_RATE", 1e31)
    code = cli.main(["stylize", "chelsea", "starry_night", "-o", str(tmp_path / "out.png"),
                     "--size", "32", "--iterations", "5", "--optimizer", "adam",
                     "--learning-rate", "1e30", "--metrics", str(tmp_path / "metrics.json"),
                     "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "non-finite" in err, err
    assert files_in(tmp_path) == []


@pytest.mark.subprocess
def test_success_writes_image_and_metrics(results):
    folder, result = succeeded(results, "success")
    assert "Traceback" not in result.stderr
    assert files_in(folder) == ["metrics.json", "out.png"]
    with Image.open(folder / "out.png") as image:
        assert image.size == (40, 27) and image.mode == "RGB"

    def reject(constant):
        raise ValueError(f"not valid JSON: {constant}")

    metrics = json.loads((folder / "metrics.json").read_text(), parse_constant=reject)
    for key in ("content_loss", "style_loss", "total_loss", "evaluations", "iterations",
                "wall_seconds", "compile_seconds", "size", "history"):
        assert key in metrics, key
    assert metrics["evaluations"] == 6 and metrics["iterations"] == 5
    assert metrics["size"] == [27, 40]
    assert [row["evaluations"] for row in metrics["history"]] == [1, 2, 3, 4, 5, 6]
    assert all(set(row) >= {"evaluations", "total_loss", "seconds"} for row in metrics["history"])
    assert metrics["history"][-1]["total_loss"] == pytest.approx(metrics["total_loss"])
    assert metrics["total_loss"] < metrics["history"][0]["total_loss"]
    assert all(math.isfinite(metrics[k]) for k in ("content_loss", "style_loss", "total_loss"))



def succeeded(results, name: str):
    """(folder, finished process) of the CLI run `name`, which must have exited 0."""
    future, folder = results[name]
    result = future.result()
    assert result.returncode == 0, result.stderr
    return folder, result

@pytest.mark.subprocess
def test_output_folders_are_made(results):
    folder, result = succeeded(results, "new_folders")
    assert files_in(folder) == ["no/such/folder/out.png", "other/metrics.json"]
    with Image.open(folder / "no/such/folder/out.png") as image:
        assert image.size == (32, 21)


@pytest.mark.subprocess
def test_a_sweep_makes_its_output_folder(results):
    folder, result = succeeded(results, "sweep_new_folder")
    assert files_in(folder) == ["jobs.jsonl", "new/sweep/cat.png", "new/sweep/results.jsonl"]


@pytest.mark.parametrize("output", ["new/deep/out.gif", "new/deep/out.png"])
def test_bad_input_leaves_no_folder_behind(tmp_path, capsys, output):
    """The folders are made after the flags' checks; when the library's checks then refuse
    the run (an unknown sample, an output format), the folders made for it are gone."""
    content = CONTENT if output.endswith(".gif") else "nosuchsample"
    code = cli.main(["stylize", content, STYLE, "-o", str(tmp_path / output), "--metrics",
                     str(tmp_path / "other/metrics.json"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["sweep", "samples"])
def test_an_output_folder_under_a_file_is_one_line(tmp_path, capsys, command):
    existing = tmp_path / "file.txt"
    existing.write_text("keep me")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"content": CONTENT, "style": STYLE}) + "\n")
    for output in (existing, existing / "out"):
        code = cli.main(["sweep", str(jobs), "-o", str(output), "-q"] if command == "sweep"
                        else ["samples", "-o", str(output)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert f"cannot make folder {output}: {existing} exists and is not a folder" in err
    assert existing.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [existing, jobs]


def test_samples_makes_its_output_folder(tmp_path, capsys):
    assert cli.main(["samples", "-o", str(tmp_path / "new/samples")]) == 0
    assert f"{samples.NAMES[0]}.png" in files_in(tmp_path / "new/samples")


@pytest.mark.subprocess
def test_lbfgsb_from_the_command_line(results):
    folder, result = succeeded(results, "bounded")
    assert files_in(folder) == ["metrics.json", "out.png"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["settings"]["optimizer"] == "lbfgsb" and metrics["evaluations"] == 21
    assert metrics["total_loss"] < metrics["history"][0]["total_loss"]


@pytest.mark.subprocess
def test_demo(results):
    folder, result = succeeded(results, "demo")
    assert files_in(folder / "demo") == ["content.png", "metrics.json", "style.png",
                                         "stylized.png"]
    with Image.open(folder / "demo" / "stylized.png") as image:
        image.load()
    metrics = json.loads((folder / "demo" / "metrics.json").read_text())
    assert metrics["evaluations"] == 4


@pytest.mark.subprocess
def test_ctrl_c_keeps_the_latest_image(results):
    future, folder = results["interrupt"]
    result = future.result()
    assert result["returncode"] == 130, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"], result["stderr"][-2000:]
    assert "interrupted" in result["stderr"]
    assert files_in(folder) == ["out.png"]  # no temporary file left behind
    with Image.open(folder / "out.png") as image:
        image.load()
        assert image.size == (32, 21)
        pixels = np.asarray(image)
    assert pixels.std() > 0


def test_the_progress_bar_counts_evaluations_in_whole_numbers(capsys):
    progress = Progress(64000, enabled=True)
    progress(PlanEvent(images=1, shape=(170, 256), batch_size=1, batches=1,
                       scales=[(170, 256)], memory_per_image=2 ** 28, notes=[]))
    progress(ProgressEvent(batch=0, batches=1, scale=0, scales=1, iteration=19999,
                           evaluations=20000, total_loss=0.0106, seconds=1.0))
    progress.close()
    err = capsys.readouterr().err
    assert "256x170 px in 1 batch(es) of 1, 256 MiB per image" in err
    assert "evals=20000," in err and "loss=0.0106" in err


def run_scales(progress: Progress, sizes: list, iterations=(1, 5, 10)) -> list[float]:
    """Feed `progress` a plan of `sizes` and events through every scale; the bar's count
    after each event."""
    progress(PlanEvent(images=1, shape=sizes[-1], batch_size=1, batches=1, scales=sizes,
                       memory_per_image=2 ** 28, notes=[]))
    counts = []
    for scale in range(len(sizes)):
        for iteration in iterations:
            progress(ProgressEvent(batch=0, batches=1, scale=scale, scales=len(sizes),
                                   iteration=iteration, evaluations=iteration + 1,
                                   total_loss=1.0, seconds=0.1))
            counts.append(progress.bar.n)
    progress.close()
    return counts


def test_the_progress_bar_shows_the_scale_and_weighs_its_eta_by_cost(capsys):
    sizes = [(85, 128), (170, 256), (341, 512)]
    progress = Progress(10, enabled=True)
    counts = run_scales(progress, sizes)
    costs = [height * width / (341 * 512) for height, width in sizes]  # 1/16, 1/4, 1
    assert progress.bar.total == pytest.approx(10 * sum(costs))
    assert counts[2] == pytest.approx(10 * costs[0])  # the coarsest scale: 5% of the work
    assert counts[5] == pytest.approx(10 * (costs[0] + costs[1]))
    assert counts[-1] == pytest.approx(progress.bar.total)
    err = capsys.readouterr().err
    for label in ("128px 1/3", "256px 2/3", "512px 3/3"):
        assert f"{label}: " in err, err
    assert "it=5/10, evals=6, loss=1" in err and "100%" in err
    several = ProgressEvent(batch=1, batches=2, scale=0, scales=3, iteration=1, evaluations=2,
                            total_loss=1.0, seconds=0.1)
    assert progress.label(several) == "batch 2/2, 128px 1/3"


class ZeroSizeTerminal(io.StringIO):
    """stderr on a terminal that reports 0 x 0, as some detached and CI terminals do."""

    def fileno(self) -> int:
        return 2

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_on_a_terminal_of_no_width_prints_no_empty_line(monkeypatch):
    stream = ZeroSizeTerminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: os.terminal_size((0, 0)))
    monkeypatch.setenv("COLUMNS", "0")
    run_scales(Progress(10, enabled=True), [(85, 128), (170, 256)])
    lines = stream.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) > 1, lines
    for line in lines[:-1]:  # what a terminal shows of a line: its text after the last \r
        assert line.split("\r")[-1].strip(), lines
    assert re.search(r"\r256px 2/2: 100%\|[^|]+\| \[", stream.getvalue()), lines


def test_version_from_the_console_script_and_python_m(capsys):
    version = importlib.metadata.version("gatys-jax")
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == f"gatys-jax {version}\n"


@pytest.mark.subprocess
def test_python_m_gatys_jax_is_the_command_line():
    result = subprocess.run([sys.executable, "-m", "gatys_jax", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("gatys-jax "), result.stderr


@pytest.mark.parametrize("command", ["stylize", "sweep", "demo"])
def test_every_setting_flag_states_its_default_once(command):
    commands = next(action for action in cli.build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    parser = commands.choices[command]
    for action in parser._actions:
        if action.dest in {f.name for f in dataclasses.fields(StyleConfig)}:
            assert action.help.count("(default") == 1, (action.dest, action.help)


def test_the_licence_and_citation_match_the_package():
    root = Path(__file__).resolve().parents[1]
    assert (root / "LICENSE").read_text().startswith("MIT License")
    citation = (root / "CITATION.cff").read_text()
    assert f"version: {importlib.metadata.version('gatys-jax')}\n" in citation
    assert "license: MIT\n" in citation
