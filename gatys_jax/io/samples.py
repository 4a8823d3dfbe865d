"""Sample images by name: public-domain paintings shipped in `gatys_jax/data/` (sources in
`data/SOURCES.md`) and photographs bundled with scikit-image.

Wherever the project takes an image (the CLI, `stylize`, the scripts), a sample's name works
as well as a path (inputs.py): `starry_night`, `astronaut`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io import images

PAINTINGS = {
    "starry_night": ("starry_night.jpg", "Vincent van Gogh, The Starry Night (1889)"),
    "shipwreck": ("shipwreck.jpg", "J. M. W. Turner, The Shipwreck (1805)"),
    "woman_with_hat": ("woman_with_hat.jpg", "Henri Matisse, Woman with a Hat (1905)"),
}
PHOTOS = {  # scikit-image's data module: name -> description (licences in data/SOURCES.md)
    "astronaut": "Eileen Collins, NASA astronaut (512x512)",
    "chelsea": "Chelsea the cat (451x300)",
    "coffee": "a cup of coffee (600x400)",
    "rocket": "launch of DSCOVR on a Falcon 9 (640x427)",
}
MASKS = {  # shipped beside the paintings: a spatial-control example (masks.py)
    "rocket_mask": ("rocket_mask.png", "regions of rocket: sky (red), ground (blue)"),
    "starry_night_mask": ("starry_night_mask.png",
                          "regions of starry_night: sky (red), village (blue)"),
}
NAMES = tuple(PAINTINGS) + tuple(PHOTOS) + tuple(MASKS)


def describe() -> list[tuple[str, str, str]]:
    """(name, kind, description) of every sample."""
    return ([(name, "painting", text) for name, (_, text) in PAINTINGS.items()]
            + [(name, "photograph", text) for name, text in PHOTOS.items()]
            + [(name, "mask", text) for name, (_, text) in MASKS.items()])


def load(name: str) -> np.ndarray:
    """A sample as float32 RGB (H, W, 3) in 0..255."""
    if name in PAINTINGS or name in MASKS:
        file = (PAINTINGS.get(name) or MASKS[name])[0]
        with resources.as_file(resources.files("gatys_jax") / "data" / file) as path:
            return images.load(path)
    if name in PHOTOS:
        from skimage import data as skdata
        return np.asarray(getattr(skdata, name)(), np.float32)
    raise GatysError(f"no sample named {name!r}; choose from {', '.join(NAMES)}")
