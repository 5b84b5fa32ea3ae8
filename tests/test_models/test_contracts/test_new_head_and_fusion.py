"""A new head or fusion is one file + one config: the toy modules are
written to a folder outside the package, imported only through the
config's ``custom_imports``, built from the config, trained and run."""
import sys

import pytest
import torch
from mmengine.config import Config

from toy_modules import TOY_FUSION, TOY_HEAD
from unidense.registry import MODELS
from unidense.structures import DenseDataSample

TINY_PIXART = dict(
    num_attention_heads=2, attention_head_dim=8, in_channels=4,
    out_channels=8, num_layers=3, sample_size=4, caption_channels=16,
    cross_attention_dim=16, norm_type='ada_norm_single')


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A user's own folder on sys.path, as PYTHONPATH=. would give."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ('toy_depth_head', 'toy_residual_adapters'):
        sys.modules.pop(name, None)
        MODELS._module_dict.pop(
            {'toy_depth_head': 'ToyDepthHead',
             'toy_residual_adapters': 'ToyResidualAdapters'}[name], None)


def _config(folder, module, source, body):
    (folder / f'{module}.py').write_text(source)
    path = folder / f'{module}_cfg.py'
    path.write_text(f"custom_imports = dict(imports=['{module}'], "
                    f'allow_failed_imports=False)\n' + body)
    return Config.fromfile(str(path))


def test_toy_head_is_one_file_and_one_config(user_folder):
    import unidense.models  # noqa: F401
    cfg = _config(user_folder, 'toy_depth_head', TOY_HEAD, (
        "head = dict(type='ToyDepthHead', in_channels=8,\n"
        "            losses=[dict(type='L1Loss', loss_name='loss_depth')])\n"))
    torch.manual_seed(0)
    head = MODELS.build(cfg.head)
    feats = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    samples = []
    for i in range(2):
        s = DenseDataSample()
        s.gt_depth = torch.full((1, 16, 16), 2.0 + i)
        s.set_metainfo(dict(batch_input_shape=(16, 16)))
        samples.append(s)
    assert head(feats)['depth'].shape == (2, 1, 8, 8)
    optim = torch.optim.Adam(head.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        losses = head.loss(feats, samples)
        assert set(losses) == {'loss_depth'}
        optim.zero_grad()
        losses['loss_depth'].backward()
        optim.step()
        first = first if first is not None else losses['loss_depth'].item()
    assert losses['loss_depth'].item() < 0.2 * first
    pred = head.predict(feats, samples)['depth']
    assert pred.shape == (2, 1, 16, 16)  # at batch_input_shape


def test_toy_fusion_is_one_file_and_one_config(user_folder):
    import unidense.models  # noqa: F401
    backbone_cfg = dict(type='PixArtDiT', transformer=dict(
        type='PixArtTransformer2DModel', from_pretrained=None,
        config=TINY_PIXART))
    cfg = _config(user_folder, 'toy_residual_adapters', TOY_FUSION,
                  f"fusion = dict(type='ToyResidualAdapters', "
                  f'backbone={backbone_cfg!r})\n')
    torch.manual_seed(0)
    # built from a config: the fusion owns (and froze) its backbone
    owned = MODELS.build(cfg.fusion)
    assert owned.backbone is owned.owned_backbone
    # given a built backbone (the estimator's): borrowed, not saved twice
    backbone = MODELS.build(backbone_cfg)
    fusion = MODELS.build(dict(cfg.fusion, backbone=backbone))
    assert not any(k.startswith(('backbone', '_backbone'))
                   for k in fusion.state_dict())
    assert all(not p.requires_grad for p in backbone.parameters())
    assert all(p.requires_grad for p in fusion.parameters())

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 8, 8, generator=gen)
    text = torch.randn(2, 5, 16, generator=gen)
    t = torch.tensor([10, 500])
    with torch.no_grad():
        # zero adapters: the frozen model, exactly
        assert torch.equal(fusion(x, t, text), backbone(x, t, text))
    fusion.train()
    assert fusion.training and not backbone.transformer.training
    frozen = {k: v.clone() for k, v in backbone.state_dict().items()}
    optim = torch.optim.Adam(fusion.parameters(), lr=1e-2)
    target = torch.zeros(2, 8, 8, 8)
    for _ in range(3):
        loss = (fusion(x, t, text) - target).square().mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert all(p.grad is None for p in backbone.parameters())
    assert fusion.adapters[0].weight.abs().sum() > 0
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, frozen[k]), k


def test_fusion_refuses_a_backbone_without_the_api(user_folder):
    import unidense.models  # noqa: F401
    cfg = _config(user_folder, 'toy_residual_adapters', TOY_FUSION,
                  "fusion = dict(type='ToyResidualAdapters')\n")
    with pytest.raises(TypeError, match='lacks prepare'):
        MODELS.build(dict(cfg.fusion, backbone=torch.nn.Linear(2, 2)))


def test_the_guide_shows_these_very_files():
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    guide = open(osp.join(repo, 'docs', 'advanced_guides',
                          'contracts.md')).read()
    for source in (TOY_HEAD, TOY_FUSION):
        code = source.split('import torch.nn as nn', 1)[1]
        for line in code.splitlines():
            assert line in guide, line
