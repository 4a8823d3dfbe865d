"""Controls on a run's images: colours kept, spatial masks."""
