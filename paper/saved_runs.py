"""Finished runs of an experiment kept on disk, so that a rerun resumes where it stopped.

An experiment at convergence takes hours on a CPU; each of its runs (a stylize call, or
fig2's own optimization) is saved when it finishes, as results/<name>/runs/<label>.json
(what the run was asked and what it gave) and <label>.npz (its arrays: a stylize call's
uint8 images, fig2's snapshots). A later run of the experiment with the same request loads
it instead of optimizing again. The request is the run's label, its settings, and a digest
of the content and style pixels at the run's size, so that another photo, painting, size or
setting never reuses a saved run; a run that converged clear of its cap also answers the
same request under any cap at which it would have ended the same: every higher one, and a
lower one down to the steps it took. A run asked for exactly as another experiment's saved
run (the same settings and pixels under another label: fig3's starry_night at lambda 1e-3
is the init experiment's first noise seed) is copied from there (find_elsewhere). The run
in progress keeps its checkpoint beside them (checkpoint_path; gatys_jax.checkpoints) until
it finishes, and one that reached its cap unconverged keeps it after, so that under a
higher cap it goes on from there. Files are read as JSON and as plain arrays (no pickles):
nothing read is executed; a damaged or incomplete run counts as none.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from gatys_jax import checkpoints
from gatys_jax.config import StyleConfig
from gatys_jax.io.files import write_atomic
from gatys_jax.outputs import ImageResult, Result

FORMAT = 2  # bumped when what a saved run holds changes; older files are then ignored
# the record's lowest cap under which the run ends the same (same_from_cap), or null
SAME_FROM_CAP = "same_from_cap"


def request(label: str, config: StyleConfig, weights: str, pixels: str,
            content_weights: Sequence[float] | None, seeds: Sequence[int] | None) -> dict:
    """What identifies a run: its label, settings (the `weights` by
    checkpoints.weights_identity), the digest of its input pixels and the content weights and
    seeds it combines."""
    settings = {**config.to_json(), "weights": weights}
    return {"format": FORMAT, "label": label, "settings": settings, "pixels": pixels,
            "content_weights": None if content_weights is None else list(content_weights),
            "seeds": None if seeds is None else list(seeds)}


def _name(label: str) -> str:
    """The label made a file name (its own dots kept)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "run"


def _file(folder: Path, label: str, suffix: str) -> Path:
    return Path(folder) / "runs" / (_name(label) + suffix)


def checkpoint_path(folder: Path, asked: dict) -> Path:
    """Where the run `asked` for keeps its optimizer's state while it runs
    (gatys_jax.checkpoints): runs/<label>.<digest of the request>.checkpoint.npz, so that a
    run asked with other settings never meets it; the settings that only say how long it
    goes on (checkpoints.path_settings: the cap) are left out, so a run goes on under a new cap."""
    keyed = {**asked, "settings": checkpoints.path_settings(asked["settings"])}
    digest = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()
    return _file(folder, asked["label"], f".{digest[:12]}.checkpoint.npz")


def drop_checkpoints(folder: Path, label: str, keep: Path | None = None) -> None:
    """Remove the checkpoints of run `label`, whatever request they were made for, but `keep`."""
    pattern = re.escape(_name(label)) + r"\.[0-9a-f]{12}\.checkpoint\.npz"
    runs = Path(folder) / "runs"
    for path in runs.iterdir() if runs.is_dir() else ():
        if re.fullmatch(pattern, path.name) and path != keep:
            path.unlink(missing_ok=True)


def same_from_cap(converged: bool, steps: int, per_call: int, cap: int) -> int | None:
    """The lowest cap under which a run that took `steps` steps, `per_call` per compiled call,
    under a cap of `cap` steps, ends at the same step with the same state (it does so under
    every cap from there up), or None. It does when it ended by its convergence rule and not
    among the single steps `run` takes as the cap nears: its calls were then all whole calls
    of `per_call` steps, which every cap of at least `steps` leaves as they were."""
    return steps if converged and (per_call == 1 or steps + per_call <= cap) else None


def result_same_from_cap(result: Result) -> int | None:
    """The lowest cap under which `result`'s run ends with the same images (and so under every
    higher one), or None: it needs one scale (an earlier scale may have stopped at its cap),
    every image converged, and each batch ended clear of the cap (same_from_cap;
    `iterations` counts the last batch's steps only, so several batches must take one step
    per call)."""
    one_scale = len(result.facts.get("scales", [result.size])) == 1
    converged = bool(result.images) and all(entry.converged for entry in result.images)
    steps_known = result.batches == 1 or result.steps_per_call == 1
    if not (one_scale and steps_known):
        return None
    return same_from_cap(converged, result.iterations, result.steps_per_call,
                         result.config.iterations)


