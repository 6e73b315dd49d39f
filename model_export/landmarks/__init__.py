"""MediaPipe's hand models for the box: fetched from the pinned wheel, folded, quantised, measured."""
