"""gatys_jax: Gatys et al. (CVPR 2016) neural style transfer in JAX/Flax.

    import gatys_jax
    result = gatys_jax.stylize("chelsea", "starry_night", size=256, iterations=300)
    result.image  # uint8 (H, W, 3)
"""

from .config import StyleConfig
from .errors import ConfigError, GatysError
from .outputs import ImageResult, Result
from .stylize import stylize, stylize_batch

__all__ = ["ConfigError", "GatysError", "ImageResult", "Result", "StyleConfig", "stylize",
           "stylize_batch"]
