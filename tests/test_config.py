"""Base configs, inheritance, --cfg-options, CLI flag handling, README/CI."""
import os.path as osp
import runpy
import subprocess

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOY = osp.join(REPO, 'tests', 'helpers', 'configs', 'toy_regression.py')


def _tool(name):
    return runpy.run_path(osp.join(REPO, 'tools', name))


def test_default_runtime():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.default_scope == 'unidense'
    assert cfg.runner_type == 'UnidenseRunner'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.visualization == dict(
        type='DenseVisualizationHook', draw=False, val_panels=4)
    assert [b['type'] for b in cfg.vis_backends] == [
        'LocalVisBackend', 'OptionalTensorboardVisBackend']
    assert cfg.trust_checkpoint is False


def test_schedule_30k():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'schedules', 'schedule_30k.py'))
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01)
    warm, decay = cfg.param_scheduler
    assert (warm.type, warm.end) == ('LinearLR', 500)
    assert (decay.begin, decay.end, decay.end_factor) == (500, 30000, 0.0)
    assert cfg.train_cfg.max_iters == 30000


def test_base_inheritance_and_cfg_options():
    cfg = Config.fromfile(TOY)
    # from default_runtime, schedule_tiny and the leaf
    assert cfg.runner_type == 'UnidenseRunner'
    assert cfg.train_cfg.max_iters == 20
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.checkpoint.interval == 10  # leaf override
    assert cfg.default_hooks.timer.type == 'IterTimerHook'  # kept from base

    train = _tool('train.py')
    args = train['parse_args']([
        TOY, '--work-dir', '/tmp/x', '--cfg-options',
        'train_cfg.max_iters=7', 'model.noise_std=0.5',
        'param_scheduler.1.end=7'
    ])
    cfg = train['build_cfg'](args)
    assert cfg.train_cfg.max_iters == 7
    assert cfg.model.noise_std == 0.5
    assert cfg.param_scheduler[1].end == 7
    assert cfg.work_dir == '/tmp/x'
    assert cfg.resume is False and cfg.trust_checkpoint is False


def test_train_flags():
    train = _tool('train.py')
    cfg = train['build_cfg'](train['parse_args'](
        [TOY, '--amp', '--resume', '--trust-checkpoint']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.trust_checkpoint is True
    assert cfg.work_dir == osp.join('./work_dirs', 'toy_regression')
    cfg = train['build_cfg'](train['parse_args']([TOY, '--resume', 'a.pth']))
    assert cfg.resume is True and cfg.load_from == 'a.pth'
    cfg = train['build_cfg'](train['parse_args'](
        [TOY, '--launcher', 'pytorch']))
    assert cfg.launcher == 'pytorch'
    with pytest.raises(SystemExit):
        train['parse_args']([TOY, '--launcher', 'bogus'])


def test_test_flags_enable_visualization():
    test = _tool('test.py')
    base = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
    cfg = test['build_cfg'](test['parse_args'](
        [base, 'ckpt.pth', '--show-dir', 'vis', '--out', 'm.json']))
    assert cfg.load_from == 'ckpt.pth' and cfg.resume is False
    vis = cfg.default_hooks.visualization
    assert vis.type == 'DenseVisualizationHook'
    assert vis.draw is True and vis.show_dir == 'vis'
    # a config without the hook: clear warning, nothing enabled
    with pytest.warns(UserWarning, match='default_hooks.visualization'):
        cfg = test['build_cfg'](test['parse_args'](
            [TOY, 'ckpt.pth', '--show-dir', 'vis']))
    assert cfg.default_hooks.visualization is None


def test_readme_starts_with_main_job_and_tests_and_ci_runs_them():
    lines = [l for l in open(osp.join(REPO, 'README.md')).read().splitlines()
             if l.strip()]
    assert lines[0].startswith('# ')
    assert lines[1].startswith('```')
    assert lines[4].startswith('```')  # exactly two commands
    main_cmd = lines[2].split('#')[0].strip()
    test_cmd = lines[3].split('#')[0].strip()
    assert test_cmd == 'bash tools/run_tests.sh'
    assert '-m pytest' in open(osp.join(REPO, 'tools', 'run_tests.sh')).read()
    ci = osp.join(REPO, '.ci', 'run')
    got = subprocess.run(['bash', ci, '--print-test-command'],
                         capture_output=True, text=True, check=True).stdout
    assert got.strip() == test_cmd
    got = subprocess.run(['bash', ci, '--print-main-command'],
                         capture_output=True, text=True, check=True).stdout
    assert got.strip() == main_cmd
    ci_text = open(ci).read()
    assert 'set -euo pipefail' in ci_text and 'pip install -e ".[dev]"' \
        in ci_text and '-m venv' in ci_text


def test_setup_declares_dependencies_without_mmcv():
    reqs = open(osp.join(REPO, 'requirements', 'runtime.txt')).read()
    names = [l.split('#')[0].strip() for l in reqs.splitlines()]
    names = [n for n in names if n]
    for dep in ('torch', 'mmengine', 'diffusers', 'transformers', 'timm',
                'einops', 'fvcore', 'opencv', 'scipy', 'safetensors'):
        assert any(n.startswith(dep) for n in names), dep
    assert not any('mmcv' in n for n in names)
    # torch is a range, never pinned to the local CPU wheel
    torch_req = next(n for n in names if n.startswith('torch'))
    assert '==' not in torch_req
    tests = open(osp.join(REPO, 'requirements', 'tests.txt')).read()
    assert 'pytest' in tests and 'pytest-timeout' in tests
