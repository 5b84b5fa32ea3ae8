"""configs/pretrain/*: every training stage's schedule is consistent with
its length (a stage shortened or lengthened without its scheduler would
silently train at the wrong learning rate) and saves the checkpoint its
README exports; the CPU continuations read what their headers say."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', 'pretrain', '*.py'))
    if not osp.basename(p).startswith('_'))


def test_every_stage_is_listed():
    names = {osp.basename(p)[:-3] for p in STAGES}
    assert {'pixart_tiny_large_batch_cpu', 'unet_tiny_large_batch_cpu',
            'pixart_tiny_large_batch', 'vae_tiny'} <= names


@pytest.mark.parametrize('path', STAGES)
def test_schedule_covers_exactly_the_training_length(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    max_iters = cfg.train_cfg.max_iters
    schedulers = cfg.param_scheduler
    schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
    ends = [s.get('end', max_iters) for s in schedulers]
    assert max(ends) == max_iters, (path, ends, max_iters)
    for before, after in zip(schedulers, schedulers[1:]):
        assert before['end'] == after['begin'], path
    cosine = [s for s in schedulers if s.type == 'CosineAnnealingLR']
    for s in cosine:
        assert s.T_max == s.end - s.begin, path
    interval = cfg.default_hooks.checkpoint.interval
    assert max_iters % interval == 0, \
        f'{path}: iter_{max_iters}.pth (the README export) is not saved'


@pytest.mark.parametrize('part,denoiser', [
    ('pixart', 'PixArtTransformer2DModel'), ('unet', 'UNet2DConditionModel')])
def test_cpu_continuations(part, denoiser):
    """Both CPU continuations: batch 256 read in-process (one thread per
    run), EMA short against the run, continuing a local diffusers folder."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'pretrain',
                 f'{part}_tiny_large_batch_cpu.py'))
    assert cfg.model.denoiser.type == denoiser
    assert cfg.model.denoiser.from_pretrained.endswith('export_raw'
                                                       if part == 'pixart'
                                                       else 'export')
    assert cfg.train_dataloader.batch_size == 256
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.dataset.prerender == 1
    assert cfg.model.ema_momentum * cfg.train_cfg.max_iters >= 5
