"""The mixer as a pure function: block streams for given clips and events."""

import numpy as np

from installation.audio.levels import loudness
from installation.audio.mixer import Clip, Library, Mixer, MixerSettings

RATE = 8000
BLOCK = 256


def tone(freq, amp, seconds):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clip(freq, seconds=2.0, artwork="a", source="fresh", amp=0.3):
    return Clip(tone(freq, amp, seconds), artwork, source, f"{artwork}-{freq}")


def run(mixer, seconds):
    return np.concatenate([mixer.render(BLOCK) for _ in range(int(seconds * RATE / BLOCK))])


def settings(**kw):
    return MixerSettings(**{"rate": RATE, "crossfade": 0.5, "change_crossfade": 0.2, "leave_fade": 0.3,
                            "idle_silence_after": 1.0, **kw})


def max_jump(x):
    return float(np.abs(np.diff(x)).max())


def test_consecutive_clips_crossfade_without_gap_or_click():
    m = Mixer(settings())
    m.set_artwork("a")
    m.add_clip(clip(200))
    m.add_clip(clip(300))
    out = run(m, 3.4)
    body = out[int(0.1 * RATE) : int(2.9 * RATE)]  # up to where the cached replay (same tone) starts
    assert np.abs(body).max() > 0.1
    # No gap: the RMS never drops to silence anywhere in 50 ms windows.
    windows = body[: len(body) // 400 * 400].reshape(-1, 400)
    assert np.sqrt((windows**2).mean(axis=1)).min() > 0.1
    # No click: sample-to-sample jumps stay those of the tones themselves.
    assert max_jump(out) <= 2 * np.pi * 300 * 0.3 / RATE * 1.5
    assert m.stats.started["fresh"] == 2


def test_equal_power_crossfade_keeps_power():
    m = Mixer(settings(crossfade=1.0))
    m.set_artwork("a")
    m.add_clip(clip(210, 3.0))
    m.add_clip(clip(337, 3.0))
    out = run(m, 3.9)
    xfade = out[int(2.2 * RATE) : int(2.8 * RATE)]  # inside the 1 s crossfade around 2..3 s
    steady = out[int(0.5 * RATE) : int(1.5 * RATE)]
    assert abs(np.sqrt((xfade**2).mean()) / np.sqrt((steady**2).mean()) - 1) < 0.1


def test_fallback_chain_playlist_then_cached_then_ambient_then_silence():
    ambient = Clip(tone(100, 0.2, 1.0), None, "ambient", "amb")
    lib = Library({"b": [clip(400, 1.0, "b", "playlist")]}, [ambient])
    m = Mixer(settings(crossfade=0.1), lib)
    m.set_artwork("b")  # nothing fresh yet: the playlist answers at once
    run(m, 0.2)
    assert m.current.clip.source == "playlist"
    m.add_clip(clip(500, 1.0, "b"))  # a fresh clip takes over from the fallback
    run(m, 0.5)
    assert m.current.clip.source == "fresh"
    m.set_artwork("c")  # unknown artwork, nothing fresh: ambient
    run(m, 0.5)
    assert m.current.clip.source == "ambient"
    m.set_artwork(None)  # visitor leaves: ambient, then silence after idle_silence_after
    out = run(m, 3.0)
    assert m.silent and np.abs(out[-RATE // 2 :]).max() == 0.0
    m.set_artwork("b")
    run(m, 0.2)
    assert m.current.clip.source == "playlist"  # rotated playlist answers again


def test_cached_clip_replays_when_nothing_fresher():
    m = Mixer(settings(crossfade=0.1))
    m.set_artwork("a")
    m.add_clip(clip(250, 0.5))
    run(m, 1.2)
    assert m.current is not None and m.current.clip.source == "cached"
    m.add_clip(clip(260, 0.5, artwork="z"))  # for another artwork: cached for later, not played
    run(m, 0.3)
    assert m.current.clip.artwork_id == "a"
    m.set_artwork("z")
    run(m, 0.3)
    assert m.current.clip.artwork_id == "z" and m.current.clip.source == "cached"


def test_artwork_change_is_quick_and_leave_fades_to_silence():
    m = Mixer(settings(idle_silence_after=0.0))
    m.set_artwork("a")
    m.add_clip(clip(200, 5.0))
    run(m, 1.0)
    m.add_clip(clip(300, 5.0, artwork="b"))
    m.set_artwork("b")
    out = run(m, 0.5)
    assert m.voices[-1].clip.artwork_id == "b" and len(m.voices) == 1  # 0.2 s change crossfade is over
    assert max_jump(out) <= 2 * np.pi * 300 * 0.3 / RATE * 1.5
    m.set_artwork(None)
    out = run(m, 1.0)
    assert m.silent and np.abs(out[int(0.4 * RATE) :]).max() == 0.0
    assert max_jump(out) <= 2 * np.pi * 300 * 0.3 / RATE * 1.5


def test_stop_fades_out_and_starts_nothing_new():
    m = Mixer(settings(), Library(ambient=[Clip(tone(100, 0.2, 5.0), None, "ambient", "amb")]))
    run(m, 0.5)
    m.stop(0.25)
    out = run(m, 1.0)
    assert m.silent and np.abs(out[int(0.3 * RATE) :]).max() == 0.0
    assert max_jump(out) < 0.05


def test_levels_of_normalised_clips_stay_level_through_the_mixer():
    from installation.audio.levels import normalize

    quiet, loud = normalize(tone(220, 0.02, 3.0), RATE, -23), normalize(tone(330, 0.8, 3.0), RATE, -23)
    m = Mixer(settings(crossfade=0.3))
    m.set_artwork("a")
    m.add_clip(Clip(quiet, "a", "fresh", "q"))
    m.add_clip(Clip(loud, "a", "fresh", "l"))
    out = run(m, 5.6)
    first, second = out[int(0.5 * RATE) : int(2.5 * RATE)], out[int(3.2 * RATE) : int(5.2 * RATE)]
    assert abs(loudness(first, RATE) - loudness(second, RATE)) < 1.0


def test_output_never_exceeds_the_ceiling():
    m = Mixer(settings(limiter_ceiling_db=-1.0))
    m.set_artwork("a")
    m.add_clip(clip(200, 2.0, amp=4.0))
    m.add_clip(clip(300, 2.0, amp=4.0))
    assert np.abs(run(m, 4.0)).max() <= 10 ** (-1 / 20) + 1e-7
