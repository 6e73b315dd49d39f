"""Two-hand landmark tracking on video frames: palm detection, hand regions, landmarks.

Per frame, each tracked hand's region comes from its landmarks in the previous frame (as in
MediaPipe's hand tracking graph); the landmark model runs on the region warped upright to
224 x 224 and its landmarks are projected back into the image. The palm detector runs only
when no hand is tracked, when a hand has just been lost, or, while fewer than two hands are
tracked, every ``redetect_every`` frames. New palms that overlap a tracked hand's region
are dropped, as MediaPipe's association step does.

Landmarks are not smoothed: the screening scores the motion itself, and a smoothing filter
would damp exactly the small, fast irregularities it looks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from device.vision import anchors, detection, handedness, roi
from device.vision.models import LandmarkModels

N_LANDMARKS = 21
NORMALIZE_Z = 0.4  # hand_landmark_cpu.pbtxt: z is divided by the input width and by 0.4
ASSOCIATION_IOU = 0.5  # a new palm overlapping a tracked region this much is the same hand
DUPLICATE_IOU = 0.5  # two tracks whose regions overlap this much follow the same hand
DUPLICATE_LANDMARKS = 0.2  # ... or whose landmarks are this close (median, / hand size)
REDETECT_S = 0.15  # palm search interval while fewer than two hands are tracked


def redetect_interval(fps: float) -> int:
    """Frames between palm searches at ``fps`` while fewer than two hands are tracked."""
    return max(1, round(REDETECT_S * fps))


@dataclass
class FrameHands:
    """One frame's result: hand axis 0 = the person's left, 1 = right (as in take files)."""

    landmarks: np.ndarray  # (2, 21, 3) float32 pixels; z relative, scaled like x; NaN if absent
    presence: np.ndarray  # (2,) landmark model's hand presence score, 0 if absent
    palm_detection_ran: bool


@dataclass
class _Track:
    rect: roi.RotatedRect
    evidence: float = 0.0  # summed handedness.chirality
    landmarks: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    presence: float = 0.0


def _same_hand(a: _Track, b: _Track) -> bool:
    if a.rect.axis_aligned_iou(b.rect) > DUPLICATE_IOU:
        return True
    size = np.ptp(a.landmarks[:, :2], axis=0).max()
    # median: two fits of one hand can disagree on the wrist and knuckles, not on the fingers
    apart = np.median(np.linalg.norm(a.landmarks[:, :2] - b.landmarks[:, :2], axis=1))
    return bool(apart < DUPLICATE_LANDMARKS * size)


class HandTracker:
    """Feed RGB frames in order; get each frame's two hands."""

    def __init__(self, models: LandmarkModels, min_detection_score: float = 0.5,
                 min_presence: float = 0.5, redetect_every: int = 10,
                 max_hands: int = 2) -> None:
        if redetect_every < 1:
            raise ValueError(f"redetect_every must be at least 1, got {redetect_every}")
        self.models = models
        self.min_presence = min_presence
        self.redetect_every = redetect_every
        self.max_hands = max_hands
        self.decode_options = detection.DecodeOptions(min_score=min_detection_score)
        width, height = models.palm.input_size
        if width != height:
            raise ValueError(f"{models.palm.path}: palm detector input must be square, "
                             f"got {width} x {height}")
        self.anchors = anchors.generate(anchors.AnchorOptions(
            input_width=width, input_height=height, strides=anchors.PALM_ANCHORS.strides))
        self.landmark_size = models.landmark.input_size[0]
        self._tracks: list[_Track] = []
        self._since_detection = 0
        self._lost = False

    def reset(self) -> None:
        self._tracks = []
        self._since_detection = 0
        self._lost = False

    def detect_palms(self, image: np.ndarray) -> list[detection.Detection]:
        """Palms in an RGB uint8 image, best first, coordinates normalised to the image."""
        tensor, padding = roi.letterbox(image, self.models.palm.input_size[0])
        raw_boxes, raw_scores = self.models.palm(tensor)
        found = detection.weighted_nms(detection.decode(raw_boxes, raw_scores, self.anchors,
                                                        self.decode_options))
        return [detection.remove_letterbox(d, padding) for d in found]

    def landmarks_in(self, image: np.ndarray, rect: roi.RotatedRect
                     ) -> tuple[np.ndarray, float]:
        """Landmarks (21, 3) in image pixels and the presence score for one hand region."""
        size = self.landmark_size
        raw, presence, _handedness, _world = self.models.landmark(
            roi.hand_input(image, rect, size))
        points = raw.reshape(N_LANDMARKS, 3).astype(np.float64)
        points[:, 2] /= NORMALIZE_Z
        return roi.project(points, rect, size), float(presence.reshape(-1)[0])

    def _should_detect(self) -> bool:
        if len(self._tracks) >= self.max_hands:
            return False
        return not self._tracks or self._lost or self._since_detection >= self.redetect_every

    def process(self, image: np.ndarray) -> FrameHands:
        """Track hands in one RGB uint8 frame (H, W, 3)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} "
                             f"{image.shape}")
        height, width = image.shape[:2]
        self._since_detection += 1
        ran = self._should_detect()
        tracks = list(self._tracks)
        if ran:
            self._since_detection = 0
            for palm in self.detect_palms(image)[: self.max_hands]:
                rect = roi.from_detection(palm, width, height)
                if all(rect.axis_aligned_iou(t.rect) <= ASSOCIATION_IOU for t in tracks) \
                        and len(tracks) < self.max_hands:
                    tracks.append(_Track(rect=rect))
        kept: list[_Track] = []
        for track in tracks:
            points, presence = self.landmarks_in(image, track.rect)
            if presence < self.min_presence or not np.all(np.isfinite(points)):
                continue
            track.landmarks, track.presence = points, presence
            track.evidence += handedness.chirality(points)
            track.rect = roi.from_landmarks(points)
            kept.append(track)
        kept = self._drop_duplicates(kept)
        self._lost = len(kept) < len(self._tracks)
        self._tracks = kept
        return self._frame_result(kept, ran)

    @staticmethod
    def _drop_duplicates(tracks: list[_Track]) -> list[_Track]:
        """Two tracks on one hand: keep the more confident.

        Same hand when the regions overlap (IoU > 0.5, as MediaPipe) or when most landmarks
        nearly coincide (a palm found again, fitted with another region); two real hands
        cannot put their fingers in the same places.
        """
        ordered = sorted(tracks, key=lambda t: t.presence, reverse=True)
        unique: list[_Track] = []
        for track in ordered:
            if not any(_same_hand(track, kept) for kept in unique):
                unique.append(track)
        return unique

    def _frame_result(self, tracks: list[_Track], ran: bool) -> FrameHands:
        landmarks = np.full((2, N_LANDMARKS, 3), np.nan, dtype=np.float32)
        presence = np.zeros(2, dtype=np.float32)
        sides = handedness.assign([float(t.landmarks[:, 0].mean()) for t in tracks],
                                  [t.evidence for t in tracks])
        for track, side in zip(tracks, sides, strict=True):
            landmarks[side] = track.landmarks
            presence[side] = track.presence
        return FrameHands(landmarks=landmarks, presence=presence, palm_detection_ran=ran)
