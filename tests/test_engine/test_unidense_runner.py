"""In-process checks of UnidenseRunner (CPU, single process)."""
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config

from unidense.registry import RUNNERS
from unidense.utils.checkpoint_io import (load_checkpoint_safe,
                                          save_checkpoint_atomic)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(REPO, 'tests', 'helpers', 'configs', 'toy_regression.py')


def _runner(tmp_path, **overrides):
    cfg = Config.fromfile(TOY)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'toy_{uuid.uuid4().hex[:8]}'
    cfg.train_cfg.max_iters = 4
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.merge_from_dict(overrides)
    return RUNNERS.build(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_amp_on_cpu_uses_bf16_autocast(tmp_path):
    runner = _runner(
        tmp_path,
        optim_wrapper=dict(type='AmpOptimWrapper', loss_scale='dynamic'))
    dtypes = []
    runner.model.head.register_forward_hook(
        lambda m, i, o: dtypes.append(o.dtype) if m.training else None)
    runner.train()
    assert type(runner.optim_wrapper).__name__ == 'AutocastOptimWrapper'
    # 4 training steps ran under bf16 autocast (validation stays fp32)
    assert dtypes == [torch.bfloat16] * 4
    assert torch.isfinite(runner.model.head.weight).all()


def test_plain_checkpoint_hook_becomes_atomic_and_saves_trainable_only(
        tmp_path):
    runner = _runner(tmp_path)
    runner.cfg.default_hooks.checkpoint.type = 'CheckpointHook'
    names = [type(h).__name__ for h in runner.hooks]
    assert 'AtomicCheckpointHook' in names and 'CheckpointHook' not in names
    frozen_before = runner.model.backbone.weight.clone()
    runner.train()
    last = open(osp.join(tmp_path, 'last_checkpoint')).read()
    assert last.endswith('iter_4.pth')
    ckpt = load_checkpoint_safe(last)
    assert sorted(ckpt['state_dict']) == ['head.bias', 'head.weight']
    assert ckpt['meta']['unidense']['trainable_only'] is True
    assert torch.equal(runner.model.backbone.weight, frozen_before)


def test_save_frozen_weights_flag(tmp_path):
    runner = _runner(tmp_path, save_frozen_weights=True)
    runner.train()
    ckpt = load_checkpoint_safe(osp.join(tmp_path, 'iter_4.pth'))
    assert 'backbone.weight' in ckpt['state_dict']


def test_partial_checkpoint_loads_quietly_missing_trainable_errors(
        tmp_path, capsys):
    src = _runner(tmp_path / 'src')
    src.train()
    path = osp.join(tmp_path / 'src', 'iter_4.pth')
    runner = _runner(tmp_path / 'dst', load_from=path)
    capsys.readouterr()
    runner.load_checkpoint(path)
    log = capsys.readouterr()
    assert 'Load checkpoint from' in log.out
    assert torch.equal(runner.model.head.weight, src.model.head.weight)
    assert 'backbone' not in log.out + log.err
    # the same weights without the trainable-only mark do warn about the
    # frozen keys (proves the log is captured)
    ckpt = load_checkpoint_safe(path)
    ckpt['meta'].pop('unidense')
    unmarked = str(tmp_path / 'unmarked.pth')
    save_checkpoint_atomic(ckpt, unmarked)
    runner.load_checkpoint(unmarked)
    assert 'missing frozen keys' in capsys.readouterr().out

    ckpt = load_checkpoint_safe(path)
    del ckpt['state_dict']['head.weight']
    broken = str(tmp_path / 'broken.pth')
    save_checkpoint_atomic(ckpt, broken)
    with pytest.raises(RuntimeError, match='missing trainable keys'):
        runner.load_checkpoint(broken, strict=True)
    resumer = _runner(tmp_path / 'dst2', load_from=broken, resume=True)
    with pytest.raises(RuntimeError, match="head.weight"):
        resumer.train()


def test_untrusted_load_from_refused(tmp_path):
    foreign = str(tmp_path / 'foreign.pth')
    torch.save(dict(state_dict={}), foreign)
    runner = _runner(tmp_path / 'w')
    with pytest.raises(RuntimeError, match='--trust-checkpoint'):
        runner.load_checkpoint(foreign)


def test_max_keep_ckpts_removes_old_checkpoint_and_marker(tmp_path):
    import os
    runner = _runner(tmp_path, default_hooks=dict(
        checkpoint=dict(max_keep_ckpts=1)))
    runner.train()
    files = sorted(f for f in os.listdir(tmp_path)
                   if f.startswith(('iter_', 'last_', '.')))
    assert files == ['iter_4.pth', 'iter_4.pth.unidense', 'last_checkpoint']


@pytest.mark.parametrize('damage', ['truncate', 'delete'])
def test_auto_resume_falls_back_to_the_newest_intact_checkpoint(
        tmp_path, damage):
    """A damaged or missing last checkpoint: --resume continues from the
    previous intact one (warning naming the file) and ends where an
    uninterrupted run ends."""
    import os
    full = _runner(tmp_path / 'full', default_hooks=dict(
        checkpoint=dict(interval=1, max_keep_ckpts=5)))
    full.train()
    expected = {k: v.clone() for k, v in full.model.state_dict().items()}

    work = tmp_path / 'broken'
    first = _runner(work, train_cfg=dict(max_iters=3),
                    default_hooks=dict(checkpoint=dict(interval=1,
                                                       max_keep_ckpts=5)))
    first.train()
    last = work / 'iter_3.pth'
    if damage == 'truncate':
        data = last.read_bytes()
        last.write_bytes(data[:len(data) // 2])
    else:
        os.remove(last)
    resumed = _runner(work, resume=True, default_hooks=dict(
        checkpoint=dict(interval=1, max_keep_ckpts=5)))
    resumed.logger.warning = warned = __import__('unittest').mock.MagicMock(
        wraps=resumed.logger.warning)
    resumed.train()
    assert any('iter_3.pth' in str(c) and 'iter_2.pth' in str(c)
               for c in warned.call_args_list)
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
