"""`python -m gatys_jax.cli`: the console script."""

from gatys_jax.cli import entry

entry()
