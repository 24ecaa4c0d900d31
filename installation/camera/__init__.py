"""The camera process: sources of frames, recognition against the catalog, debouncing, events."""
