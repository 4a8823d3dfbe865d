"""Benchmarks of gatys_jax: speed against PyTorch, optimizers, the VGG19 feature pass, how steps
are driven and batching. Run them from the repository root, e.g. `python -m benchmarks.vs_torch`;
each script's docstring says what it measures and how. The other modules are the parts of a
script (vs_torch_*, optimizer_*) or what several share: common, torch_runs (PyTorch's side),
torch_reference (the PyTorch objective), fresh_process (a measurement in its own process) and
panel (the photo/painting pairs).
"""
