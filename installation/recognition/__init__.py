"""Which catalog artwork is in a camera frame, or none (the design: recognizer.py's docstring)."""

from installation.recognition.recognizer import (
    FEATURE_VERSION,
    FRAME_WIDTH,
    GRAIN,
    ORB_FEATURES_FRAME,
    THUMB,
    ArtworkFeatures,
    Global,
    Grain,
    Place,
    Recognition,
    Recognizer,
    RecognizerSettings,
    compute_features,
    describe,
    explained_fractions,
    find_quads,
    grain_found,
    grain_of,
    rectify,
)
from installation.recognition.recognizer import _guided as _guided  # an internal the tests use
from installation.recognition.recognizer import _orb as _orb  # an internal the tests use
from installation.recognition.recognizer import _plausible as _plausible  # an internal the tests use

__all__ = [
    "FEATURE_VERSION",
    "FRAME_WIDTH",
    "GRAIN",
    "ORB_FEATURES_FRAME",
    "THUMB",
    "ArtworkFeatures",
    "Global",
    "Grain",
    "Place",
    "Recognition",
    "Recognizer",
    "RecognizerSettings",
    "compute_features",
    "describe",
    "explained_fractions",
    "find_quads",
    "grain_found",
    "grain_of",
    "rectify",
]
