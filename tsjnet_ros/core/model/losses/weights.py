"""Loss weights of the joint objective L_all = L_MFF + L_Det + L_Seg.

Defaults are the TSJNet reference values: intensity 20, gradient 20, SSIM 10, diversity
0.1, reconstruction 6 (visible) + 1 (infrared); the task losses enter with weight 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class LossWeights:
    """Multipliers of each term; 0 switches a term off."""

    intensity: float = 20.0
    gradient: float = 20.0
    ssim: float = 10.0
    fidelity: float = 0.0  # two-source MSE (PSNR); not in the paper's objective
    diversity: float = 0.1
    reconstruction_visible: float = 6.0
    reconstruction_ir: float = 1.0
    segmentation: float = 1.0
    detection: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(
                    f'loss weight {f.name} must be a number, got {type(value).__name__}'
                )
            if value < 0:
                raise ValueError(f'loss weight {f.name} must be >= 0, got {value}')

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LossWeights:
        """Build from a (partial) mapping, e.g. a YAML training config; unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f'unknown loss weight(s): {", ".join(unknown)}; known: {", ".join(sorted(known))}'
            )
        return cls(**{k: float(v) for k, v in data.items()})
