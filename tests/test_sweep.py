"""Sweeps: job files checked line by line, every path checked before any work, batches by
compiled shape, resume (from any working folder, past damaged results lines), interruption,
and two processes sharing a sweep through jax.distributed."""

import json
import os
import signal
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from gatys_jax import cli, sweep
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.outputs import ImageResult

from conftest import CLI, CONTENT, OTHER_STYLE, STYLE, free_port, signalled

TINY = {"size": 32, "iterations": 2}


def write_jobs(path, jobs):
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def lines(folder):
    return [json.loads(line) for path in sweep.results_files(folder)
            for line in path.read_text().splitlines()]


@pytest.mark.parametrize("text, words", [
    ('{"content": "chelsea", "style": "starry_night"}\nnot json\n', "line 2: not JSON"),
    ('[1, 2]\n', "line 1: a job is a JSON object"),
    ('{"content": "chelsea"}\n', "line 1: a job needs content and either style or styles"),
    ('{"content": "chelsea", "style": "x", "styles": ["y"]}\n', "either style or styles"),
    ('\n{"content": "chelsea", "style": "starry_night", "colour": 1}\n',
     "line 2: unknown field 'colour'"),
    ('{"content": "chelsea", "style": "starry_night", "content_weight": -1}\n',
     "line 1: content_weight must be"),
    ('{"content": "nope.png", "style": "starry_night"}\n', "line 1: image nope.png not found"),
    ('{"content": "chelsea", "style": "starry_night", "name": "a"}\n'
     '{"content": "chelsea", "style": "shipwreck", "name": "a"}\n', "line 2: name 'a'"),
    ('{"content": "chelsea", "style": "starry_night", "name": "../x"}\n', "plain file name"),
    ('# only a comment\n', "holds no jobs"),
    ('{"content": "chelsea", "styles": ["starry_night", "shipwreck"]}\n',
     "line 1: 2 styles need blend weights"),
    ('{"content": "chelsea", "styles": "starry_night"}\n', "styles must be a non-empty list"),
    ('{"content": "chelsea", "styles": ["starry_night", "shipwreck"], "blend": [1, 2, 3]}\n',
     "blend has 3 weights for 2 style"),
    ('{"content": "chelsea", "style": "starry_night", "blend": 0.5}\n',
     "line 1: blend must be a list"),
    ('{"content": "rocket", "style": "starry_night", "content_mask": "rocket_mask", '
     '"style_mask": ["starry_night_mask", "starry_night_mask"]}\n',
     "style_mask has 2 mask"),
    ('{"content": {"a": 1}, "style": "starry_night"}\n', "line 1: content must be text"),
    ('{"content": [[[0, 0, 0]]], "style": "starry_night"}\n', "line 1: content must be text"),
    ('{"content": "chelsea", "style": 5}\n', "line 1: style must be text"),
    ('{"content": "chelsea", "styles": ["starry_night", null], "blend": [1, 1]}\n',
     "line 1: styles must be a non-empty list of images"),
    ('{"content": "chelsea", "style": "starry_night", "weights": 5}\n',
     "line 1: weights must be text, got a number"),
    ('{"content": "chelsea", "style": "starry_night", "content_weight": "1e-3"}\n',
     "line 1: content_weight must be a number, got text"),
    ('{"content": "chelsea", "style": "starry_night", "seed": true}\n',
     "line 1: seed must be a number, got true or false"),
    ('{"content": "chelsea", "style": "starry_night", "style_layers": [["conv1_1"]]}\n',
     "line 1: style_layers must be text or a list of texts, got a list"),
    ('{"content": "chelsea", "style": "starry_night", "blend": [1, "a"]}\n',
     "line 1: blend must be a list of numbers"),
    ('{"content": "chelsea", "style": "starry_night", "name": 7}\n',
     "line 1: name must be text, got a number"),
    ('{"content": "chelsea", "style": "starry_night", "name": "a\\u0000b"}\n',
     "line 1: name 'a.x00b' holds a control character"),
    ('{"content": "chelsea", "style": "starry_night", "name": "a\\tb"}\n',
     "holds a control character"),
    ('{"content": "chelsea", "style": "starry_night", "name": "' + "x" * 300 + '"}\n',
     "line 1: name 'xxx.* is too long"),
    ('{"content": "chelsea", "style": "starry_night", "save_every": 1, "name": "' + "x" * 232
     + '"}\n', "line 1: name 'xxx.* is too long"),
])
def test_bad_lines_are_reported_with_their_number(tmp_path, text, words):
    path = tmp_path / "jobs.jsonl"
    path.write_text(text)
    with pytest.raises(GatysError, match=words.replace("(", r"\(").replace(")", r"\)")):
        sweep.read_jobs(path)


