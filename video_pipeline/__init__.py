"""Key frames, events and a timeline summary from recorder footage (ffmpeg + OpenCV).

This package knows nothing of the evidence service, its database or the chain: it takes a
media file path plus options and writes plain results.
"""
