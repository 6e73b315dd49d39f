"""On-box vision: hand landmarks from video with MediaPipe's palm and landmark models on LiteRT.

The graph logic (anchors, decoding, non-maximum suppression, hand regions, tracking) is ours,
written from MediaPipe's calculator sources; only the ``.tflite`` models are MediaPipe's.
"""
