"""VGG19 weight files: the project's h5 format, converters, the torch reader, fetch, normalization."""
