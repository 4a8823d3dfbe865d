"""Sweeps: a list of jobs (one JSON object per line), run in batches of jobs that share a
compiled program, resumable, on one or several hosts.

A line holds `content`, `style` (or `styles`, with `blend`), an optional `name` (the output
file's stem; default job<line number>) and any StyleConfig field. Jobs that differ only in
what varies per image (content_weight, seed, the style image, style_weights, tv_weight, init,
noise_scale) and share their content image run together, as one stylize_batch does.

Every path the sweep writes is checked against every file any job reads, the job file and
each other before any work. Every finished image is written atomically to OUT_DIR/<name>.png
and its metrics appended as one line to OUT_DIR/results.jsonl (one file per process when
several run, merged once at the end). A line records the output's name within OUT_DIR and a
hash of the job's definition: rerunning skips a job whose line and image are there with the
same hash, and reruns one whose definition changed. A line that holds no record (cut short by
a crash, edited) is reported and skipped. An interrupted sweep loses at most the batch in
flight.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import unicodedata
from pathlib import Path
from typing import Callable

import jax

from gatys_jax import outputs
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import files, inputs, interrupts
from gatys_jax.jobs import Job
from gatys_jax.plan import plan_jobs
from gatys_jax.transfer import run_jobs
from gatys_jax.weights import h5

RESULTS = "results.jsonl"
RUNTIME_FIELDS = ("content_weight", "seed", "style_weights", "tv_weight", "init",
                  "noise_scale")  # vary per image within one compiled program
JOB_FIELDS = ("name", "content", "style", "styles")
RECORD_FIELDS = ("name", "key", "output")  # text in every line a sweep appends
NAME_MAX = 255  # bytes in a file name


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


IMAGE_SOURCE = "text (a file path or a sample name)"
# The JSON each field of a job line takes: a description and a test. A setting not named here
# takes a number; any setting may be null, and StyleConfig says whether it allows none.
JSON_TYPES = {
    "name": ("text", lambda v: isinstance(v, str)),
    "content": (IMAGE_SOURCE, lambda v: isinstance(v, str)),
    "style": (IMAGE_SOURCE, lambda v: isinstance(v, str)),
    "styles": ("a non-empty list of images (file paths or sample names)",
               lambda v: _is_texts(v) and bool(v)),
    **dict.fromkeys(("optimizer", "content_layer", "preserve_colors", "content_mask", "init",
                     "pooling", "dtype", "weights"), ("text", lambda v: isinstance(v, str))),
    **dict.fromkeys(("style_layers", "style_mask"),
                    ("text or a list of texts", lambda v: isinstance(v, str) or _is_texts(v))),
    **dict.fromkeys(("style_weights", "blend"),
                    ("a list of numbers", lambda v: isinstance(v, list)
                     and all(map(_is_number, v)))),
}
NUMBER = ("a number", _is_number)


@dataclasses.dataclass(frozen=True)
class SweepJob:
    """One line of a job file: the image it makes (OUT_DIR/<name>.png), from which images and
    settings, and the key of that definition (a changed line reruns)."""

    line: int  # 1-based line number in the job file
    file: Path  # the job file
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


def _json_type(value) -> str:
    """How an error names the type of a JSON value."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text"}.get(type(value), "a number")


def _job(line: int, text: str, base: StyleConfig, file: Path) -> SweepJob:
    """One line's job; every error names the line."""
    try:
        return _parse_job(line, text, base, file)
    except GatysError as e:  # a ConfigError too: the message names the field, not a flag
        raise GatysError(f"line {line}: {e}") from None


def _parse_job(line: int, text: str, base: StyleConfig, file: Path) -> SweepJob:
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as e:
        raise GatysError(f"not JSON ({e.msg})") from None
    if not isinstance(entry, dict):
        raise GatysError(f"a job is a JSON object, got {type(entry).__name__}")
    fields = {f.name for f in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(entry) - fields - set(JOB_FIELDS))
    if unknown:
        raise GatysError(f"unknown field {unknown[0]!r}")
    if "content" not in entry or ("style" in entry) == ("styles" in entry):
        raise GatysError("a job needs content and either style or styles")
    for field, value in entry.items():
        what, fits = JSON_TYPES.get(field, NUMBER)
        if not fits(value) and (value is not None or field in JOB_FIELDS):
            raise GatysError(f"{field} must be {what}, got {_json_type(value)}")
    styles = tuple(entry["styles"]) if "styles" in entry else (entry["style"],)
    config = base.replace(**{k: v for k, v in entry.items() if k in fields})
    name = entry.get("name", f"job{line:05d}")
    _check_name(name, config)
    _check_styles(config, len(styles))
    for source in (entry["content"], *styles):
        inputs.shape_of(source, config.max_megapixels)
    return SweepJob(line, file, name, entry["content"], styles, config,
                    _definition_key(entry["content"], styles, config))


