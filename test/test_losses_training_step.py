"""One joint training step of the real-time system: every part receives a gradient."""

import math

import torch

from tsjnet_ros.core.model.checkpoint import build_system
from tsjnet_ros.core.model.losses import JointLoss


def test_joint_step_reaches_fusion_and_heads():
    system = build_system('tsjnet_rt', seed=0).train()
    g = torch.Generator().manual_seed(0)
    ir, vis = torch.rand(2, 1, 64, 64, generator=g), torch.rand(2, 1, 64, 64, generator=g)
    labels = torch.randint(0, 9, (2, 64, 64), generator=g)
    labels[:, :8] = 255  # an unlabelled band
    targets = [
        {'boxes': torch.tensor([[8.0, 8.0, 40.0, 56.0]]), 'labels': torch.tensor([0])},
        {'boxes': torch.zeros(0, 4), 'labels': torch.zeros(0, dtype=torch.long)},
    ]
    out = system(ir, vis, reconstruct=True)
    terms = JointLoss()(out, ir, vis, labels, targets)
    assert {'reconstruction', 'diversity', 'segmentation', 'detection'} <= set(terms)
    assert all(math.isfinite(v.item()) for v in terms.values())
    terms['total'].backward()
    for part in (
        system.fusion,
        system.heads.backbone,
        system.heads.segmentation,
        system.heads.detection,
    ):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert any(gr is not None and gr.abs().sum() > 0 for gr in grads)
    # the task losses alone must reach the fusion network through the fused image
    system.zero_grad()
    out = system(ir, vis)
    task_only = JointLoss()(out, ir, vis, labels, targets)
    (task_only['segmentation'] + task_only['detection']).backward()
    fusion_grads = [p.grad for p in system.fusion.parameters() if p.grad is not None]
    assert fusion_grads and any(gr.abs().sum() > 0 for gr in fusion_grads)
