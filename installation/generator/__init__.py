"""The generator process: keeps the model loaded and makes clips for the artwork in view."""
