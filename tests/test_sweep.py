"""Sweeps: job files checked line by line, batches by compiled shape, resume, interruption, and
two processes sharing a sweep through jax.distributed."""

import json
import os
import signal
import socket
import subprocess

import numpy as np
import pytest
from PIL import Image

from gatys_jax import cli, sweep
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError

from conftest import CLI, CONTENT, OTHER_STYLE, STYLE, signalled

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
     "line 1: content_weight must be finite and non-negative"),
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
