"""Issue 26 item 3 (frozen weights in bf16): the hook casts exactly the
frozen parameters, training runs under autocast on every method, and the
frozen weights take half the memory."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from unidense.engine.hooks import FrozenWeightsDtypeHook
from unidense.registry import DATASETS, MODELS
from unidense.utils.live_memory import LiveTensorMemory

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _runner(config, wrapper_type='AutocastOptimWrapper'):
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    wrapper = dict(cfg.optim_wrapper, type=wrapper_type)
    if wrapper_type == 'AutocastOptimWrapper':
        wrapper.update(dtype='bfloat16', device_type='cpu')
    logs = []
    runner = SimpleNamespace(
        model=model, optim_wrapper=build_optim_wrapper(model, wrapper),
        logger=SimpleNamespace(info=logs.append))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return runner, pseudo_collate([dataset[i] for i in range(2)]), logs


@pytest.mark.parametrize('config', ['merge/pixart_depth_tiny.py',
                                    'jointnet/sd21_rgbd_tiny.py',
                                    'diff2in1/bae_nyu_normal_tiny.py'])
def test_frozen_weights_in_bf16_train_under_autocast(config):
    runner, data, logs = _runner(config)
    model = runner.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    before = LiveTensorMemory(resident=[model]).resident_bytes
    FrozenWeightsDtypeHook('bf16').before_train(runner)
    for name, p in model.named_parameters():
        assert p.dtype == (torch.float32 if name in trainable else
                           torch.bfloat16), name
    after = LiveTensorMemory(resident=[model]).resident_bytes
    assert after < 0.75 * before and 'MiB saved' in logs[0]
    losses = model.train_step(data, runner.optim_wrapper)
    assert all(torch.isfinite(v) for v in losses.values())
    # the step updated fp32 weights and kept fp32 optimizer state
    state = runner.optim_wrapper.optimizer.state
    assert state and all(v['exp_avg'].dtype == torch.float32
                         for v in state.values())


def test_refuses_an_optim_wrapper_without_autocast():
    runner, _, _ = _runner('merge/pixart_depth_tiny.py', 'OptimWrapper')
    with pytest.raises(ValueError, match='AmpOptimWrapper'):
        FrozenWeightsDtypeHook('bf16').before_train(runner)
    with pytest.raises(ValueError, match='dtype'):
        FrozenWeightsDtypeHook('int8')


def test_validation_during_training_runs_under_autocast_too():
    # the val loop runs outside the optim wrapper's autocast: without the
    # hook's own, fp32 activations meet bf16 frozen weights and fail
    runner, data, _ = _runner('merge/pixart_depth_tiny.py')
    hook = FrozenWeightsDtypeHook('bf16')
    hook.before_train(runner)
    runner.model.eval()
    with pytest.raises(RuntimeError, match='dtype'):
        runner.model.val_step(data)
    hook.before_val(runner)
    outputs = runner.model.val_step(data)
    assert len(outputs) == 2 and torch.isfinite(
        outputs[0].pred_depth.data.float()).all()
    hook.after_val(runner)
    assert 'val_step' not in vars(runner.model)      # the method is back
