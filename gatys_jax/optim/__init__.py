"""Optimizers over an image: the L-BFGS (and L-BFGS-B), its preconditioner, optax as solvers."""
