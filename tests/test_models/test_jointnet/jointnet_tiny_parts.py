"""Tiny JointNet parts shared by the JointNet tests (no network).

The model is ``configs/jointnet/sd21_rgbd_tiny_random.py``: the tiny
family's VAE and text encoder from model_zoo/unidense-tiny and a random UNet
of the family's architecture (built from ``unet_architecture`` of
configs/_base_/models/unidense_tiny_family.py while the zoo has no ``unet``
folder yet, from the zoo's ``unet/config.json`` once it has).
"""
import os.path as osp

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
ZOO_UNET = osp.join(REPO, 'model_zoo', 'unidense-tiny', 'unet')


def family_cfg():
    from mmengine import Config
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                    'unidense_tiny_family.py'))


def unet_cfg():
    """The family's UNet, random weights."""
    if osp.isfile(osp.join(ZOO_UNET, 'config.json')):
        return dict(type='UNet2DConditionModel', config=osp.dirname(ZOO_UNET),
                    subfolder='unet')
    return dict(family_cfg().unet_architecture)


def build_backbone(seed=0):
    import unidense.models  # noqa: F401
    from unidense.registry import MODELS
    torch.manual_seed(seed)
    return MODELS.build(dict(type='SDUNet', unet=unet_cfg()))


def tiny_jointnet_cfg(config='sd21_rgbd_tiny_random.py', **overrides):
    """The model dict of a tiny JointNet config (random UNet), overridden."""
    from mmengine import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'jointnet', config))
    model = cfg.model.to_dict()
    model['backbone']['unet'] = unet_cfg()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(model.get(key), dict):
            model[key] = {**model[key], **value}
        else:
            model[key] = value
    return model


def build_jointnet(seed=0, **overrides):
    import unidense.models  # noqa: F401
    from unidense.registry import MODELS
    torch.manual_seed(seed)
    return MODELS.build(tiny_jointnet_cfg(**overrides))


def synthetic_batch(n=2, size=32, seed=0, normals=False):
    """(inputs (n, 3, size, size) in [-1, 1], samples with caption,
    gt_depth_norm, gt_normal) from SyntheticScenes."""
    from unidense.datasets import SyntheticScenes
    pipeline = [dict(type='LoadImage'), dict(type='LoadDepth'),
                dict(type='NormalizeDepth')]
    if normals:
        pipeline.append(dict(type='LoadNormal'))
    pipeline.append(dict(type='PackDenseInputs'))
    ds = SyntheticScenes(num_samples=n, img_size=size, seed=seed,
                         pipeline=pipeline)
    items = [ds[i] for i in range(n)]
    inputs = torch.stack([it['inputs'] for it in items]).float()
    inputs = inputs / 127.5 - 1 if inputs.max() > 1.5 else inputs
    return inputs, [it['data_samples'] for it in items]
