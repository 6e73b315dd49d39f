"""MediaPipe hand models for the box: from the pinned wheel, folded, quantised, measured."""
