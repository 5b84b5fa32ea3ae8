"""Tiny DenseDataSample batches and feature lists for the head tests."""
import torch
import torch.nn.functional as F

from unidense.structures import DenseDataSample


def make_samples(batch=2, size=(32, 48), num_classes=5, seed=0):
    """Samples with every target: depth (+valid), unit normals (+valid,
    the top rows invalid), semantic / part labels with some 255, saliency,
    edges; ``img_shape`` and ``batch_input_shape`` = ``size``."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    samples = []
    for _ in range(batch):
        s = DenseDataSample()
        depth = torch.rand(1, h, w, generator=g) * 5 + 0.5
        depth[:, :2] = 0
        s.gt_depth = depth
        s.gt_depth_valid = depth > 0
        n = F.normalize(torch.randn(3, h, w, generator=g), dim=0)
        valid = torch.ones(1, h, w, dtype=torch.bool)
        valid[:, :3] = False
        s.gt_normal = n * valid
        s.gt_normal_valid = valid
        seg = torch.randint(0, num_classes, (1, h, w), generator=g)
        seg[:, -2:] = 255
        s.gt_sem_seg = seg
        s.gt_parsing = torch.randint(0, 3, (1, h, w), generator=g)
        s.gt_saliency = (torch.rand(1, h, w, generator=g) > 0.6).float()
        s.gt_edge = (torch.rand(1, h, w, generator=g) > 0.9).float()
        s.set_metainfo(dict(img_shape=size, batch_input_shape=size))
        samples.append(s)
    return samples


def feats_at(strides, channels, size=(32, 48), batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, c, size[0] // s, size[1] // s, generator=g)
            for s, c in zip(strides, channels)]


def numel(module):
    return sum(p.numel() for p in module.parameters())


def assert_grads_reach_all(module):
    missing = [n for n, p in module.named_parameters()
               if p.requires_grad and (p.grad is None or
                                       not torch.isfinite(p.grad).all())]
    assert not missing, f'no/invalid gradient for {missing[:5]}'



def assert_unit_normals(normal, atol=1e-5):
    """(B, 3, H, W) vectors of length 1."""
    assert normal.shape[1] == 3
    assert torch.allclose(normal.norm(dim=1),
                          torch.ones_like(normal[:, 0]), atol=atol)
