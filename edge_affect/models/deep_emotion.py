"""Deep-Emotion (Minaee et al., seed 5): an attentional CNN with a spatial transformer.

48x48 gray in, 7 expression logits out. The paper gives the structure, not
the widths; these follow its Fig. 3 and the public reproductions:

* localisation net: conv 7x7 (8) -> max-pool 2 -> ReLU -> conv 5x5 (10)
  -> max-pool 2 -> ReLU -> FC 32 -> ReLU -> FC 6, the 2x3 affine theta;
* the input is resampled on ``affine_grid(theta)`` (bilinear,
  ``grid_sample``) before the feature path;
* feature path: conv 3x3 (10) x2 -> max-pool 2 -> ReLU -> conv 3x3 (10) x2
  -> max-pool 2 -> ReLU -> dropout -> FC 50 -> ReLU -> FC 7.

Loss = cross-entropy + lambda * ||W_fc||^2 over the last two FC layers
(:func:`l2_penalty`). Weights start from N(0, 0.05) as in the paper; the
theta regressor alone starts at zero weights and the identity bias, the
spatial-transformer convention without which the first warps are random
crops and training stalls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIZE = 48
INIT_STD = 0.05


def base_grid(height: int, width: int) -> torch.Tensor:
    """(H, W, 3): normalised pixel centres (x, y, 1), as affine_grid samples them."""
    ys = (torch.arange(height, dtype=torch.float32) * 2 + 1) / height - 1
    xs = (torch.arange(width, dtype=torch.float32) * 2 + 1) / width - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y, torch.ones_like(grid_x)], dim=-1)


class DeepEmotion(nn.Module):
    def __init__(self, num_classes: int = 7, in_channels: int = 1, input_size: int = INPUT_SIZE,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.localization = nn.Sequential(
            nn.Conv2d(in_channels, 8, 7), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(8, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
        )
        loc = ((input_size - 6) // 2 - 4) // 2
        self.theta = nn.Sequential(
            nn.Flatten(), nn.Linear(10 * loc * loc, 32), nn.ReLU(), nn.Linear(32, 6),
        )
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 10, 3), nn.Conv2d(10, 10, 3), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(10, 10, 3), nn.Conv2d(10, 10, 3), nn.MaxPool2d(2), nn.ReLU(),
        )
        feat = ((input_size - 4) // 2 - 4) // 2
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(10 * feat * feat, 50)
        self.fc2 = nn.Linear(50, num_classes)
        # (x, y, 1) of every output pixel centre in [-1, 1] (align_corners=False); not saved in checkpoints.
        self.register_buffer("base_grid", base_grid(input_size, input_size), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, INIT_STD)
                nn.init.zeros_(m.bias)
        regressor = self.theta[-1]
        nn.init.zeros_(regressor.weight)
        with torch.no_grad():
            regressor.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def warp(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial transformer: x resampled on the regressed affine grid.

        ``affine_grid`` is written out as a matmul with a constant base grid
        (what it computes for a fixed input size): ONNX has AffineGrid only
        from opset 20, GridSample from 16."""
        theta = self.theta(self.localization(x)).view(-1, 2, 3)
        h, w = self.base_grid.shape[:2]
        grid = torch.matmul(self.base_grid.view(1, h * w, 3), theta.transpose(1, 2)).view(-1, h, w, 2)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.warp(x)).flatten(1)
        if self.training:  # absent from exported (eval) graphs: device runtimes have no no-op dropout
            x = self.dropout(x)
        return self.fc2(F.relu(self.fc1(x)))

    def fc_layers(self) -> tuple[nn.Linear, nn.Linear]:
        """The last two FC layers, whose weights the paper's L2 term covers."""
        return self.fc1, self.fc2


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """||W_fc||^2: the sum of squared weights (not biases) of the last two FC layers."""
    if not hasattr(model, "fc_layers"):
        raise TypeError(f"{type(model).__name__} has no fc_layers(); the Deep-Emotion L2 term needs them")
    return sum(layer.weight.pow(2).sum() for layer in model.fc_layers())


def deep_emotion(num_classes: int = 7) -> DeepEmotion:
    """Deep-Emotion attentional CNN (48x48 gray, spatial transformer, 7 classes)."""
    return DeepEmotion(num_classes=num_classes)


__all__ = ["DeepEmotion", "INIT_STD", "deep_emotion", "l2_penalty"]
