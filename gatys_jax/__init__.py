"""gatys_jax: Gatys et al. (CVPR 2016) neural style transfer in JAX/Flax."""

from .errors import GatysError
from .stylize import stylize

__all__ = ["GatysError", "stylize"]
