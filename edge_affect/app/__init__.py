"""The real-time app behind `edge-affect predict` (the Acting Mirror and the
live valence/arousal view): frames from an image, video or camera -> face
detection and tracking -> the model's reference preprocessing -> a shipped
bundle run in its runtime (or eager torch) -> per-face smoothing -> overlay,
JSON lines, timeline.

    sources     image / video / camera frames
    detect      Haar face boxes (largest first), optional dlib 68 landmarks
    track       stable ids per face and EMA smoothing per track
    backends    torch | executorch | onnx | c, bundles built once and cached (sha256-verified)
    c_runtime   the Apollo3 bundle's C model as a host library (the `c` backend)
    pipeline    the frame loop, per-stage timings, JSON records
    draw        boxes, labels, valence/arousal circumplex
    timeline    person 0's outputs over time as a PNG
    scenes      frames with known real faces (benchmark, tests, README samples)
"""
