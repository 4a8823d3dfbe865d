"""`python -m gatys_jax`: the command line, as `gatys-jax`."""

from gatys_jax.cli import entry

entry()
