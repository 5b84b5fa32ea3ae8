"""MERGE plug-in converter sets on one frozen DiT, and the exported
from_pretrained folder (issue: MERGE second pass, items 1 and 3)."""
import os.path as osp

import numpy as np
import pytest
import torch

from unidense.apis import generate, init_model
from unidense.utils.checkpoint_io import save_checkpoint_atomic
from unidense.utils.trainable_state import trainable_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = osp.join(REPO, 'configs', 'merge', 'pixart_depth_tiny.py')


@pytest.fixture(scope='module')
def model():
    return init_model(TINY)


def _shifted(model, delta, seed):
    g = torch.Generator().manual_seed(seed)
    state = model.fusion.state_dict()
    return {f'fusion.{k}': state[k] + delta * torch.randn(
        state[k].shape, generator=g) for k in model.converter_keys()}


def _depth(model, x):
    return model.estimate_depth(x, noise_seeds=[0])


def test_sets_share_one_backbone_and_switch_exactly(model):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    backbone = [id(p) for p in model.backbone.parameters()]
    frozen = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    own = _depth(model, x)
    t2i = generate(model, ['a room with red walls'], num_inference_steps=3,
                   seed=0)[0]['rgb']
    model.load_converter_set('indoor', _shifted(model, 0.02, 1))
    model.load_converter_set('outdoor', _shifted(model, 0.02, 2))
    assert model.converter_sets == ['default', 'indoor', 'outdoor']
    model.set_mode('indoor')
    indoor = _depth(model, x)
    model.set_mode('outdoor')
    outdoor = _depth(model, x)
    assert not torch.equal(indoor, own) and not torch.equal(indoor, outdoor)
    model.set_mode('indoor')
    assert torch.equal(_depth(model, x), indoor)
    model.set_mode('depth')   # depth mode keeps the active set
    assert torch.equal(_depth(model, x), indoor)
    model.set_mode('default')
    assert torch.equal(_depth(model, x), own)
    # the backbone is the same objects, untouched; t2i bitwise unchanged
    assert [id(p) for p in model.backbone.parameters()] == backbone
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, frozen[k]), k
    model.set_mode('outdoor')
    again = generate(model, ['a room with red walls'], num_inference_steps=3,
                     seed=0)[0]['rgb']
    assert np.array_equal(t2i, again)
    assert model.mode == 'depth' and model.active_set == 'outdoor'
    # memory grows by the converters only
    per_set = sum(t.numel() for t in model._converter_sets['indoor'].values())
    assert per_set == sum(model.fusion.state_dict()[k].numel()
                          for k in model.converter_keys())
    model.set_mode('default')


def test_bad_sets_are_named(model):
    state = _shifted(model, 0.0, 0)
    key = sorted(state)[0]
    with pytest.raises(KeyError, match='lacks converter keys'):
        model.load_converter_set('x', {k: v for k, v in state.items()
                                       if k != key})
    with pytest.raises(ValueError, match='do not fit'):
        model.load_converter_set('x', dict(state, **{key: torch.zeros(3)}))
    for name in ('t2i', 'depth'):
        with pytest.raises(ValueError, match='mode'):
            model.load_converter_set(name, state)
    with pytest.raises(ValueError, match='loaded converter set'):
        model.set_mode('nope')


def test_exported_folder_round_trips_bitwise(model, tmp_path):
    from mmengine.config import Config

    from tools.model_converters.export_diffusers import main
    trained = init_model(TINY)
    with torch.no_grad():
        for k, v in _shifted(trained, 0.05, 3).items():
            trained.fusion.state_dict(keep_vars=True)[k[7:]].copy_(v)
    ckpt = str(tmp_path / 'iter_10.pth')
    save_checkpoint_atomic(dict(state_dict=trainable_state_dict(trained),
                                meta=dict(unidense=dict(
                                    trainable_only=True))), ckpt)
    other = str(tmp_path / 'other.pth')
    save_checkpoint_atomic(dict(state_dict=_shifted(trained, 0.05, 4)),
                           other)
    metrics = tmp_path / 'm.json'
    metrics.write_text('{"depth/abs_rel": 12.8, "depth/delta1": 84.1}')
    out = tmp_path / 'merge_tiny_depth'
    assert main([TINY, ckpt, str(out), '--set', f'other={other}',
                 '--metrics', str(metrics), '--protocol',
                 'least-squares alignment, 64 held-out scenes']) == 0
    files = sorted(p.name for p in out.rglob('*') if p.is_file())
    assert files == ['README.md', 'default.safetensors', 'other.safetensors',
                     'unidense_config.py', 'unidense_model.json']
    # no frozen base weight in the folder: it is referenced
    assert sum(p.stat().st_size for p in out.rglob('*.safetensors')) < \
        2 * 4 * sum(t.numel() for t in trainable_state_dict(
            trained).values()) + 100_000
    card = (out / 'README.md').read_text()
    assert 'base_model:' in card and '12.8' in card and \
        'least-squares' in card
    loaded = init_model(str(out))
    want = trainable_state_dict(trained)
    got = trainable_state_dict(loaded)
    assert sorted(want) == sorted(got)
    for k in want:
        assert torch.equal(want[k], got[k]), k
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    assert torch.equal(_depth(loaded, x), _depth(trained, x))
    assert loaded.converter_sets == ['default', 'other']
    assert isinstance(loaded.cfg, Config)
    with pytest.raises(ValueError, match='pretrained folder'):
        init_model(str(out), checkpoint=ckpt)


NORMAL_TINY = osp.join(REPO, 'configs', 'merge', 'pixart_normal_tiny.py')


def _normal_batch(n=2):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from unidense.registry import DATASETS
    cfg = Config.fromfile(NORMAL_TINY)
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset, num_samples=n))
    batch = pseudo_collate([ds[i] for i in range(n)])
    inputs = torch.stack(batch['inputs']).float() / 127.5 - 1
    return inputs, batch['data_samples']


def test_normal_estimation_trains_and_predicts_unit_normals():
    torch.manual_seed(0)
    model = init_model(NORMAL_TINY)
    model.train()
    inputs, samples = _normal_batch()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    losses = []
    for step in range(8):
        torch.manual_seed(step % 2)   # the same two noise draws in turn
        loss = model.loss(inputs, samples)['loss_mse']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-2] < losses[0] and losses[-1] < losses[1], losses
    model.eval()
    out = model.predict(inputs, samples)
    normal = out[0].pred_normal.data
    assert normal.shape == (3, 64, 64) and out[0].pred_depth is None
    torch.testing.assert_close(normal.norm(dim=0), torch.ones(64, 64),
                               rtol=0, atol=1e-4)


def test_a_normal_set_next_to_depth_sets(model):
    normal = init_model(NORMAL_TINY)
    state = {f'fusion.{k}': v for k, v in normal.fusion.state_dict().items()
             if k in normal.converter_keys()}
    model.load_converter_set('normals', state, task='normal')
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    model.set_mode('normals')
    assert model.task == 'normal'
    assert torch.equal(model.estimate_depth(x, noise_seeds=[0]),
                       normal.estimate_depth(x, noise_seeds=[0]))
    model.set_mode('default')
    assert model.task == 'depth'
    assert model.estimate_depth(x, noise_seeds=[0]).shape == (1, 1, 64, 64)
