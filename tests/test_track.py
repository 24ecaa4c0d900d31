"""Recognise, then confirm (recognition/track.py): a work recognised once is confirmed on its place in
the next moments of the same scene, and a confirmation names the held work or nothing."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from helpers import benchmark_module, faint
from installation.camera.synthetic import ViewSettings, artwork, view, view_with_truth
from installation.catalog import load_catalog
from installation.recognition import Recognizer, RecognizerSettings
from installation.recognition.keypoints import GUIDE_SPREAD, _spread
from installation.recognition.recognizer import Held
from installation.recognition.track import NEAR_SEARCHES, STILL_DOUBT, Tracker

BUSY = [0, 6, 12]  # recognised by keypoints
LOW_TEXTURE = [1, 7, 2, 8, 3]  # colour fields, hard-edge, stripes: by the low-texture decision


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("track-catalog")
    for seed in BUSY + LOW_TEXTURE:
        cv2.imwrite(str(folder / f"work-{seed}.png"), artwork(seed))
    return Recognizer(load_catalog(folder).features)


def _held_scenes(recognizer, seeds, first_view):
    """(seed, view seed, the first moment's Recognition) of each scene whose first moment was recognised."""
    out = []
    for k, seed in enumerate(seeds):
        r = recognizer.recognize(view_with_truth(artwork(seed), first_view + k, moment=0)[0])
        assert r.artwork_id in (None, f"work-{seed}"), (seed, r)
        if r.artwork_id is not None:
            assert r.held is not None and r.held.method == r.method
            out.append((seed, first_view + k, r))
    return out


def test_a_recognised_work_is_confirmed_on_its_place_in_the_next_moments(recognizer):
    """Both ways a work is recognised (keypoints, the low-texture decision) confirm at the held place
    in the next moments (another visitor, noise, blur): the right work, flagged confirmed; keypoints find
    the work's corners again, the low-texture decision keeps the place it was found at (and needs the
    verifier surer than the search: RecognizerSettings.confirm_threshold)."""
    confirmed = {"keypoints": 0, "global": 0}
    tried = {"keypoints": 0, "global": 0}
    sure = by_decision = 0
    for seed, view_seed, first in _held_scenes(recognizer, (BUSY + LOW_TEXTURE) * 2, 600):
        for moment in (1, 2, 3):
            frame, corners = view_with_truth(artwork(seed), view_seed, moment=moment)
            r = recognizer.confirm(frame, first.held)
            tried[first.method] += 1
            assert r.artwork_id in (None, f"work-{seed}"), (seed, moment, r)
            if r.artwork_id is not None:
                # A held low-texture work may be confirmed by keypoints: the search's first step runs first.
                assert r.confirmed and r.method in (first.method, "keypoints"), (first.method, r.method)
                if r.method == "keypoints":
                    # A sure match (many inliers) lands on the corners (a few-inlier one is as rough as the search's).
                    if r.confidence == 1.0:
                        assert np.abs(np.float32(r.quad) - corners).max() < 12, (seed, r.quad, corners)
                        sure += 1
                else:
                    assert np.allclose(r.quad, first.quad, atol=1e-3) and r.confidence >= 0.9
                    by_decision += r.method == "global"
                confirmed[first.method] += 1
    assert tried["keypoints"] >= 12 and tried["global"] >= 12 and sure >= 6, (tried, sure)
    assert by_decision >= 6, by_decision  # the low-texture decision at the held place itself, not only keypoints
    assert confirmed["keypoints"] >= 0.8 * tried["keypoints"], (confirmed, tried)
    assert confirmed["global"] >= 0.7 * tried["global"], (confirmed, tried)


def test_a_confirmation_names_the_held_work_or_nothing(recognizer):
    """Where the held work is not (an empty wall, another catalog work, an unknown work, the held work
    in another scene) or the frame is not the one the place was found in (another size), a confirmation
    says none: it never names a work the search did not name first."""
    scenes = _held_scenes(recognizer, BUSY + LOW_TEXTURE, 640)
    assert len(scenes) >= 6
    resized = 0
    for seed, view_seed, first in scenes:
        elsewhere = [view(None, 700 + seed), view(artwork(5_000_000 + seed), 720 + seed),
                     view(artwork(seed), 740 + seed)]  # the same work, hung elsewhere in another room
        elsewhere += [view(artwork(other), 760 + other) for other in BUSY + LOW_TEXTURE if other != seed]
        for frame in elsewhere:
            r = recognizer.confirm(frame, first.held)
            assert r.artwork_id is None or (r.artwork_id == f"work-{seed}" and np.array_equal(frame, elsewhere[2])), \
                (seed, r)
        same = view_with_truth(artwork(seed), view_seed, moment=1)[0]
        smaller = cv2.resize(same, (320, 240), interpolation=cv2.INTER_AREA)
        wider = np.concatenate([same, same[:, :160]], axis=1)  # another camera's frame: the place means nothing
        assert recognizer.confirm(wider, first.held).artwork_id is None
        # A frame of the same shape at another size is the same view: its quad comes back in its own pixels.
        r = recognizer.confirm(smaller, first.held)
        if r.artwork_id is not None and r.method == "global":
            assert np.allclose(np.float32(r.quad) * 2, first.quad, atol=1e-3)
            resized += 1
        elif r.artwork_id is not None and r.confidence == 1.0:  # a sure keypoint match: on the corners
            corners = view_with_truth(artwork(seed), view_seed, moment=1)[1]
            assert np.abs(np.float32(r.quad) * 2 - corners).max() < 12, (seed, r.quad, corners)
            resized += 1
    assert resized >= 4


def test_a_held_work_is_this_catalogs_and_its_place_a_quadrilateral(recognizer, tmp_path):
    """A Held from another catalog (another Recognizer's index), a place that is not 4 finite corners or
    an unknown way of recognising are refused with a line saying which; a place off the frame is none."""
    frame = view_with_truth(artwork(0), 640, moment=0)[0]
    held = recognizer.recognize(frame).held
    assert held is not None and held.artwork_id == "work-0"
    cv2.imwrite(str(tmp_path / "work-0.png"), artwork(6))  # the same name, another picture, another index
    cv2.imwrite(str(tmp_path / "other.png"), artwork(12))
    other = Recognizer(load_catalog(tmp_path).features)
    foreign = Held(held.work, "not-here", held.quad, held.method, held.weight, held.frame_hw)
    with pytest.raises(ValueError, match="not-here"):
        recognizer.confirm(frame, foreign)
    assert other.ids[held.work] != "work-0", other.ids  # the index names another work there
    with pytest.raises(ValueError, match="not this catalog"):
        other.confirm(frame, held)
    with pytest.raises(ValueError, match="not this catalog"):
        other.recheck(frame, held)
    views = (view_with_truth(artwork(seed), 860 + seed, moment=0)[0] for seed in LOW_TEXTURE)
    low = next(r.held for r in map(recognizer.recognize, views) if r.method == "global")
    assert low.rivals, low
    for bad in (1.5, True, -1, len(recognizer.ids), low.work):  # not an index, or the held work its own rival
        with pytest.raises(ValueError, match="not this catalog"):
            recognizer.recheck(frame, replace(low, rivals=(replace(low.rivals[0], work=bad),)))
    for quad in (np.zeros((3, 2)), np.full((4, 2), np.nan)):
        with pytest.raises(ValueError, match="Held.quad"):
            Held(held.work, "work-0", quad, "keypoints", 1.0, (480, 640))
    with pytest.raises(ValueError, match="Held.method"):
        Held(held.work, "work-0", held.quad, "guess", 1.0, (480, 640))
    with pytest.raises(ValueError, match="grain"):  # work-0 is busy, not grainy
        recognizer.confirm(frame, replace(held, method="grain"))
    beyond = Held(held.work, "work-0", held.quad + 2000, "keypoints", 1.0, (480, 640))
    assert recognizer.confirm(frame, beyond).artwork_id is None  # nothing of the place is in the frame
    # A low-texture place off the frame: only the search's first step (keypoints over the frame) can find it.
    r = recognizer.confirm(frame, replace(beyond, method="global"))
    assert r.artwork_id is None or r.method == "keypoints"


def _brighter(frame):
    """The frame under a light an eighth brighter: enough of it changes for the scene not to be still."""
    return cv2.convertScaleAbs(frame, alpha=1.125)


def _flickering(art, view_seed, moment):
    """A moment of a scene under a light that flickers a little (every other moment _brighter): no two
    moments in a row are still, so a held work is confirmed on each."""
    frame = view_with_truth(art, view_seed, moment=moment)[0]
    return _brighter(frame) if moment % 2 else frame


def test_the_tracker_confirms_then_searches_when_the_held_work_is_gone(recognizer):
    """A visit of a work: searched once, then confirmed; another work's view next: the failed confirmation
    is followed by a search, whose answer is the Tracker's."""
    tracker = Tracker(recognizer)
    answers = [tracker.recognize(_flickering(artwork(0), 800, m)) for m in range(4)]
    assert [a.artwork_id for a in answers] == ["work-0"] * 4
    assert not answers[0].confirmed and all(a.confirmed for a in answers[1:])
    assert (tracker.counts.searched, tracker.counts.confirmed, tracker.counts.failed) == (1, 3, 0)
    assert tracker.held is answers[0].held  # the search's place, not a confirmation's (no drift)
    frame = view(artwork(6), 810)
    r = tracker.recognize(frame)
    assert r.artwork_id == recognizer.recognize(frame).artwork_id == "work-6" and not r.confirmed
    assert (tracker.counts.searched, tracker.counts.failed) == (2, 1)
    assert tracker.held is not None and tracker.held.work == recognizer.ids.index("work-6")
    r = tracker.recognize(view(None, 820))  # nobody, no work: nothing held afterwards
    assert r.artwork_id is None and tracker.held is None
    tracker.recognize(frame)
    assert tracker.held is not None
    tracker.forget()
    assert tracker.held is None
    # A frame the confirmation cannot even look at (integers OpenCV will not resize): raised, and nothing held after
    # it, so the next frame is searched rather than the same failure raised on every frame.
    tracker.recognize(frame)
    assert tracker.held is not None
    with pytest.raises(cv2.error):
        tracker.recognize(cv2.resize(frame, (800, 600)).astype(np.int32))
    assert tracker.held is None and not tracker.scenes


def test_a_failed_confirmations_look_at_the_frame_is_the_searchs(recognizer, tmp_path):
    """The Tracker looks at a frame once (Recognizer.sight): what a confirmation or a second acceptance that
    fails worked out there - keypoints, votes, verified works, outlines - the search after it takes as it is,
    and answers as a search of the bare frame does. A Sight is its Recognizer's own."""
    compared = 0
    for seed, view_seed, first in _held_scenes(recognizer, BUSY + LOW_TEXTURE, 900):
        other = (BUSY + LOW_TEXTURE)[(BUSY + LOW_TEXTURE).index(seed) - 1]
        frame = view_with_truth(artwork(other), view_seed, moment=1)[0]
        for check in (recognizer.confirm, recognizer.recheck):
            if check == recognizer.recheck and first.method == "keypoints":
                continue  # a keypoint match is held at once: never accepted a second time
            sight = recognizer.sight(frame)
            if check(sight, first.held).artwork_id is not None:
                continue
            keypoints, quads = sight.keypoints, sight._quads
            shared, bare = recognizer.recognize(sight), recognizer.recognize(frame)
            assert (shared.artwork_id, shared.method, shared.confidence, shared.quad) == \
                (bare.artwork_id, bare.method, bare.confidence, bare.quad), (seed, other, check)
            assert sight.keypoints is keypoints  # worked out once
            # A second acceptance looked for the outlines, which the search takes; a confirmation did not.
            assert (quads is not None) == (check == recognizer.recheck) and (quads is None or sight.quads is quads)
            compared += 1
    assert compared >= 6, compared
    wider = cv2.resize(frame, (1280, 960))
    assert recognizer.recognize(recognizer.sight(wider)).quad == recognizer.recognize(wider).quad
    assert recognizer.sight(frame[:3]) is None  # a strip of pixels: no camera view
    cv2.imwrite(str(tmp_path / "work-1.png"), artwork(1))
    with pytest.raises(ValueError, match="another Recognizer"):
        Recognizer(load_catalog(tmp_path).features).recognize(recognizer.sight(frame))


def test_the_benchmark_tells_what_a_tracker_did_with_each_frame(recognizer):
    """bench_recognition.py --visits splits a Tracker's time by what it did with each frame, from its counts
    before and after the frame: a search with nothing held, a confirmation, a still frame, a search after a
    failed confirmation, a periodic search."""
    did = benchmark_module("bench_recognition")._tracker_did
    tracker = Tracker(recognizer, search_every=2)
    frames = [(_flickering(artwork(0), 800, m), "catalog work") for m in range(4)] + [(view(None, 820), "empty wall")]
    frames.insert(2, (frames[1][0], "catalog work"))  # the same frame again: a still scene
    told = []
    for frame, truth in frames:
        held, before = tracker.held is not None, replace(tracker.counts)
        told.append(did(tracker.recognize(frame), held, before, tracker.counts, truth))
    assert told == ["searched, nothing held: catalog work, found a work", "confirmed",
                    "still (a scene checked a moment ago)", "searched anyway (search_every)", "confirmed",
                    "searched after a failed confirmation"], told


def test_a_work_the_low_texture_decision_accepted_once_is_accepted_again_before_it_is_confirmed(recognizer):
    """A confirmation of a low-texture work weighs fewer rivals than a search, so one search's acceptance is not
    held: the next frame (a still one as well) decides it again where its outline is found anew
    (Recognizer.recheck: the first search's other pairs beside it, as sure as a confirmation), or, where that
    does not accept it, is searched; only a work accepted twice is confirmed. The second acceptance needs the
    outline found again near the held one: the held quad on a frame without it is none. A keypoint match is
    held at once (its confirmation is the search's own keypoint check)."""
    seen = again = 0
    for seed in LOW_TEXTURE * 2:
        view_seed = 860 + seen + seed
        frames = [_flickering(artwork(seed), view_seed, m) for m in range(2)]
        alone = recognizer.recognize(frames[0])
        if alone.method != "global":
            continue
        tracker = Tracker(recognizer)
        first = tracker.recognize(frames[0])
        assert first.artwork_id == alone.artwork_id and not tracker.trusted
        second = tracker.recognize(frames[0])  # the same frame again: still, but decided again, not given its answer
        assert not second.still and tracker.counts.rechecked == 1, tracker.counts
        # Accepted again where its outline is, or else by a second search.
        assert tracker.counts.searched == (1 if second.confirmed else 2), (second, tracker.counts)
        assert second.artwork_id == alone.artwork_id and tracker.trusted
        again += second.confirmed
        third = tracker.recognize(frames[1])
        assert tracker.counts.confirmed + tracker.counts.failed == 1 + second.confirmed, tracker.counts
        assert third.artwork_id in (None, first.artwork_id)
        # A work the second acceptance and the search do not accept is not held: the next frame is searched.
        tracker = Tracker(recognizer)
        tracker.recognize(frames[0])
        wall = view_with_truth(None, view_seed, moment=1)[0]
        assert recognizer.recheck(wall, first.held).artwork_id is None  # no outline near the held one
        tracker.recognize(wall)  # an empty wall: none
        assert tracker.held is None and not tracker.trusted
        assert tracker.counts.rechecked == 1 and tracker.counts.failed == 1 and tracker.counts.searched == 2
        seen += 1
    assert seen >= 3 and again >= 1, (seen, again)
    busy = Tracker(recognizer)
    assert busy.recognize(view(artwork(0), 870)).method == "keypoints" and busy.trusted


def test_the_tracker_searches_anyway_after_so_many_confirmations(recognizer):
    """A confirmation checks only its own work: every `search_every` confirmations the frame is searched."""
    tracker = Tracker(recognizer, search_every=2)
    answers = [tracker.recognize(_flickering(artwork(6), 830, m)) for m in range(6)]
    assert [a.artwork_id for a in answers] == ["work-6"] * 6
    assert [a.confirmed for a in answers] == [False, True, True, False, True, True]
    assert (tracker.counts.searched, tracker.counts.confirmed, tracker.counts.failed) == (2, 4, 0)
    with pytest.raises(ValueError, match="search_every"):
        Tracker(recognizer, search_every=-1)
    always = Tracker(recognizer, search_every=0)  # camera.search_every 0: every frame searched
    frame = view_with_truth(artwork(6), 830, moment=0)[0]
    assert not any(always.recognize(frame).confirmed or always.recognize(frame).still for _ in range(2))
    assert (always.counts.searched, always.counts.confirmed, always.counts.still) == (4, 0, 0)


def test_a_grainy_work_is_confirmed_by_its_grain_and_another_texture_is_not(tmp_path):
    """A faint noise texture, recognised by its grain, is confirmed by its grain at the held place; a
    like-coloured texture of another grain at that same place is not."""
    for seed in (1, 2):
        cv2.imwrite(str(tmp_path / f"faint-{seed}.png"), faint(seed))
    cv2.imwrite(str(tmp_path / "work-1.png"), artwork(1))
    recognizer = Recognizer(load_catalog(tmp_path).features)
    confirmed = tried = 0
    for k in range(4):
        first = recognizer.recognize(view_with_truth(faint(1), 300 + k, moment=0)[0])
        if first.method != "grain":
            continue
        for moment in (1, 2):
            tried += 1
            r = recognizer.confirm(view_with_truth(faint(1), 300 + k, moment=moment)[0], first.held)
            assert r.artwork_id in (None, "faint-1")
            confirmed += r.artwork_id == "faint-1" and r.method == "grain" and r.confirmed
            # The other texture where this one hung (the same pose and light, another grain): not it.
            other = view_with_truth(faint(2), 300 + k, moment=moment)[0]
            assert recognizer.confirm(other, first.held).artwork_id is None
    assert tried >= 4 and confirmed >= 0.75 * tried, (confirmed, tried)


def test_a_low_texture_confirmation_weighs_the_searchs_rival_and_needs_the_verifier_surer(recognizer):
    """The search's best rival counts in the verifier's margin: a rival worth more than the held work makes
    the confirmation none where, without it, the held work is confirmed; and a confirmation threshold below
    the search's is refused (a confirmation is never looser than the search)."""
    checked = 0
    for seed, view_seed, first in _held_scenes(recognizer, LOW_TEXTURE * 2, 900):
        if first.method != "global" or first.held.rival is None:
            continue
        frame = view_with_truth(artwork(seed), view_seed, moment=1)[0]
        alone = recognizer.confirm(frame, replace(first.held, rivals=()))
        if alone.artwork_id is None or alone.method != "global":
            continue
        stronger = replace(first.held.rival, value=first.held.rival.value + 5.0)  # far ahead: a negative margin
        ahead = replace(first.held, rivals=(stronger,) + first.held.rivals[1:])
        assert recognizer.confirm(frame, ahead).artwork_id is None, seed
        checked += 1
    assert checked >= 3
    with pytest.raises(ValueError, match="confirm_threshold"):
        RecognizerSettings(confirm_threshold=0.5)


def test_a_keypoint_confirmation_sees_the_keypoints_the_search_sees(tmp_path):
    """A textured work draws most of a frame's strongest corners: a confirmation takes the search's own
    keypoints near the held place, so wherever the search verifies the held work by keypoints, so does the
    confirmation (renderer 3's work 94 through a visit; ORB run on the part alone at the part's share of
    the frame's features, as until 2026-12-06, confirmed it on none of these frames)."""
    from installation.camera import synthetic3
    for i in (94, 80, 7, 30, 31, 41):
        cv2.imwrite(str(tmp_path / f"work-{i:04d}.png"), synthetic3.catalog_photo3(synthetic3.artwork3(i), i))
    recognizer = Recognizer(load_catalog(tmp_path).features)
    art, scene = synthetic3.artwork3(94), synthetic3.Scene3(visitor_chance=0.5)
    frames = [synthetic3.render_view3(art, 280_026, scene, moment=m)[0] for m in range(10)]
    found = [(f, r) for f in frames if (r := recognizer.recognize(f)).method == "keypoints"]
    assert len(found) >= 6 and {r.artwork_id for _, r in found} == {"work-0094"}, found
    held = found[0][1].held
    for frame, r in found:
        c = recognizer.confirm(frame, held)
        assert c.artwork_id == "work-0094" and c.confirmed and c.method == "keypoints", (r, c)


def test_a_near_thing_rejection_is_searched_again_before_its_scene_is_still(recognizer):
    """A rejection within STILL_DOUBT of the verifier's threshold makes a scene that is searched again (its noise and
    light may decide it) until NEAR_SEARCHES of its frames in a row came out near things, and then is still (an
    unknown work that stays a near thing is not searched on every frame of a long stay); a clear rejection is
    still at once. A real catalog whose verifier is less sure (its bias lowered) makes both on real views: colour
    field work-1 rejected just under the threshold, work-8 well under it."""
    s = recognizer.s
    unsure = Recognizer(recognizer.features, replace(s, verifier=replace(s.verifier, bias=s.verifier.bias - 9)))
    threshold = s.verifier.threshold
    calm = ViewSettings(occlusion=0.0)
    for seed, near in ((1, True), (8, False)):
        frame = view_with_truth(artwork(seed), 860, calm, moment=0)[0]
        tracker = Tracker(unsure, search_every=NEAR_SEARCHES + 5)
        answers = [tracker.recognize(frame) for _ in range(NEAR_SEARCHES + 2)]  # the very same frame: still if any is
        assert all(a.artwork_id is None for a in answers), (seed, answers)
        c = answers[0].confidence
        assert (threshold - STILL_DOUBT <= c < threshold) if near else (c < threshold - STILL_DOUBT), (seed, c)
        searched = NEAR_SEARCHES if near else 1
        assert [a.still for a in answers] == [False] * searched + [True] * (len(answers) - searched), seed
        assert tracker.counts.searched == searched and len(tracker.scenes) == 1
        assert tracker.scenes[-1].near_things == (NEAR_SEARCHES if near else 0)
    # The same scene's periodic search deciding it a near thing: work-1's view rejected clearly (a verifier surer
    # still) and still, then - the verifier less sure - searched again from the periodic search on.
    frame = view_with_truth(artwork(1), 860, calm, moment=0)[0]
    surer = Recognizer(recognizer.features, replace(s, verifier=replace(s.verifier, bias=s.verifier.bias - 12)))
    tracker = Tracker(surer, search_every=2)
    assert [tracker.recognize(frame).still for _ in range(3)] == [False, True, True]
    tracker.recognizer = unsure
    assert [tracker.recognize(frame).still for _ in range(3)] == [False, False, False]
    assert [sc.near_things for sc in tracker.scenes] == [3]


def test_keypoint_inliers_in_one_corner_of_a_work_do_not_spread_across_it():
    """Guided matching starts only from inliers across the work (GUIDE_SPREAD): a shared detail's few
    inliers, all in one corner, span little of it."""
    size = (400, 300)
    corner = np.float32([[10, 10], [30, 12], [25, 35], [12, 28]])
    across = np.float32([[10, 10], [380, 20], [200, 280], [30, 250]])
    assert _spread(corner, size) < GUIDE_SPREAD <= _spread(across, size)
    assert _spread(corner[:1], size) == 0.0


def test_a_still_scene_keeps_the_answer_of_a_frame_checked_a_moment_ago(recognizer):
    """An empty wall: searched once, then its next moments (noise, blur, JPEG drawn anew) get that answer
    unchecked, and a search again every `search_every` frames. A visitor walking in, a work hung on that
    wall and a frame of another size are changes: searched, and the work found; the work's still moments
    keep it unconfirmed, a changed one is confirmed."""
    calm = ViewSettings(occlusion=0.0)
    tracker = Tracker(recognizer, search_every=3)
    answers = [tracker.recognize(view_with_truth(None, 850, calm, moment=m)[0]) for m in range(6)]
    assert all(a.artwork_id is None for a in answers)
    assert [a.still for a in answers] == [False, True, True, True, False, True]
    assert (tracker.counts.searched, tracker.counts.still) == (2, 4)
    assert all(a.seconds < answers[0].seconds for a in answers[1:4])  # no search: a small grey copy compared
    assert len(tracker.scenes) == 1  # the periodic search's scene in place of the first (the same wall, answer)
    walked_in = tracker.recognize(view_with_truth(None, 850, ViewSettings(occlusion=1.0), moment=7)[0])
    assert not walked_in.still and tracker.counts.searched == 3
    # The visitor left: the scene of the frames before the visitor again (kept: Tracker.scenes), not a search.
    left = tracker.recognize(view_with_truth(None, 850, calm, moment=8)[0])
    assert left.still and left.artwork_id is None and tracker.counts.recalled == 1 and tracker.counts.searched == 3
    assert tracker.recognize(view_with_truth(None, 850, calm, moment=9)[0]).still
    # The same wall, seed and light with a work hung on it: searched, and the work found.
    on_wall = view_with_truth(artwork(6), 850, calm, moment=10)[0]
    hung = tracker.recognize(on_wall)
    assert hung.artwork_id == "work-6" and not hung.still and tracker.held is not None
    kept = tracker.recognize(on_wall)  # the camera's next frame of the same still scene
    assert kept.artwork_id == "work-6" and kept.still and not kept.confirmed  # the search's answer, unchecked
    brighter = _brighter(on_wall)
    confirmed = tracker.recognize(brighter)  # the light changed a little: a change, so the work is checked
    assert confirmed.artwork_id == "work-6" and confirmed.confirmed and not confirmed.still
    again = tracker.recognize(brighter)
    assert again.still and again.confirmed  # the confirmation's answer, unchecked
    frame = view_with_truth(None, 850, calm, moment=11)[0]
    tracker.recognize(frame)
    assert tracker.recognize(frame).still
    # The work taken down (searched: none held), then the wall with it again: that earlier scene names a work
    # no longer held, so it is not taken - searched, and the work found again.
    searched = tracker.counts.searched
    back = tracker.recognize(on_wall)
    assert back.artwork_id == "work-6" and not back.still and tracker.counts.searched == searched + 1
    emptied = tracker.recognize(frame)  # taken down again: the empty wall's scene names none, work-6 is held
    assert emptied.artwork_id is None and not emptied.still and tracker.counts.searched == searched + 2
    assert tracker.recognize(frame).still
    tracker.forget()  # a reconnected camera: the scene known before is not this source's
    assert not tracker.recognize(frame).still
    # A small change (a 16x16 px patch: a few cells) leaves the scene still; a 64x64 px one (a face stepping in at the
    # side, 64 cells) is searched.
    for side, still in ((16, True), (64, False)):
        changed = frame.copy()
        changed[200:200 + side, 300:300 + side] = cv2.add(changed[200:200 + side, 300:300 + side], 25)
        assert tracker.recognize(changed).still is still, side
    # The same picture at another size (another camera mode, a new source): searched; and back at the first size,
    # searched again (a new size ends the scenes kept: what follows is not known to be what they saw).
    tracker.recognize(frame)
    assert not tracker.recognize(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)).still
    assert not tracker.recognize(frame).still and tracker.recognize(frame).still
    # Frames the search answers none without looking (empty, not 8-bit BGR) are searched every time, as alone.
    for odd in (np.zeros((0, 0, 3), np.uint8), np.zeros((8, 640, 1), np.uint8), frame.astype(np.float32),
                cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)):
        tracker.recognize(frame)  # the scene known: the frame's own
        try:
            alone = recognizer.recognize(odd).artwork_id
        except Exception as e:  # the search refuses it: so must the Tracker, not answer from a still scene
            with pytest.raises(type(e)):
                tracker.recognize(odd)
            continue
        got = [tracker.recognize(odd) for _ in range(2)]
        assert [(g.artwork_id, g.still) for g in got] == [(alone, False)] * 2, odd.shape
    # camera.search_every 0: every frame searched, none still.
    always = Tracker(recognizer, search_every=0)
    assert not any(always.recognize(view_with_truth(None, 850, calm, moment=m)[0]).still for m in range(3))
    assert (always.counts.searched, always.counts.still) == (3, 0)