def save_record(folder: Path, asked: dict, record: dict, *, same_from_cap: int | None,
                ends_unconverged: bool, **arrays: np.ndarray) -> None:
    """Keep a finished run: its arrays first, then the JSON (the request, `record` and the
    lowest cap under which the run ends the same, or None) that makes it count; then drop its
    label's checkpoints (any stale one, and this request's unless the run `ends_unconverged`
    at its cap: a higher cap goes on from it)."""
    json_file, npz_file = (_file(folder, asked["label"], suffix) for suffix in (".json", ".npz"))
    json_file.parent.mkdir(parents=True, exist_ok=True)
    # an earlier request's JSON must never sit beside these arrays, should writing stop here
    json_file.unlink(missing_ok=True)

    def write_arrays(tmp: Path) -> None:
        with tmp.open("wb") as file:
            np.savez(file, **arrays)

    write_atomic(npz_file, write_arrays)
    text = json.dumps({**record, SAME_FROM_CAP: same_from_cap, "request": asked},
                      indent=1) + "\n"
    write_atomic(json_file, lambda tmp: tmp.write_text(text))
    drop_checkpoints(folder, asked["label"],
                     keep=checkpoint_path(folder, asked) if ends_unconverged else None)


def _answers(saved: dict, asked: dict, same_from_cap) -> bool:
    """Whether a run saved for request `saved` is what request `asked` would give: the same
    request, or the same under another cap, at least the saved record's `same_from_cap` (an
    int; anything else answers its own request only)."""
    if saved == asked:
        return True
    try:
        cap = asked["settings"]["iterations"]
        capped = {**saved, "settings": {**saved["settings"], "iterations": cap}}
        return type(same_from_cap) is int and same_from_cap <= cap and capped == asked
    except (KeyError, TypeError):
        return False


def _read(json_file: Path, asked: dict, any_label: bool = False
          ) -> tuple[dict, dict[str, np.ndarray]] | None:
    """(record, arrays) of the run saved as `json_file` (and its .npz) if it answers request
    `asked` (under its own label, with `any_label`); None when it does not, or its files
    are damaged."""
    try:
        record = json.loads(Path(json_file).read_text())
        saved = record.pop("request", None) if isinstance(record, dict) else None
        if not isinstance(saved, dict):
            return None
        asked = json.loads(json.dumps({**asked, "label": saved.get("label")} if any_label
                                      else asked))
        # the arrays are read only for a run that answers the request
        if not _answers(saved, asked, record.pop(SAME_FROM_CAP, None)):
            return None
        with np.load(Path(json_file).with_suffix(".npz"), allow_pickle=False) as kept:
            arrays = {name: kept[name] for name in kept.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return record, arrays


def load_record(folder: Path, asked: dict) -> tuple[dict, dict[str, np.ndarray]] | None:
    """(record, arrays) saved for this request (the record without the request), or None
    when there is none (or its files are damaged)."""
    return _read(_file(folder, asked["label"], ".json"), asked)


def save(folder: Path, asked: dict, result: Result) -> None:
    """Keep a finished stylize run: its uint8 images and its Result as JSON."""
    run = result.to_json()
    record = {"result": run}
    save_record(folder, asked, record, same_from_cap=result_same_from_cap(result),
                ends_unconverged=result.ends_unconverged,
                images=np.stack([entry.image for entry in result.images]))


def load(folder: Path, asked: dict, config: StyleConfig) -> Result | None:
    """The saved stylize run that answers this request (_answers), as a Result (config: the
    run's settings with the weights it used), or None when there is none."""
    return _loaded_result(load_record(folder, asked), config)


def find_elsewhere(root: Path, asked: dict, config: StyleConfig) -> tuple[Path, Result] | None:
    """A saved stylize run of any experiment under `root` (root/<name>/runs/) that answers
    `asked` under its own label: (its JSON file, its Result), or None."""
    for json_file in sorted(Path(root).glob("*/runs/*.json")):
        result = _loaded_result(_read(json_file, asked, any_label=True), config)
        if result is not None:
            return json_file, result
    return None


def _loaded_result(loaded: tuple[dict, dict] | None, config: StyleConfig) -> Result | None:
    """The Result of a saved stylize run as _read gives it, or None (none, or not a stylize
    run's)."""
    if loaded is None or "images" not in loaded[1]:
        return None
    try:
        return _result(loaded[0], loaded[1]["images"], config)
    except (KeyError, TypeError, IndexError):
        return None


def _result(record: dict, pixels: np.ndarray, config: StyleConfig) -> Result | None:
    """The Result a saved stylize run holds (None when its images do not match)."""
    run = record["result"]
    if len(run["images"]) != len(pixels):
        return None
    entries = [ImageResult(
        image, entry["style"],
        config.replace(content_weight=entry["content_weight"], seed=entry["seed"]),
        {key: entry[key] for key in ("content_loss", "style_loss", "tv_loss", "total_loss",
                                     "style_layer_losses")},
        entry["evaluations"], entry["history"], entry["quality"], None, entry["converged"],
        entry["content"]) for image, entry in zip(pixels, run["images"])]
    return Result(entries, entries[0].config, run["run"], tuple(run["size"]),
                  run["iterations"], run["wall_seconds"], run["compile_seconds"],
                  run["batch_size"], run["batches"], run["steps_per_call"],
                  run["quality_references"], 0,
                  {key: run[key] for key in ("backend", "device", "devices", "state_devices")
                   if key in run}, run["record"])