def _check_name(name: str, config: StyleConfig) -> None:
    """A name is a plain file name: the stem of the job's image, and of the images saved
    every save_every iterations beside it, whose temporary files must fit in a file name too."""
    if not name or "/" in name or name.startswith("."):
        raise GatysError(f"name {name!r} must be a plain file name")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise GatysError(f"name {name!r} holds a control character or an unpaired surrogate: "
                         "use printable characters")
    longest = Path(f"{name}.png")
    if config.save_every:
        longest = outputs.intermediate_path(longest, config.iterations)
    spare = NAME_MAX - files.TEMPORARY_NAME_EXTRA - len(longest.name.encode())
    if spare < 0:
        raise GatysError(f"name {name[:20]!r}... is too long: its files need names of at most "
                         f"{NAME_MAX} bytes, so it may take {len(name.encode()) + spare} bytes "
                         "(UTF-8) here")


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
    """Every job of a job file, checked before anything runs: JSON, known fields of the right
    JSON types, valid settings, readable images, distinct names that fit a file name. Errors
    name the line."""
    base = base or StyleConfig()
    try:
        lines = files.check_regular(path, "job file").read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise GatysError(f"cannot read job file {path}: {e}") from None
    jobs = [_job(number, text, base, Path(path)) for number, text in enumerate(lines, start=1)
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
    for field in RUNTIME_FIELDS:
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
    """The results files in `out_dir` (a folder or a FIFO of such a name holds no results;
    one the sweep appends to is refused by its check)."""
    return sorted(path for path in out_dir.glob("results*.jsonl") if path.is_file())


def _records(path: Path) -> tuple[list[dict], list[int]]:
    """The records of a results file, and the numbers of its lines that hold none (cut short
    by a crash, edited). Each line is decoded on its own, so that no line spoils another."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GatysError(f"cannot read the results file {path}: {e.strerror or e}") from None
    records, bad = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode())
        except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep
            entry = None
        if isinstance(entry, dict) and all(isinstance(entry.get(field), str)
                                           for field in RECORD_FIELDS):
            records.append(entry)
        else:
            bad.append(number)
    return records, bad


def _scan(out_dir: Path) -> tuple[dict[str, str], list[str]]:
    """{job name: definition key} of every record in `out_dir` (the latest line of a name
    wins), and a warning for each results file with lines that hold no record."""
    done, warnings = {}, []
    for path in results_files(out_dir):
        records, bad = _records(path)
        done.update((entry["name"], entry["key"]) for entry in records)
        if bad:
            numbers = ", ".join(map(str, bad))
            warnings.append(f"gatys-jax: skipped line{'s' if len(bad) > 1 else ''} {numbers} of "
                            f"{path}: no sweep record (a line cut short or edited)")
    return done, warnings


def _append(path: Path, entry: dict) -> None:
    """One JSON line, appended in a single write and synced: a crash leaves whole lines, and
    a line an earlier crash cut short is ended first, so that it spoils no record."""
    data = (json.dumps(entry, allow_nan=False) + "\n").encode()
    with interrupts.deferred():
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise GatysError(f"cannot append to the results file {path}: "
                             f"{e.strerror or e}") from None


def _unfinished(jobs: list[SweepJob], out_dir: Path, done: dict[str, str]) -> list[SweepJob]:
    return [job for job in jobs
            if done.get(job.name) != job.key or not (out_dir / job.output).is_file()]


def pending(jobs: list[SweepJob], out_dir: Path) -> list[SweepJob]:
    """The jobs not finished in `out_dir` with their current definition."""
    return _unfinished(jobs, out_dir, _scan(Path(out_dir))[0])


def _check_outputs(jobs: list[SweepJob], todo: list[SweepJob], out_dir: Path,
                   results: list[Path]) -> None:
    """Before any work: every results file and every image of a pending job (with those
    saved every save_every iterations beside it) can be written and is none of the files the
    jobs read, the job file, nor another output, finished jobs' images included. The images
    go to outputs.check_paths together, one call per way of saving intermediates (it takes
    one)."""
    reads: dict[Path, str] = {}
    for job in jobs:
        reads.setdefault(job.file, "job file")
        for path, what in outputs.run_reads([job.content], job.styles, job.config):
            reads.setdefault(Path(path), f"{what} of line {job.line}")
    labelled_results = [(path, "results file") for path in results]
    files.check_outputs(labelled_results, list(reads.items()))
    savers: dict[tuple, list[SweepJob]] = {}
    for job in todo:
        every = job.config.save_every
        savers.setdefault((every, job.config.iterations) if every else (None, 0), []).append(job)
    for (every, iterations), members in savers.items():
        written = {job.line for job in members}
        others = [(out_dir / job.output, f"output image of line {job.line}") for job in jobs
                  if job.line not in written]
        outputs.check_paths([out_dir / job.output for job in members], None,
                            [*reads.items(), *labelled_results, *others], every, iterations)


def run(jobs: list[SweepJob], out_dir: str | Path,
        on_job: Callable[[dict], None] | None = None) -> dict:
    """Run every job (read_jobs) not already finished into `out_dir`. Returns {jobs, run
    (the jobs this process recorded), skipped, interrupted (signal or 0)}; on_job(entry) is
    called after each finished image.

    Several processes (jax.distributed, initialized before) share the batches: each writes
    the images it holds and its own results.p<i>.jsonl; process 0 merges them at the end.
    Each process checks every path, so that all of them refuse a sweep or none does."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise GatysError(f"output folder {out_dir} does not exist")
    process, processes = jax.process_index(), jax.process_count()
    parts = ([out_dir / f"results.p{i}.jsonl" for i in range(processes)] if processes > 1
             else [])
    record = parts[process] if parts else out_dir / RESULTS
    done, warnings = _scan(out_dir)
    todo = _unfinished(jobs, out_dir, done)
    _check_outputs(jobs, todo, out_dir, [out_dir / RESULTS, *parts])
    for warning in warnings:
        print(warning, file=sys.stderr)
    recorded: list[str] = []
    vgg_of = functools.cache(h5.resolve)  # each weight file read once, whatever its groups
    interrupted = 0
    for group in groups(todo):
        first = group[0]
        styles = list(first.styles) if first.fixed_styles else list(dict.fromkeys(
            job.styles[0] for job in group))
        planned_jobs = [Job(0 if first.fixed_styles else styles.index(job.styles[0]),
                                  job.config) for job in group]
        images = [out_dir / job.output for job in group]
        planned = plan_jobs(first.content, first.config, planned_jobs,
                            vgg_of(first.config.weights).convention)

        def record_batch(entries, group=group, images=images):
            for entry in entries:
                job = group[images.index(entry.output)]
                line = {"name": job.name, "line": job.line, "key": job.key,
                        "content": job.content, "styles": list(job.styles), **entry.to_json(),
                        "output": job.output, "settings": job.config.to_json()}
                line.pop("history")
                _append(record, line)
                recorded.append(job.name)
                if on_job:
                    on_job(line)

        result = run_jobs(first.content, styles, planned, vgg_of(first.config.weights), images,
                          on_batch=record_batch, keep_interrupted=False)
        if result.interrupted:  # the batch in flight is dropped: its images are not written
            interrupted = result.interrupted
            break
    if processes > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices("gatys-jax sweep done")
        if process == 0:
            _merge(out_dir, parts)
    return {"jobs": len(jobs), "run": len(recorded), "skipped": len(jobs) - len(todo),
            "interrupted": interrupted}


def _merge(out_dir: Path, parts: list[Path]) -> None:
    """Fold the processes' results.p<i>.jsonl (those that recorded any job) into
    results.jsonl; a line that holds no record was reported when the sweep began."""
    for part in parts:
        if part.is_file():
            for entry in _records(part)[0]:
                _append(out_dir / RESULTS, entry)
            part.unlink()
