import numpy as np
import pytest

from installation.audio.levels import ClipRefused, Limiter, check_clip, loudness, normalize

RATE = 48000


def tone(freq, amp, seconds, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_normalize_brings_clips_within_a_tenth_of_a_lu_of_the_target():
    for amp in (0.01, 0.2, 0.9):
        out = normalize(tone(440, amp, 2.0), RATE, -23.0)
        assert abs(loudness(out, RATE) + 23.0) < 0.1


def test_short_and_silent_clips_are_guarded():
    short = normalize(tone(440, 0.1, 0.1), RATE, -23.0)  # below pyloudnorm's 0.4 s block
    assert np.isfinite(short).all() and abs(loudness(short, RATE) + 23.0) < 0.5
    silent = np.zeros(RATE, np.float32)
    assert np.array_equal(normalize(silent, RATE, -23.0), silent)  # no infinite gain
    hiss = tone(440, 1e-6, 1.0)
    assert np.abs(normalize(hiss, RATE, -23.0)).max() <= 1e-6 * 10 ** (30 / 20) * 1.01  # at most +30 dB


def test_nan_and_absurd_clips_are_refused_by_name():
    bad = tone(440, 0.1, 1.0)
    bad[100] = np.nan
    with pytest.raises(ClipRefused, match="clip gallery-3: 1 NaN/inf"):
        check_clip(bad, "gallery-3")
    with pytest.raises(ClipRefused, match="absurd"):
        check_clip(tone(440, 100.0, 0.5), "loud")
    with pytest.raises(ClipRefused, match="mono"):
        check_clip(np.zeros((2, 100)), "stereo")


def test_limiter_never_exceeds_the_ceiling_and_recovers():
    lim = Limiter(-1.0, release_seconds=0.05, rate=RATE)
    ceiling = 10 ** (-1 / 20)
    loud = tone(100, 3.0, 0.5)
    out = np.concatenate([lim.process(b) for b in np.split(loud, 25)])
    assert np.abs(out).max() <= ceiling + 1e-7
    quiet = np.concatenate([lim.process(b) for b in np.split(tone(100, 0.1, 1.0), 50)])
    assert np.allclose(quiet[-4800:], tone(100, 0.1, 1.0)[-4800:], atol=1e-3)  # gain back to 1
