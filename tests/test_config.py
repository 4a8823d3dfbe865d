"""StyleConfig: defaults defined once, every field validated in API terms, and the CLI flags
generated from its fields naming the flag in their errors."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import optax
import pytest

from gatys_jax import cli
from gatys_jax.cli import flags
from gatys_jax.config import DEFAULT_STYLE_LAYERS, MAX_SEED, StyleConfig
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.model.layers import MIN_SIDE

from conftest import random_weights


def test_defaults():
    config = StyleConfig()
    assert (config.size, config.iterations, config.optimizer, config.history) == (512, 150, "lbfgs", 100)
    assert config.content_weight == 9e-4 and config.content_layer == "conv4_2"
    assert (config.start_size, config.noise_scale, config.tv_weight) == (128, 0.004, 0.0)
    assert config.scales((300, 451)) == [128, 256, 512]
    assert config.weights is None  # the plain Caffe VGG19: h5.resolve(None)
    assert config.style_layers == DEFAULT_STYLE_LAYERS and config.style_weights is None
    assert config.layer_weights == (0.2,) * 5
    assert (config.init, config.seed, config.pooling, config.dtype) == ("noise", 0, "avg", "float32")
    assert config.precondition == 0.0 and config.learning_rate is None


@pytest.mark.parametrize("changes, field, words", [
    (dict(content_weight=-1.0), "content_weight", "non-negative"),
    (dict(content_weight=-1e-12), "content_weight", "non-negative"),
    (dict(content_weight=math.nan), "content_weight", "finite"),
    (dict(content_weight=math.inf), "content_weight", "finite"),
    (dict(style_weights=(0.5, -1.0), style_layers=("conv1_1", "conv2_1")), "style_weights",
     "non-negative"),
    (dict(style_weights=(math.nan,), style_layers=("conv1_1",)), "style_weights", "finite"),
    (dict(style_weights=(0.5, 0.5)), "style_weights", "2 values for 5 style layers"),
    (dict(style_layers=("conv1_1", "conv9_9")), "style_layers", "conv9_9"),
    (dict(style_layers=("fc6",)), "style_layers", "fc6"),
    (dict(style_layers=("conv1_1", "conv1_1")), "style_layers", "repeats"),
    (dict(content_layer="nope"), "content_layer", "nope"),
    (dict(content_layer=None, style_layers=()), "content_layer",
     "content layer or at least one style layer"),
    (dict(content_layer="", style_layers=()), "content_layer",
     "content layer or at least one style layer"),
    (dict(size=8), "size", "too small"),
    (dict(size=MIN_SIDE - 1), "size", f"at least {MIN_SIDE} px"),
    (dict(size=2.5), "size", "integer"),
    (dict(iterations=-1), "iterations", ">= 0"),
    (dict(history=0), "history", ">= 1"),
    (dict(precondition=3.0), "precondition", "preconditioner exponent"),
    (dict(precondition=-0.1), "precondition", "[0, 2]"),
    (dict(optimizer="lbfgsb", precondition=0.5), "precondition", "lbfgs only"),
    (dict(learning_rate=0.0), "learning_rate", "positive"),
    (dict(learning_rate=math.inf), "learning_rate", "finite"),
    (dict(init="zeros"), "init", "zeros"),
    (dict(pooling="min"), "pooling", "min"),
    (dict(dtype="float16"), "dtype", "float16"),
    (dict(seed=-1), "seed", ">= 0"),
    (dict(seed=MAX_SEED + 1), "seed", "at most"),
    (dict(seed=99999999999999999999), "seed", "at most"),
    (dict(max_batch=0), "max_batch", ">= 1"),
    (dict(save_every=0), "save_every", ">= 1"),
    (dict(max_megapixels=0.0), "max_megapixels", "positive"),
    (dict(optimizer="newton"), "optimizer", "newton"),
    (dict(optimizer="optax:nope"), "optimizer", "optax:nope"),
    (dict(optimizer="optax:tree"), "optimizer", "not an optax optimizer"),
    (dict(optimizer=42), "optimizer", "must be a name"),
    (dict(style_scale=None), "style_scale", "has no unset value"),
    (dict(style_layers=None), "style_layers", "has no unset value"),
    (dict(blend=[]), "blend", "must be non-negative with a positive sum"),
    (dict(tv_weight=-1.0), "tv_weight", "non-negative"),
    (dict(noise_scale=1.5), "noise_scale", "[0, 1]"),
    (dict(start_size=8), "start_size", "too small"),
])
def test_bad_values_name_the_field(changes, field, words):
    with pytest.raises(ConfigError) as error:
        StyleConfig(**changes)
    assert error.value.field == field
    assert str(error.value).startswith(field + " ")
    assert words in str(error.value)


def test_values_are_normalized_and_replace_validates():
    config = StyleConfig(style_layers=["conv1_1", "conv2_1"], style_weights=[1, 3],
                         content_layer="", content_weight=1)
    assert config.style_layers == ("conv1_1", "conv2_1") and config.style_weights == (1.0, 3.0)
    assert config.content_layer is None and isinstance(config.content_weight, float)
    assert config.replace(seed=3).seed == 3
    with pytest.raises(ConfigError, match="seed"):
        config.replace(seed=-3)
    with pytest.raises(GatysError, match="unknown setting 'colour'"):
        config.replace(colour="red")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 4


def test_settings_hold_names_and_paths_never_runtime_objects():
    """An optax transform, loaded weights or a mask array are stylize's arguments; as a
    setting each is refused with a pointer there."""
    assert StyleConfig(optimizer="optax:adabelief", learning_rate=2.0).optimizer == "optax:adabelief"
    with pytest.raises(ConfigError, match="optimizer must be a name.*transform argument"):
        StyleConfig(optimizer=optax.sgd(1e-3))
    with pytest.raises(ConfigError, match="weights must be a path.*stylize's arguments"):
        StyleConfig(weights=random_weights())
    with pytest.raises(ConfigError, match="content_mask must be a path"):
        StyleConfig(content_mask=np.zeros((8, 8, 3)), style_mask=("a.png",))
    with pytest.raises(ConfigError, match="style_mask 1 must be a path"):
        StyleConfig(content_mask="a.png", style_mask=(np.zeros((8, 8, 3)),))


def test_to_json_is_plain_and_loads_back():
    import json
    config = StyleConfig(optimizer="adam", weights=Path("w.h5"), style_weights=(1, 2, 3, 4, 5),
                         content_mask="m.png", style_mask=("n.png",), blend=(1.0,))
    data = config.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["optimizer"] == "adam" and data["weights"] == "w.h5"
    assert data["style_layers"] == list(DEFAULT_STYLE_LAYERS)
    again = StyleConfig(**data)
    assert again.to_json() == data and again.replace(weights=Path("w.h5")) == config


# ---------------------------------------------------------------- the CLI's flags


def parse(argv, defaults=StyleConfig()):
    parser = flags.Parser(prog="test")
    flags.add_config_arguments(parser, defaults)
    return flags.config_from_args(parser.parse_args(argv), defaults)


def test_one_flag_per_field_and_defaults_come_from_the_config():
    parser = flags.Parser(prog="test")
    flags.add_config_arguments(parser, StyleConfig())
    options = {action.dest: action.option_strings for action in parser._actions}
    for field in dataclasses.fields(StyleConfig):
        assert options[field.name] == [flags.flag(field.name)]
    assert parse([]) == (StyleConfig(), None)
    demo = StyleConfig(size=256, iterations=200)
    assert parse([], demo) == (demo, None)
    help_text = parser.format_help()
    assert "(default: 512)" in help_text and "conv1_1,conv2_1" in help_text


def test_flags_fill_the_config():
    config, weights = parse(["--size", "0", "--content-weight", "1e-4", "--style-layers",
                             "conv1_1,conv2_1", "--style-weights", "0.5,1.5", "--content-layer",
                             "", "--seed", "3", "--optimizer", "optax:adabelief",
                             "--learning-rate", "2"])
    assert weights is None
    assert config == StyleConfig(size=None, content_weight=1e-4, style_layers=("conv1_1", "conv2_1"),
                                 style_weights=(0.5, 1.5), content_layer=None, seed=3,
                                 optimizer="optax:adabelief", learning_rate=2.0)
    config, weights = parse(["--content-weight", "1e-3,1e-2"])
    assert config.content_weight == 1e-3 and weights == (1e-3, 1e-2)


@pytest.mark.parametrize("argv, words", [
    (["--content-weight", "abc"], "not a number"),
    (["--iterations", "1.5"], "not an integer"),
    (["--style-weights", "0.5,x"], "not a number"),
])
def test_malformed_flag_values_are_argparse_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_cli_errors_name_the_flag(tmp_path, capsys):
    code = cli.main(["stylize", "chelsea", "starry_night", "-o", str(tmp_path / "o.png"),
                     "--content-weight", "-1"])
    err = capsys.readouterr().err
    assert code == 2 and err == ("gatys-jax: error: --content-weight must be non-negative "
                                 "and at most 1e+12, got -1\n")
    assert list(tmp_path.iterdir()) == []


def test_parse_seeds():
    assert flags.parse_seeds("0,1,2") == [0, 1, 2]
    assert flags.parse_seeds("0-3") == [0, 1, 2, 3]
    assert flags.parse_seeds("5, 0-1") == [5, 0, 1]
    for bad in ["", "a", "3-1", "1,1", "1-", "-2", "0,,1", "0-99999999999"]:
        with pytest.raises(GatysError):
            flags.parse_seeds(bad)


def test_scales_double_from_the_start_size_to_the_size():
    assert StyleConfig(size=512, start_size=128).scales((300, 451)) == [128, 256, 512]
    assert StyleConfig(size=384, start_size=128).scales((300, 451)) == [128, 256, 384]
    assert StyleConfig(size=512, start_size=None).scales((300, 451)) == [512]
    assert StyleConfig(size=512, start_size=512).scales((300, 451)) == [512]  # off
    assert StyleConfig(size=512, start_size=600).scales((300, 451)) == [512]
    assert StyleConfig(size=None, start_size=128).scales((300, 451)) == [128, 256, 451]
    assert StyleConfig(size=257, start_size=128).scales((300, 451)) == [128, 257]
    # a long, narrow image: no scale whose short side is under the network's minimum
    assert StyleConfig(size=512, start_size=128).scales((100, 1000)) == [256, 512]


def test_the_paper_preset_is_exactly_the_paper():
    from gatys_jax.io import paths
    paper = StyleConfig.paper()
    assert paper.content_weight == 1e-3 and paper.content_layer == "conv4_2"
    assert paper.style_layers == DEFAULT_STYLE_LAYERS and paper.layer_weights == (0.2,) * 5
    assert (paper.init, paper.start_size) == ("noise", None)
    # the authors' start: white noise of 1 grey level standard deviation
    from gatys_jax.problem import initial_image
    x0 = initial_image("noise", 0, np.zeros((64, 64, 3), np.float32), None, paper.noise_scale)
    assert abs(x0.std() - 1) < 0.02 and abs(x0.mean() - 127.5) < 0.05
    assert (paper.optimizer, paper.tv_weight, paper.pooling) == ("lbfgs", 0.0, "avg")
    assert paper.weights == str(paths.normalized_weights())
    assert StyleConfig.paper(size=128).size == 128


def test_the_readme_states_the_defaults():
    """Every flag row of the README's table whose field has a default shows that default."""
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    defaults = StyleConfig()
    checked = set()
    for line in readme.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)]
        flag_name = re.match(r"`(--[a-z-]+)", cells[1]) if len(cells) > 3 else None
        if not flag_name:
            continue
        field, cell = flag_name.group(1)[2:].replace("-", "_"), cells[2]
        value = getattr(defaults, field, None)
        if value is None or not cell:
            continue
        if isinstance(value, tuple):
            assert cell == ",".join(value), field
        elif isinstance(value, str):
            assert cell == value, field
        else:
            assert float(cell) == value, field
        checked.add(field)
    assert {"size", "start_size", "iterations", "content_weight", "noise_scale", "tv_weight",
            "style_layers", "init", "history"} <= checked
