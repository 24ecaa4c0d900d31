"""Curators' tools: precomputed playlists and the review page (to come: see the curators' issue)."""
