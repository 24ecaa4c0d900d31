"""Which catalog artwork is in a camera frame, or none (the design: recognizer.py's docstring).

features    what is kept of a catalog work (global description, ORB keypoints, thumbnails)
geometry    small helpers on quadrilaterals (corner order, shape, aspect, plausibility)
quads       finding the picture in a frame (candidate quadrilaterals, those nested in a frame) and rectifying it
light       colour under a gallery's light: colour layouts, alignment, explained fractions
grain       the fine detail of a textured work
keypoints   the catalog's keypoint index, homographies, guided matching
embedding   a small network (ONNX, trained by export/recognition_embedding.py) describing a rectified picture
verify      the low-texture decision: a logistic score learnt across the two view renderers
lookalikes  which catalog works pass for another: the verifier refitted on them from its shipped fit (the kiosk's)
recognizer  RecognizerSettings, Recognition, Recognizer: the decision (and confirming a held work on its place)
track       Tracker: recognise, then confirm the work held on its place in the next frames (the camera's way)
"""

from installation.recognition.features import (
    FEATURE_VERSION,
    FRAME_WIDTH,
    GRAIN,
    ORB_FEATURES_FRAME,
    THUMB,
    ArtworkFeatures,
    Global,
    compute_features,
    describe,
)
from installation.recognition.features import _orb as _orb  # an internal the tests use
from installation.recognition.geometry import _plausible as _plausible  # an internal the tests use
from installation.recognition.grain import Grain, chance_cells, grain_found, grain_of
from installation.recognition.keypoints import _guided as _guided  # an internal the tests use
from installation.recognition.light import explained_fractions
from installation.recognition.quads import find_quads, rectify
from installation.recognition.recognizer import KeypointCheck, Place, Recognition, Recognizer, RecognizerSettings
from installation.recognition.verify import Candidate

__all__ = [
    "FEATURE_VERSION",
    "FRAME_WIDTH",
    "GRAIN",
    "ORB_FEATURES_FRAME",
    "THUMB",
    "ArtworkFeatures",
    "Candidate",
    "Global",
    "Grain",
    "KeypointCheck",
    "Place",
    "Recognition",
    "Recognizer",
    "RecognizerSettings",
    "chance_cells",
    "compute_features",
    "describe",
    "explained_fractions",
    "find_quads",
    "grain_found",
    "grain_of",
    "rectify",
]
