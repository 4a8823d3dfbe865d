"""Benchmarks of gatys_jax: speed against PyTorch, optimizers, the VGG19 feature pass, how steps
are driven and batching. Run them from the repository root, e.g. `python -m benchmarks.vs_torch`;
each module's docstring says what it measures and how.
"""
