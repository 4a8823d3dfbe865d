"""Files in and out: images, atomic writes, inputs and bundled samples, signals, paths."""
