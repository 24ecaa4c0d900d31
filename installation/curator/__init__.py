"""Curators' tools: precomputed playlists (precompute.py, on Ray: cluster.py), their manifest
(manifest.py, which the kiosk's audio process reads too) and the review page (review.py + static/)."""
