"""The paper's camera and MediaPipe's view of the hands.

A pinhole camera about 1 m above the keys looks straight down with C4 near the image
centre: 1280x720 pixels, 78 degrees horizontal field of view (about 1.3 mm per pixel at
the keys), image x from low to high pitch, the player at the bottom of the image. Landmarks
come out as MediaPipe Hands gives them: x and y normalised to the image width and height,
z the depth relative to the wrist in x's scale, negative towards the camera.

The tracker is not perfect: every landmark jitters from frame to frame (temporally
correlated, more at the fingertips and in depth, more in fast motion), the whole hand
box wobbles, and now and then a hand is lost for a few frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model_export.synth.person import Camera

IMAGE_SIZE = (1280, 720)
FIELD_OF_VIEW_DEG = 78.0
FOCAL_PX = IMAGE_SIZE[0] / 2 / np.tan(np.radians(FIELD_OF_VIEW_DEG) / 2)
LOOK_AT_Y = 0.0  # the front edge of the white keys is under the image centre
TIP_NOISE_GAIN = np.ones(21)
TIP_NOISE_GAIN[[4, 8, 12, 16, 20]] = 1.3
TIP_NOISE_GAIN[[3, 7, 11, 15, 19]] = 1.15


def _mount_rotation(camera: Camera) -> np.ndarray:
    """World to camera rotation: x right (high pitch), y down the image (towards the
    player), z into the scene (down), then the mount's small roll and tilts."""
    base = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    a, b = camera.tilt
    c = camera.roll
    tilt_x = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    tilt_y = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    roll = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return roll @ tilt_y @ tilt_x @ base


def project(world: np.ndarray, camera: Camera) -> np.ndarray:
    """(..., 21, 3) world metres -> (..., 21, 3) MediaPipe coordinates."""
    origin = np.array([camera.offset[0], LOOK_AT_Y + camera.offset[1], camera.height])
    cam = (world - origin) @ _mount_rotation(camera).T
    width, height = IMAGE_SIZE
    u = FOCAL_PX * cam[..., 0] / cam[..., 2] + width / 2
    v = FOCAL_PX * cam[..., 1] / cam[..., 2] + height / 2
    wrist_depth = cam[..., :1, 2]
    z = (cam[..., 2] - wrist_depth) * FOCAL_PX / wrist_depth / width
    return np.stack([u / width, v / height, z], axis=-1)


@dataclass(frozen=True)
class Tracker:
    """How well the landmark model follows the hands in one take."""

    jitter: float  # SD of per-landmark jitter, fraction of the hand's size in the image
    correlation: float  # frame-to-frame correlation of that jitter
    box_jitter: float  # SD of the whole hand's wobble, fraction of hand size
    depth_gain: float  # depth jitter relative to x/y jitter
    miss_rate: float  # chance per frame that a lost spell starts
    miss_length: float  # mean length of a lost spell, frames

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Tracker:
        return cls(
            jitter=rng.uniform(0.003, 0.0075), correlation=rng.uniform(0.3, 0.6),
            box_jitter=rng.uniform(0.0015, 0.004), depth_gain=rng.uniform(1.5, 3.0),
            miss_rate=rng.choice([0.0, rng.uniform(0.0005, 0.006)], p=[0.4, 0.6]),
            miss_length=rng.uniform(1.5, 6.0),
        )


def _ar1(shape: tuple[int, ...], rho: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 0."""
    white = rng.standard_normal(shape)
    out = np.empty(shape)
    out[0] = white[0]
    scale = np.sqrt(1.0 - rho * rho)
    for i in range(1, shape[0]):
        out[i] = rho * out[i - 1] + scale * white[i]
    return out


def observe(image: np.ndarray, tracker: Tracker, rng: np.random.Generator) -> np.ndarray:
    """Add tracker noise and lost frames to one hand's (T, 21, 3) image landmarks."""
    n = image.shape[0]
    aspect = np.array([1.0, IMAGE_SIZE[0] / IMAGE_SIZE[1], 1.0])  # x units per y unit
    pixels = image[..., :2] * aspect[:2]
    size = np.linalg.norm(pixels[:, 9] - pixels[:, 0], axis=-1)[:, None, None]  # wrist-MCP3
    speed = np.zeros((n, 21))
    speed[1:] = np.linalg.norm(np.diff(pixels, axis=0), axis=-1) / size[1:, :, 0]
    blur = 1.0 + 2.0 * np.clip(speed, 0.0, 0.5)  # fast motion: less precise
    noise = _ar1((n, 21, 3), tracker.correlation, rng) * tracker.jitter
    noise *= (TIP_NOISE_GAIN[None, :] * blur)[..., None]
    noise[..., 2] *= tracker.depth_gain
    noise += _ar1((n, 1, 3), 0.7, rng) * tracker.box_jitter
    out = image + noise * size / aspect
    lost = np.zeros(n, dtype=bool)
    i = 0
    starts = rng.random(n) < tracker.miss_rate
    while i < n:
        if starts[i]:
            span = 1 + rng.poisson(tracker.miss_length - 1)
            lost[i:i + span] = True
            i += span
        i += 1
    out[lost] = np.nan
    return out
