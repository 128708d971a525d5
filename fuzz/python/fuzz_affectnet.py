"""atheris target: the AffectNet CSV loader (edge_affect.data.loaders.affectnet).

The input is the whole CSV file. Every outcome must be a Dataset whose
records have a box, 68 finite landmarks, valence/arousal in [-1, 1] and an
image path inside the images root, or a DatasetError naming file, line and
field.
"""

from __future__ import annotations

import math

from _harness import main, scratch_dir

_PATH: list = []
HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,"
          "arousal\n")


def check(data: bytes) -> None:
    import numpy as np

    from edge_affect.data.loaders import load_affectnet

    if not _PATH:
        _PATH.append(scratch_dir("affectnet") / "training.csv")
    path = _PATH[0]
    path.write_bytes(data)
    root = path.parent / "Manually_Annotated_Images"
    for record in load_affectnet(path, images_root=root):
        assert record.image_path.resolve().is_relative_to(root.resolve())
        assert record.landmarks.shape == (68, 2) and np.all(np.isfinite(record.landmarks))
        assert record.box[2] >= 1 and record.box[3] >= 1
        assert all(math.isfinite(v) and -1 <= v <= 1 for v in (record.labels.valence, record.labels.arousal))


def seeds():
    marks = ";".join(f"{10 + i % 40}.5" for i in range(136))
    yield (HEADER + f"1/a.jpg,10,12,80,90,{marks},1,0.5,-0.25\n"
                    f"2/b.png,0,0,5,5,{marks},7,-1,1\n2/c.png,0,0,5,5,{marks},9,0,0\n").encode()
    yield (HEADER + f"1/a.jpg,10,12,80,90,{marks},3,-2,-2\n").encode()


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.loaders"])
