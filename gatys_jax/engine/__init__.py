"""Compiled steps and how they run: the driver, batch layout and sharding, memory accounting."""
