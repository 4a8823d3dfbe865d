"""What the benchmark and paper scripts share: their command line and report, the machine,
figures, measures of pictures, and the problem an experiment optimizes. It imports gatys_jax
only."""
