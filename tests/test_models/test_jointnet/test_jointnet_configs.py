"""JointNet configs: full-size trainable counts on the meta device (no
weights, no network) and the tiny variants' structure."""
import importlib.util
import os.path as osp

import pytest
from mmengine import Config

from jointnet_tiny_parts import REPO

CFG = osp.join(REPO, 'configs', 'jointnet')
SD21_UNET = 865_910_724
LINK = 11_491_520        # official per-branch extras (brief §1.4)
MASK_CONV = 29_120       # jointnet_masked_latent_conv, 10 -> 320, 3x3


def _count(name):
    spec = importlib.util.spec_from_file_location(
        'count_params_tool', osp.join(REPO, 'tools', 'analysis_tools',
                                      'count_params.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.main([osp.join(CFG, name), '--device', 'meta'])


@pytest.mark.parametrize('name,trainable', [
    # stage 1: depth UNet + both links = 888,893,764
    ('sd21_rgbd.py', SD21_UNET + 2 * LINK),
    ('sd21_rgbd_stage2.py', 2 * SD21_UNET + 2 * LINK),
    ('sd21_rgbd_inpaint.py', 2 * SD21_UNET + 2 * LINK + 2 * MASK_CONV),
    ('sd21_rgbdn.py', 2 * SD21_UNET + 4 * LINK),
])
def test_full_size_trainable_counts_on_meta(name, trainable, capsys):
    total, got, frozen = _count(name)
    assert got == trainable
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(
        f'total={total} trainable={trainable} ')


def test_stage1_count_is_the_issue_figure():
    assert SD21_UNET + 2 * LINK == 888_893_764


@pytest.mark.parametrize('name', [
    'sd21_rgbd_tiny.py', 'sd21_rgbd_tiny_random.py',
    'sd21_rgbd_stage2_tiny.py', 'sd21_rgbd_inpaint_tiny.py',
    'sd21_rgbdn_tiny.py', 'sd21_rgbd_panorama_tiny.py',
    'sd21_rgbd_refine_tiny.py'])
def test_tiny_configs_use_the_family_and_its_parameterisation(name):
    cfg = Config.fromfile(osp.join(CFG, name))
    model = cfg.model
    unet = model.backbone.unet
    assert unet.subfolder == 'unet'
    assert osp.normpath(unet.get('from_pretrained') or unet.config) == \
        osp.join(REPO, 'model_zoo', 'unidense-tiny')
    if name == 'sd21_rgbd_tiny_random.py':
        assert 'from_pretrained' not in unet
    # the family's UNet predicts v: JointNet's tiny target follows it
    sched = Config.fromfile(osp.join(CFG, 'sd21_rgbd.py')).model
    assert sched.train_scheduler.prediction_type == 'epsilon'
    assert model.train_scheduler.config.endswith('unidense-tiny/scheduler')
    full = Config.fromfile(osp.join(CFG, name.replace('_tiny', '').replace(
        '_random', '')))
    assert full.model.fusion == model.fusion


def test_stage2_and_inpaint_resume_from_stage1():
    for name in ('sd21_rgbd_stage2.py', 'sd21_rgbd_inpaint.py'):
        cfg = Config.fromfile(osp.join(CFG, name))
        assert cfg.load_from.startswith('work_dirs/sd21_rgbd/')
        assert cfg.model.train_rgb_branch and \
            cfg.model.caption_dropout == 0.5
        assert cfg.optim_wrapper.optimizer.lr == 1e-5
    stage1 = Config.fromfile(osp.join(CFG, 'sd21_rgbd.py'))
    assert stage1.model.caption_dropout == 0.15
    assert stage1.model.noise_offset == 0.05
    assert stage1.optim_wrapper.optimizer.lr == 1e-4
    assert stage1.param_scheduler[0].end == 1000


def test_metafile_lists_published_numbers_and_existing_configs():
    import yaml
    meta = yaml.safe_load(open(osp.join(CFG, 'metafile.yaml')))
    for m in meta['Models']:
        assert osp.isfile(osp.join(REPO, m['Config']))
        for res in m.get('Results', []):
            if '_tiny' in m['Config']:   # measured here, with the protocol
                assert res['Measured'] is True and res['Protocol']
            else:
                assert res['Published'] is True
    stage1 = [m for m in meta['Models'] if m['Config'].endswith(
        'sd21_rgbd.py')][0]
    assert stage1['Metadata']['Trainable Parameters'] == 888_893_764
    stage2 = [m for m in meta['Models'] if m['Config'].endswith(
        'sd21_rgbd_stage2.py')][0]
    gen = [r for r in stage2['Results'] if r['Dataset'].startswith(
        'MSCOCO')][0]
    assert gen['Metrics'] == {'FID': 14.38, 'IS': 38.33, 'CLIP': 25.71}
