"""The audio process: clips in, a continuous, level-safe stream out (mixer, levels, sinks)."""
