"""End-to-end runs of tools/train.py, tools/test.py and the torchrun
launchers on the toy model (CPU, gloo).

One module-scoped fixture runs: a single-process training (batch 4), the
same training with ``dist_train.sh`` on 2 processes (batch 2 each), and the
evaluation of its checkpoint with ``test.py`` and ``dist_test.sh``.
"""
import json
import os.path as osp
import signal

import pytest
import torch
from safetensors.torch import load_file

from unidense.utils.checkpoint_io import (export_safetensors,
                                          has_valid_marker,
                                          load_checkpoint_safe)

from tests.helpers.launch import REPO, PY
from tests.helpers.launch import checkpoint_weights as _weights
from tests.helpers.launch import free_port as _free_port
from tests.helpers.launch import launch_env as _env
from tests.helpers.launch import run_logged as _run
from tests.helpers.launch import sigkill_after_first_checkpoint

TOY = osp.join(REPO, 'tests', 'helpers', 'configs', 'toy_regression.py')


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('tools')
    out = dict(root=root)
    out['ref_log'] = _run(
        [PY, 'tools/train.py', TOY, '--work-dir', str(root / 'ref')],
        root / 'ref.log')
    env = _env()
    env['PORT'] = str(_free_port())
    out['dist_log'] = _run(
        ['bash', 'tools/dist_train.sh', TOY, '2', '--work-dir',
         str(root / 'dist'), '--cfg-options', 'train_dataloader.batch_size=2'],
        root / 'dist.log', env=env)
    ckpt = str(root / 'ref' / 'iter_20.pth')
    out['ckpt'] = ckpt
    # test.py reads the safetensors export, dist_test.sh the .pth: equal
    # metrics prove both load paths.
    out['st'] = export_safetensors(ckpt, str(root / 'ref.safetensors'))
    out['test_log'] = _run(
        [PY, 'tools/test.py', TOY, out['st'], '--work-dir', str(root / 't1'),
         '--out', str(root / 'single.json'), '--show-dir',
         str(root / 'vis')], root / 'test.log')
    env['PORT'] = str(_free_port())
    out['dist_test_log'] = _run(
        ['bash', 'tools/dist_test.sh', TOY, ckpt, '2', '--work-dir',
         str(root / 't2'), '--out', str(root / 'dist.json')],
        root / 'dist_test.log', env=env)
    return out


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dist_train_matches_single_process(runs):
    root = runs['root']
    single = _weights(str(root / 'ref' / 'iter_20.pth'))
    dist = _weights(str(root / 'dist' / 'iter_20.pth'))
    assert sorted(single) == sorted(dist) == ['head.bias', 'head.weight']
    for key in single:
        diff = (single[key] - dist[key]).abs().max().item()
        assert diff <= 1e-5, f'{key}: max abs diff {diff}'
    # training really moved the weights
    early = _weights(str(root / 'ref' / 'iter_10.pth'))
    assert not torch.equal(early['head.weight'], single['head.weight'])
    dist_ckpt = load_checkpoint_safe(str(root / 'dist' / 'iter_20.pth'))
    assert dist_ckpt['meta']['unidense']['world_size'] == 2
    assert len(dist_ckpt['rng_states']) == 2
    assert has_valid_marker(str(root / 'dist' / 'iter_20.pth'))


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dist_test_matches_single_and_counts_each_sample_once(runs):
    root = runs['root']
    single = json.load(open(root / 'single.json'))
    dist = json.load(open(root / 'dist.json'))
    # 7 validation samples on 2 processes: the sampler pads to 8, the
    # evaluator must drop the duplicate.
    assert single['toy/count'] == dist['toy/count'] == 7
    assert single['toy/idx_sum'] == dist['toy/idx_sum'] == sum(range(7))
    assert abs(single['toy/mse'] - dist['toy/mse']) <= 1e-6
    # --show-dir on a config without a visualization hook warns clearly
    assert 'default_hooks.visualization' in runs['test_log']
    # the trainable-only safetensors export loads without frozen-key noise
    assert 'missing frozen keys' not in runs['test_log']
    assert 'ref.safetensors' in runs['test_log']


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_export_safetensors_cli_roundtrip(runs, tmp_path):
    import runpy
    out = str(tmp_path / 'toy.safetensors')
    tool = runpy.run_path(
        osp.join(REPO, 'tools', 'model_converters', 'export_safetensors.py'))
    tool['main']([runs['ckpt'], out])
    exported = load_file(out)
    original = _weights(runs['ckpt'])
    assert sorted(exported) == sorted(original)
    for key, value in original.items():
        assert torch.equal(exported[key], value)


NOISY = [
    'model.noise_std=0.5', 'train_dataloader.dataset.augment_std=0.1',
    'train_cfg.max_iters=12', 'train_cfg.val_interval=6',
    'default_hooks.checkpoint.interval=3', 'param_scheduler.1.end=12'
]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    full_dir, kill_dir = tmp_path / 'full', tmp_path / 'killed'
    _run([PY, 'tools/train.py', TOY, '--work-dir', str(full_dir),
          '--cfg-options'] + NOISY, tmp_path / 'full.log')

    # slow steps so that the kill lands mid-way
    cmd = [PY, 'tools/train.py', TOY, '--work-dir', str(kill_dir),
           '--cfg-options'] + NOISY + ['model.iter_sleep=0.3']
    rc = sigkill_after_first_checkpoint(cmd, kill_dir,
                                        tmp_path / 'killed.log', timeout=180)
    assert rc == -signal.SIGKILL
    last = kill_dir / 'last_checkpoint'
    assert not (kill_dir / 'iter_12.pth').exists(), 'killed too late'
    resumed_from = last.read_text()
    assert has_valid_marker(resumed_from)

    log = _run([PY, 'tools/train.py', TOY, '--work-dir', str(kill_dir),
                '--resume', '--cfg-options'] + NOISY,
               tmp_path / 'resume.log')
    assert 'resumed' in log and 'iter: 0' not in log.split('resumed')[-1][:30]
    full = _weights(str(full_dir / 'iter_12.pth'))
    resumed = _weights(str(kill_dir / 'iter_12.pth'))
    for key in full:
        diff = (full[key] - resumed[key]).abs().max().item()
        assert diff <= 1e-6, f'{key}: max abs diff {diff}'