def test_a_bad_line_is_a_one_line_cli_error_before_anything_runs(tmp_path, capsys):
    path = write_jobs(tmp_path / "jobs.jsonl", [{"content": CONTENT, "style": STYLE, **TINY},
                                                 {"content": CONTENT, "style": STYLE, "seed": -2}])
    out = tmp_path / "out"
    out.mkdir()
    code = cli.main(["sweep", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "line 2: seed must be >= 0" in err, err
    assert list(out.iterdir()) == []


@pytest.fixture
def fake_runs(monkeypatch):
    """sweep.run without compiling: each batch writes flat grey images and reports them as
    the real one does. Returns the output files of every batch run."""
    runs = []

    def run_jobs(content, styles, planned, vgg, files, on_batch, keep_interrupted):
        runs.append(list(files))
        grey = np.full((8, 8, 3), 128, np.uint8)
        for path in files:
            images.save(grey, path)
        on_batch([ImageResult(grey, "style", job.config, {"total_loss": 1.0}, 1, [], {}, path)
                  for job, path in zip(planned.jobs, files)])
        return SimpleNamespace(interrupted=0)

    monkeypatch.setattr(sweep, "plan_jobs", lambda content, config, jobs, convention:
                        SimpleNamespace(jobs=jobs))
    monkeypatch.setattr(sweep, "run_jobs", run_jobs)
    monkeypatch.setattr(sweep.h5, "resolve", lambda weights: SimpleNamespace(convention=None))
    return runs


def test_an_output_another_job_reads_is_refused_before_any_work(tmp_path, fake_runs):
    out = tmp_path / "out"
    out.mkdir()
    victim = images.save(np.zeros((40, 40, 3), np.uint8), out / "victim.png")
    before = victim.read_bytes()
    path = write_jobs(tmp_path / "jobs.jsonl", [
        {"content": CONTENT, "style": STYLE, "name": "victim"},
        {"content": str(victim), "style": STYLE, "name": "other"}])
    with pytest.raises(GatysError, match="the output image .*victim.png is the content image of "
                                         "line 2"):
        sweep.run(sweep.read_jobs(path), out)
    assert fake_runs == [] and victim.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["victim.png"]


def test_a_later_batch_is_checked_before_the_first_runs(tmp_path, fake_runs):
    """Line 3, in a batch of its own, saves b_00001.png every iteration: line 2's output."""
    out = tmp_path / "out"
    out.mkdir()
    path = write_jobs(tmp_path / "jobs.jsonl", [
        {"content": CONTENT, "style": STYLE, "name": "a"},
        {"content": CONTENT, "style": STYLE, "name": "b_00001"},
        {"content": "coffee", "style": STYLE, "name": "b", "save_every": 1, "iterations": 2}])
    with pytest.raises(GatysError, match="the images saved every 1 iterations beside "
                                         ".*b.png would overwrite the output image of line 2"):
        sweep.run(sweep.read_jobs(path), out)
    assert fake_runs == [] and list(out.iterdir()) == []


def test_a_job_file_in_the_output_folder_is_never_appended_to(tmp_path, fake_runs, capsys):
    out = tmp_path / "out"
    out.mkdir()
    path = write_jobs(out / sweep.RESULTS, [{"content": CONTENT, "style": STYLE}])
    before = path.read_bytes()
    assert cli.main(["sweep", str(path), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the job file" in err, err
    assert fake_runs == [] and path.read_bytes() == before


def test_resume_with_a_relative_output_folder(tmp_path, monkeypatch, fake_runs, capsys):
    """Records name the output relative to the output folder: the working folder plays no
    part, and the summary counts the jobs this run recorded."""
    monkeypatch.chdir(tmp_path)
    write_jobs(tmp_path / "jobs.jsonl", [{"content": CONTENT, "style": STYLE, "name": "a"}])
    (tmp_path / "out").mkdir()
    assert cli.main(["sweep", "jobs.jsonl", "-o", "out", "-q"]) == 0
    assert capsys.readouterr().out.startswith("1 job(s) run, 0 already done")
    assert [r["output"] for r in lines(tmp_path / "out")] == ["a.png"]
    assert cli.main(["sweep", "jobs.jsonl", "-o", "out", "-q"]) == 0
    assert capsys.readouterr().out.startswith("0 job(s) run, 1 already done")
    assert len(fake_runs) == 1
    monkeypatch.chdir(tmp_path / "out")
    assert sweep.run(sweep.read_jobs("../jobs.jsonl"), ".")["skipped"] == 1


def test_a_results_file_cut_mid_line_loses_nothing_more(tmp_path, fake_runs, capsys):
    """The next record starts on a line of its own; the cut line is reported and skipped."""
    jobs = [{"content": CONTENT, "style": STYLE, "name": "a"},
            {"content": CONTENT, "style": OTHER_STYLE, "name": "b"}]
    path = write_jobs(tmp_path / "jobs.jsonl", jobs[:1])
    out = tmp_path / "out"
    out.mkdir()
    sweep.run(sweep.read_jobs(path), out)
    with open(out / sweep.RESULTS, "ab") as f:
        f.write(b'{"name": "c", "key": "12')
    write_jobs(path, jobs)
    assert sweep.run(sweep.read_jobs(path), out) == {"jobs": 2, "run": 1, "skipped": 1,
                                                     "interrupted": 0}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 2 of" in err and sweep.RESULTS in err, err
    text = (out / sweep.RESULTS).read_bytes().split(b"\n")
    assert text[1] == b'{"name": "c", "key": "12' and json.loads(text[2])["name"] == "b"
    assert sweep.run(sweep.read_jobs(path), out)["run"] == 0


@pytest.mark.parametrize("line", [
    b"[1, 2]", b'{"name": "a", "output": "a.png"}', b'{"name": "a", "key": 5, "output": "a.png"}',
    b'{"name": ["a"], "key": "k", "output": "a.png"}', b'{"key": "k", "output": "a.png"}',
    b'{"name": "a", "key": "k"}', b'{"name": "\xff\xfe", "key": "k", "output": "a.png"}',
    b"[" * 100000, b"null", b"\xff"])
def test_a_line_that_is_no_record_is_skipped_and_reported(tmp_path, fake_runs, capsys, line):
    out = tmp_path / "out"
    out.mkdir()
    (out / sweep.RESULTS).write_bytes(line + b"\n")
    path = write_jobs(tmp_path / "jobs.jsonl", [{"content": CONTENT, "style": STYLE, "name": "a"}])
    assert sweep.run(sweep.read_jobs(path), out)["run"] == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1 of" in err, err
    assert sweep.run(sweep.read_jobs(path), out)["run"] == 0


@pytest.mark.parametrize("name", [sweep.RESULTS, "results.p0.jsonl"])
def test_a_folder_named_like_a_results_file(tmp_path, fake_runs, capsys, name):
    """One the sweep appends to is refused before any work; another is no results file."""
    out = tmp_path / "out"
    out.mkdir()
    (out / name).mkdir()
    path = write_jobs(tmp_path / "jobs.jsonl", [{"content": CONTENT, "style": STYLE}])
    code = cli.main(["sweep", str(path), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    if name == sweep.RESULTS:
        assert code == 2 and err.count("\n") == 1 and "is a folder" in err, err
        assert fake_runs == []
    else:
        assert code == 0 and len(fake_runs) == 1, err


def test_a_read_only_results_file_is_refused_before_any_work(tmp_path, monkeypatch, fake_runs,
                                                               capsys):
    out = tmp_path / "out"
    out.mkdir()
    results = out / sweep.RESULTS
    results.write_text("")
    results.chmod(0o444)
    if os.geteuid() == 0:  # root writes any file: answer as the system does for other users
        access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
            not (mode & os.W_OK and os.path.samefile(path, results)) and access(path, mode, **kw)))
    path = write_jobs(tmp_path / "jobs.jsonl", [{"content": CONTENT, "style": STYLE}])
    assert cli.main(["sweep", str(path), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "permission denied" in err.lower(), err
    assert fake_runs == [] and results.read_bytes() == b""


def test_jobs_sharing_a_shape_share_a_batch(tmp_path):
    jobs = [{"content": CONTENT, "style": STYLE, "seed": 0},
            {"content": CONTENT, "style": OTHER_STYLE, "seed": 1, "content_weight": 1e-2},
            {"content": CONTENT, "style": STYLE, "size": 64},
            {"content": "coffee", "style": STYLE}]
    parsed = sweep.read_jobs(write_jobs(tmp_path / "jobs.jsonl", jobs), StyleConfig(size=32))
    assert [[job.line for job in group] for group in sweep.groups(parsed)] == [[1, 2], [3], [4]]


def test_resume_skips_the_finished_jobs_and_reruns_a_changed_one(tmp_path):
    jobs = [{"content": CONTENT, "style": STYLE, "seed": 0, "name": "a", **TINY},
            {"content": CONTENT, "style": OTHER_STYLE, "seed": 1, "name": "b", **TINY},
            {"content": CONTENT, "style": STYLE, "seed": 2, **TINY}]
    path = write_jobs(tmp_path / "jobs.jsonl", jobs)
    out = tmp_path / "out"
    out.mkdir()
    summary = sweep.run(sweep.read_jobs(path), out)
    assert summary == {"jobs": 3, "run": 3, "skipped": 0, "interrupted": 0}
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "job00003.png",
                                                     "results.jsonl"]
    recorded = lines(out)
    assert [r["name"] for r in recorded] == ["a", "b", "job00003"]
    assert all(r["evaluations"] == 3 and r["quality"]["speckle"] > 0 for r in recorded)
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}

    assert sweep.run(sweep.read_jobs(path), out)["run"] == 0  # all finished
    jobs[1]["content_weight"] = 0.5
    write_jobs(path, jobs)
    assert sweep.run(sweep.read_jobs(path), out) == {"jobs": 3, "run": 1, "skipped": 2,
                                                     "interrupted": 0}
    again = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert again["a.png"] == first["a.png"] and again["b.png"] != first["b.png"]
    assert [r["name"] for r in lines(out)] == ["a", "b", "job00003", "b"]
    assert lines(out)[-1]["content_weight"] == 0.5
    (out / "a.png").unlink()  # a lost image is redone
    assert sweep.run(sweep.read_jobs(path), out)["run"] == 1


@pytest.mark.subprocess
def test_an_interrupted_sweep_loses_at_most_the_batch_in_flight(tmp_path):
    """Two batches: the first finishes, the second is stopped by SIGTERM mid-run and leaves
    no file; the rerun finishes it."""
    jobs = [{"content": CONTENT, "style": STYLE, "name": "quick", **TINY},
            {"content": CONTENT, "style": STYLE, "name": "slow", "size": 48,
             "iterations": 100000}]
    path = write_jobs(tmp_path / "jobs.jsonl", jobs)
    out = tmp_path / "out"
    out.mkdir()
    result = signalled(["sweep", str(path), "-o", str(out)], tmp_path, signal.SIGTERM,
                       "1/2", delay=3.0)
    assert result["returncode"] == 128 + signal.SIGTERM, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]
    assert sorted(p.name for p in out.iterdir()) == ["quick.png", "results.jsonl"]
    assert [r["name"] for r in lines(out)] == ["quick"]
    jobs[1]["iterations"] = 2
    write_jobs(path, jobs)
    assert sweep.run(sweep.read_jobs(path), out)["run"] == 1
    assert [r["name"] for r in lines(out)] == ["quick", "slow"]


@pytest.mark.subprocess
def test_two_processes_share_a_sweep_and_match_one(tmp_path):
    """2 processes x 2 forced host devices: the 4-device sweep's images and losses equal a
    1-process run's, and every job is written once."""
    jobs = [{"content": CONTENT, "style": STYLE, "seed": seed, "name": f"s{seed}", **TINY}
            for seed in range(4)]
    path = write_jobs(tmp_path / "jobs.jsonl", jobs)
    single, shared = tmp_path / "single", tmp_path / "shared"
    single.mkdir()
    shared.mkdir()
    sweep.run(sweep.read_jobs(path), single)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    port = free_port()
    processes = [subprocess.Popen(
        CLI + ["sweep", str(path), "-o", str(shared), "-q", "--coordinator",
               f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(i)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs_ = [p.communicate(timeout=600) for p in processes]
    for p, (stdout, stderr) in zip(processes, outputs_):
        assert p.returncode == 0, stderr[-3000:]
    recorded = lines(shared)
    assert sorted(r["name"] for r in recorded) == ["s0", "s1", "s2", "s3"]  # once each
    assert sorted(p.name for p in shared.iterdir()) == [
        "results.jsonl", "s0.png", "s1.png", "s2.png", "s3.png"]
    alone = {r["name"]: r for r in lines(single)}
    for r in recorded:
        assert r["total_loss"] == pytest.approx(alone[r["name"]]["total_loss"], rel=1e-5)
        a = np.asarray(Image.open(shared / r["output"]), np.int16)
        b = np.asarray(Image.open(single / r["output"]), np.int16)
        assert np.abs(a - b).max() <= 1
