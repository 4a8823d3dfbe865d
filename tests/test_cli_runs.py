"""The command line of runs that go beyond one image: settings files (--config), replay,
several photographs, video frames, TensorBoard event files, and the API's progress bar."""

import json
import re

import numpy as np
import pytest

from gatys_jax import cli, settings_file
from gatys_jax.config import StyleConfig
from gatys_jax.io import images, inputs
from gatys_jax.transfer import stylize

TINY = ["--size", "32", "--start-size", "0", "--iterations", "2", "-q"]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A small random network saved as a weight file, for runs through the CLI."""
    from gatys_jax.weights import h5

    from conftest import random_weights
    return str(h5.save(random_weights(), tmp_path_factory.mktemp("net") / "net.h5"))


def test_a_settings_file_gives_the_defaults_and_flags_override_it(tmp_path, net, capsys):
    path = settings_file.write(StyleConfig(size=32, start_size=None, iterations=3, seed=4,
                                           content_weight=2e-3, weights=net),
                               tmp_path / "settings.toml")
    assert cli.main(["stylize", "chelsea", "starry_night", "--config", str(path), "--seed", "5",
                     "-o", str(tmp_path / "a.png"), "--metrics", str(tmp_path / "a.json"),
                     "-q"]) == 0
    settings = json.loads((tmp_path / "a.json").read_text())["settings"]
    assert (settings["seed"], settings["iterations"], settings["content_weight"]) == (5, 3, 2e-3)
    # a run's metrics file serves as --config too
    assert cli.main(["stylize", "chelsea", "starry_night", "--config", str(tmp_path / "a.json"),
                     "-o", str(tmp_path / "b.png"), "-q"]) == 0
    np.testing.assert_array_equal(images.load(tmp_path / "a.png"),
                                  images.load(tmp_path / "b.png"))
    assert cli.main(["stylize", "chelsea", "starry_night", "--config", str(path), "--paper",
                     "-o", str(tmp_path / "c.png")]) == 2
    assert "--paper and --config both" in capsys.readouterr().err


@pytest.mark.parametrize("text, words", [
    ("size = 'big'", "settings file .* size must be an integer"),
    ("[table]\nx = 1", "unknown setting 'table'"),
])
def test_a_bad_settings_file_is_one_line_and_exit_2(tmp_path, capsys, text, words):
    (tmp_path / "s.toml").write_text(text)
    assert cli.main(["stylize", "chelsea", "starry_night", "--config",
                     str(tmp_path / "s.toml"), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gatys-jax: error: ")
    assert re.search(words, err)
    assert not (tmp_path / "x.png").exists()


def test_replay_from_the_command_line_gives_the_same_pixels(tmp_path, net, capsys):
    run = ["stylize", "chelsea", "starry_night", *TINY, "--weights", net, "--seeds", "0,1"]
    assert cli.main(run + ["-o", str(tmp_path / "run" / "a.png"),
                           "--metrics", str(tmp_path / "run" / "a.json")]) == 0
    assert cli.main(["replay", str(tmp_path / "run" / "a.json"), "-o",
                     str(tmp_path / "again" / "b.png"), "-q"]) == 0
    assert "replayed 2 image(s)" in capsys.readouterr().out
    for seed in (0, 1):
        np.testing.assert_array_equal(images.load(tmp_path / "run" / f"a_seed{seed}.png"),
                                      images.load(tmp_path / "again" / f"b_seed{seed}.png"))


def test_several_photographs_by_repeated_flag_or_folder(tmp_path, net, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("cat", "coffee"):
        source = "chelsea" if name == "cat" else "coffee"
        images.save(inputs.read(source)[:300, :300], folder / f"{name}.png")
    assert cli.main(["stylize", str(folder), "starry_night", *TINY, "--weights", net,
                     "-o", str(tmp_path / "out" / "s.png")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s_cat.png", "s_coffee.png"]
    assert cli.main(["stylize", str(folder / "cat.png"), "starry_night", "--content",
                     str(folder / "coffee.png"), *TINY, "--weights", net,
                     "-o", str(tmp_path / "two" / "s.png")]) == 0
    assert len(list((tmp_path / "two").iterdir())) == 2
    assert cli.main(["stylize", str(folder / "cat.png"), "starry_night", "--content", "coffee",
                     *TINY, "--weights", net, "-o", str(tmp_path / "bad" / "s.png")]) == 2
    assert "must give one output size" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_frames_from_the_command_line(tmp_path, net, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    photo = inputs.read("astronaut")[::8, ::8]
    for index in range(3):
        images.save(photo[:48, 2 * index: 2 * index + 48], folder / f"f{index}.png")
    assert cli.main(["frames", str(folder), "starry_night", *TINY, "--weights", net,
                     "--coherent", "-o", str(tmp_path / "out"),
                     "--metrics", str(tmp_path / "m" / "frames.json")]) == 0
    out = capsys.readouterr().out
    assert "wrote 3 frame(s)" in out and "flicker" in out
    metrics = json.loads((tmp_path / "m" / "frames.json").read_text())
    assert metrics["coherent"] is True and metrics["flicker"] > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f0.png", "f1.png", "f2.png"]


def test_the_log_dir_flag_writes_event_files(tmp_path, net):
    pytest.importorskip("tensorboardX")
    assert cli.main(["stylize", "chelsea", "starry_night", *TINY, "--weights", net,
                     "--log-dir", str(tmp_path / "logs"), "--log-every", "1",
                     "-o", str(tmp_path / "a.png")]) == 0
    (run,) = (tmp_path / "logs").iterdir()
    assert run.name == "image" and list(run.glob("events.out.tfevents.*"))


def test_the_api_progress_bar(capsys, net):
    stylize("chelsea", "starry_night", size=32, start_size=None, iterations=2, weights=net,
            progress=True)
    err = capsys.readouterr().err
    assert "compiling" in err and "32px" in err
