"""tools/analysis_tools/gpu_report.py on the CPU (its figures are GPU runs,
docs/distributed.md): the full-size path - architecture built with random
weights on a real device, settings applied in turn, memory_plan beside the
measured peak - runs on the tiny MERGE; a failing setting is reported and
the next one still runs."""
import json
import os.path as osp

import torch

from tools.analysis_tools import gpu_report
from unidense.diffusion import meta_device_build


def test_full_section_on_cpu_reports_measured_and_planned(tmp_path):
    out = tmp_path / 'report'
    gpu_report.main([
        '--config', 'configs/merge/pixart_depth_tiny.py', '--size', '64',
        '64', '--batch', '2', '--repeats', '1', '--device', 'cpu',
        '--stand-in-text', '--sections', 'full', '--settings',
        'fp32;... + AdamW8bit;bf16 autocast + frozen bf16', '--out',
        str(out)])
    lines = [json.loads(line) for line in
             open(osp.join(out, 'gpu_report.jsonl'))]
    rows = {r['setting']: r for r in lines if 'setting' in r}
    assert set(rows) == {'fp32', '... + AdamW8bit',
                         'bf16 autocast + frozen bf16'}
    fp32 = rows['fp32']
    # the plan models fp32 exactly enough (docs: 1.00 on the H200)
    assert 0.85 <= fp32['estimate_over_measured'] <= 1.15, fp32
    assert fp32['speed_vs_fp32'] == 1.0 and fp32['step_s'] > 0
    # no bitsandbytes / CUDA here: reported, not raised
    assert 'AdamW8bit' in rows['... + AdamW8bit']['error']
    # frozen bf16 ran after the failure and halved the frozen weights
    half = rows['bf16 autocast + frozen bf16']
    assert 'error' not in half, half
    assert half['estimate_mib'] < fp32['estimate_mib']
    assert half['measured_mib'] < fp32['measured_mib']
    built = [r for r in lines if r.get('event') == 'built'][0]
    assert built['trainable'] > 0 and built['frozen'] > built['trainable']


def test_meta_device_build_on_a_real_device_gives_random_weights():
    from mmengine.registry import init_default_scope

    from unidense.registry import MODELS
    init_default_scope('unidense')
    cfg = dict(type='AutoencoderKL', from_pretrained='unused/hub-id',
               config=dict(in_channels=3, out_channels=3, latent_channels=4,
                           block_out_channels=[8], layers_per_block=1,
                           down_block_types=['DownEncoderBlock2D'],
                           up_block_types=['UpDecoderBlock2D'],
                           norm_num_groups=4))
    with meta_device_build('cpu'):
        vae = MODELS.build(cfg)
    params = list(vae.parameters())
    assert all(p.device == torch.device('cpu') for p in params)
    assert any(p.abs().sum() > 0 for p in params)
    with meta_device_build():
        assert MODELS.build(cfg).encoder.conv_in.weight.is_meta


def test_unknown_setting_names_are_refused(tmp_path):
    import pytest
    with pytest.raises(SystemExit, match='unknown --settings'):
        gpu_report.section_full(gpu_report.parse_args([
            '--settings', 'fp32;bf17 autocast', '--out', str(tmp_path)]),
            None, 'cpu')
