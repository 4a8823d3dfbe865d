"""Sweeps: a list of jobs (one JSON object per line), run in batches of jobs that share a
compiled program, resumable, on one or several hosts.

A line holds `content`, `style` (or `styles`, with `blend`), an optional `name` (the output
file's stem; default job<line number>) and any StyleConfig field. Jobs that differ only in
what varies per image (content_weight, seed, the style image, style_weights, tv_weight, init,
noise_scale) and share their content image run together, as one stylize_batch does.

Every finished image is written atomically to OUT_DIR/<name>.png and its metrics appended as
one line to OUT_DIR/results.jsonl (one file per process when several run, merged once at the
end). A line records a hash of the job's definition: rerunning skips a job whose line and
image are there with the same hash, and reruns one whose definition changed. An interrupted
sweep loses at most the batch in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import jax

from . import batch, inputs, interrupts, outputs
from .config import StyleConfig
from .errors import GatysError
from .stylize import plan_jobs, run_jobs

RESULTS = "results.jsonl"
RUNTIME_FIELDS = ("content_weight", "seed", "style_weights", "tv_weight", "init",
                  "noise_scale")  # vary per image within one compiled program
JOB_FIELDS = ("name", "content", "style", "styles")


@dataclasses.dataclass(frozen=True)
class SweepJob:
    line: int  # 1-based line number in the job file
    name: str
    content: str
    styles: tuple[str, ...]
    config: StyleConfig
    key: str  # sha256 of the definition: content, styles and every setting

    @property
    def output(self) -> str:
        return f"{self.name}.png"

    @property
    def fixed_styles(self) -> bool:
        """Its styles are part of the compiled program (blended or masked), rather than the
        one style image varying per image of a batch."""
        return self.config.blend is not None or self.config.content_mask is not None


def _definition_key(content: str, styles: tuple, config: StyleConfig) -> str:
    text = json.dumps({"content": content, "styles": list(styles), **config.to_json()},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _job(line: int, text: str, base: StyleConfig) -> SweepJob:
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as e:
        raise GatysError(f"line {line}: not JSON ({e.msg})") from None
    if not isinstance(entry, dict):
        raise GatysError(f"line {line}: a job is a JSON object, got {type(entry).__name__}")
    fields = {f.name for f in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(entry) - fields - set(JOB_FIELDS))
    if unknown:
        raise GatysError(f"line {line}: unknown field {unknown[0]!r}")
    if "content" not in entry or ("style" in entry) == ("styles" in entry):
        raise GatysError(f"line {line}: a job needs content and either style or styles")
    if "styles" in entry and not (isinstance(entry["styles"], list) and entry["styles"]):
        raise GatysError(f"line {line}: styles must be a non-empty list of images")
    styles = tuple(entry["styles"]) if "styles" in entry else (entry["style"],)
    name = str(entry.get("name", f"job{line:05d}"))
    if not name or "/" in name or name.startswith("."):
        raise GatysError(f"line {line}: name {name!r} must be a plain file name")
    try:
        config = base.replace(**{k: v for k, v in entry.items() if k in fields})
        _check_styles(config, len(styles))
        for source in (entry["content"], *styles):
            inputs.shape_of(source, config.max_megapixels)
    except GatysError as e:
        raise GatysError(f"line {line}: {e}") from None
    return SweepJob(line, name, str(entry["content"]), tuple(map(str, styles)), config,
                    _definition_key(str(entry["content"]), styles, config))


def _check_styles(config: StyleConfig, count: int) -> None:
    """A job makes one image: several styles need blend weights, one each, and style masks
    come one per style."""
    if count > 1 and config.blend is None:
        raise GatysError(f"{count} styles need blend weights (one image mixes them); for "
                         "one image per style, write one job per style")
    if config.blend is not None and len(config.blend) != count:
        raise GatysError(f"blend has {len(config.blend)} weights for {count} style(s)")
    if config.style_mask is not None and len(config.style_mask) != count:
        raise GatysError(f"style_mask has {len(config.style_mask)} mask(s) for {count} "
                         "style(s)")


def read_jobs(path: str | Path, base: StyleConfig | None = None) -> list[SweepJob]:
    """Every job of a job file, checked before anything runs: JSON, known fields, valid
    settings, readable images, distinct names. Errors name the line."""
    base = base or StyleConfig()
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GatysError(f"cannot read job file {path}: {e}") from None
    jobs = [_job(number, text, base) for number, text in enumerate(lines, start=1)
            if text.strip() and not text.lstrip().startswith("#")]
    if not jobs:
        raise GatysError(f"job file {path} holds no jobs")
    seen: dict[str, int] = {}
    for job in jobs:
        if job.name in seen:
            raise GatysError(f"line {job.line}: name {job.name!r} is also line {seen[job.name]}'s")
        seen[job.name] = job.line
    return jobs


def _static(job: SweepJob) -> str:
    """What must be equal for jobs to share a compiled program."""
    settings = job.config.to_json()
    for field in RUNTIME_FIELDS + ("layer_weights",):
        settings.pop(field, None)
    styles = list(job.styles) if job.fixed_styles else None
    return json.dumps({"content": job.content, "styles": styles, **settings}, sort_keys=True)


def groups(jobs: list[SweepJob]) -> list[list[SweepJob]]:
    """Jobs that can share a compiled program, in file order of their first job."""
    out: dict[str, list[SweepJob]] = {}
    for job in jobs:
        out.setdefault(_static(job), []).append(job)
    return list(out.values())


def results_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("results*.jsonl"))


def finished(out_dir: Path) -> dict[str, str]:
    """{job name: definition key} of every recorded job whose image exists (the latest line
    of a name wins)."""
    done = {}
    for path in results_files(out_dir):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: that job reruns
            if (out_dir / entry.get("output", "")).is_file():
                done[entry["name"]] = entry["key"]
    return done


def _append(path: Path, entry: dict) -> None:
    """One JSON line, appended in a single write and synced: a crash leaves whole lines."""
    data = (json.dumps(entry, allow_nan=False) + "\n").encode()
    with interrupts.deferred():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def pending(jobs: list[SweepJob], out_dir: Path) -> list[SweepJob]:
    """The jobs not finished in `out_dir` with their current definition."""
    done = finished(out_dir)
    return [job for job in jobs if done.get(job.name) != job.key]


def run(jobs: list[SweepJob], out_dir: str | Path,
        on_job: Callable[[dict], None] | None = None) -> dict:
    """Run every job (read_jobs) not already finished into `out_dir`. Returns {jobs, run,
    skipped, interrupted (signal or 0)}; on_job(entry) is called after each finished image.

    Several processes (jax.distributed, initialized before) share the batches: each writes
    the images it holds and its own results.p<i>.jsonl; process 0 merges them at the end."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise GatysError(f"output folder {out_dir} does not exist")
    todo = pending(jobs, out_dir)
    process, processes = jax.process_index(), jax.process_count()
    record = out_dir / (RESULTS if processes == 1 else f"results.p{process}.jsonl")
    interrupted = 0
    for group in groups(todo):
        first = group[0]
        styles = list(first.styles) if first.fixed_styles else list(dict.fromkeys(
            job.styles[0] for job in group))
        planned_jobs = [batch.Job(0 if first.fixed_styles else styles.index(job.styles[0]),
                                  job.config) for job in group]
        files = [out_dir / job.output for job in group]
        outputs.check_paths(files, None, [first.content, *styles], first.config.save_every,
                            first.config.iterations)
        planned = plan_jobs(first.content, first.config, planned_jobs)

        def record_chunk(entries, group=group, files=files):
            for entry in entries:
                job = group[files.index(entry.output)]
                line = {"name": job.name, "line": job.line, "key": job.key,
                        "output": job.output, "content": job.content,
                        "styles": list(job.styles), **entry.to_json(),
                        "settings": job.config.to_json()}
                line.pop("history")
                _append(record, line)
                if on_job:
                    on_job(line)

        result = run_jobs(first.content, styles, first.config, planned, files,
                          on_chunk=record_chunk, keep_interrupted=False)
        if result.interrupted:  # the batch in flight is dropped: its images are not written
            interrupted = result.interrupted
            break
    if processes > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices("gatys-jax sweep done")
        if process == 0:
            _merge(out_dir)
    return {"jobs": len(jobs), "run": len(todo) - len(pending(todo, out_dir)),
            "skipped": len(jobs) - len(todo), "interrupted": interrupted}


def _merge(out_dir: Path) -> None:
    """Fold the processes' results.p<i>.jsonl into results.jsonl."""
    parts = sorted(out_dir.glob("results.p*.jsonl"))
    for part in parts:
        for line in part.read_text().splitlines():
            _append(out_dir / RESULTS, json.loads(line))
        part.unlink()
