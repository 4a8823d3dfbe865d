"""gatys_jax: Gatys et al. (CVPR 2016) neural style transfer in JAX/Flax.

    import gatys_jax
    result = gatys_jax.stylize("chelsea", "starry_night", size=256, iterations=300)
    result.image  # uint8 (H, W, 3)

The names below are imported on first use, so that importing one module of the package (the
settings, say) does not import them all.
"""

import importlib

_EXPORTS = {"ConfigError": "gatys_jax.errors", "GatysError": "gatys_jax.errors",
            "ImageResult": "gatys_jax.outputs", "Result": "gatys_jax.outputs",
            "Masks": "gatys_jax.problem", "PlanEvent": "gatys_jax.events",
            "ProgressEvent": "gatys_jax.events",
            "StyleConfig": "gatys_jax.config", "stylize": "gatys_jax.transfer",
            "stylize_batch": "gatys_jax.transfer"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gatys_jax' has no attribute {name!r}")
