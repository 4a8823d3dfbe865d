"""TensorBoard event files of a run (--log-dir), read back record by record."""

import struct
import sys
from collections import Counter
from pathlib import Path

import pytest

from gatys_jax.errors import GatysError
from gatys_jax.transfer import stylize_batch

from conftest import random_weights

pytest.importorskip("tensorboardX")


def events(folder: Path) -> list:
    """Every Event in a run folder's event files (TFRecord framing: length, its CRC, the
    serialized Event, its CRC)."""
    from tensorboardX.proto import event_pb2

    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at: at + 8])
            found.append(event_pb2.Event.FromString(data[at + 12: at + 12 + length]))
            at += 12 + length + 4
    return found


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list] = {}
    for event in events(folder):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_a_batch_logs_one_run_per_image_with_every_total_and_the_terms(tmp_path):
    result = stylize_batch("chelsea", ["starry_night"], size=48, start_size=24, iterations=4,
                           seeds=[0, 1], vgg=random_weights(), log_dir=tmp_path / "logs",
                           log_every=2)
    runs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert runs == ["seed0", "seed1"]
    for name, entry in zip(runs, result.images):
        found = scalars(tmp_path / "logs" / name)
        history = entry.history  # every compiled call of both scales, evaluations cumulative
        assert found["loss/total"] == [
            (row["evaluations"], pytest.approx(row["total_loss"], rel=1e-6)) for row in history]
        # terms at iterations 0, 2, 4 of each scale (4 is also the scale's end): 3 per scale
        assert {len(history), len({tuple(row["size"]) for row in history})} == {10, 2}
        assert all(len(found[tag]) == 6 for tag in ("loss/content", "loss/style", "loss/tv",
                                                    "style_layer/conv1_1", "style_layer/conv5_1"))
        last_style = found["loss/style"][-1]
        assert last_style == (history[-1]["evaluations"],
                              pytest.approx(entry.losses["style_loss"], rel=1e-5))
        assert {"quality/style_distance", "quality/content_distance",
                "quality/speckle"} <= set(found)
        tags = Counter(value.tag for event in events(tmp_path / "logs" / name)
                       for value in event.summary.value)
        assert tags["image"] == 6 and tags["settings/text_summary"] == 1


def test_without_tensorboardx_the_log_dir_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
    with pytest.raises(GatysError, match=r"needs tensorboardX: pip install"):
        stylize_batch("chelsea", ["starry_night"], size=32, iterations=1, vgg=random_weights(),
                      log_dir=tmp_path / "logs", output=tmp_path / "out.png")
    assert not (tmp_path / "logs").exists() and not (tmp_path / "out.png").exists()
