"""Diff-2-in-1 stage 2: SelfImprovingEstimator, its hook, sampler, feature
cache, the partial-noise re-generation and tools/create_synthetic.py."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from unidense.datasets.samplers import SelfImprovingBatchSampler
from unidense.models.estimators import SelfImprovingEstimator
from unidense.models.estimators.feature_cache import FeatureCache
from unidense.pipelines import partial_noise_timesteps, regenerate_images
from unidense.registry import DATASETS, MODELS
from unidense.structures import DenseDataSample
from unidense.utils.trainable_state import trainable_state_keys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs/diff2in1/bae_nyu_normal_selfimprove_tiny.py')


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('unidense')
    return Config.fromfile(TINY)


@pytest.fixture()
def model(cfg):
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _batch(n=2, labelled=1, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    samples = []
    for i in range(n):
        s = DenseDataSample(metainfo=dict(img_shape=(size, size),
                                          ori_shape=(size, size),
                                          sample_idx=i))
        if i >= labelled:
            s.set_metainfo(dict(unlabelled=True))
        else:
            normal = torch.randn(3, size, size, generator=g)
            s.gt_normal = normal / normal.norm(dim=0, keepdim=True)
        samples.append(s)
    return inputs, samples


def test_partial_noise_timesteps_follow_the_released_code():
    steps = partial_noise_timesteps(600, 50)
    assert steps[:3] == [589, 577, 565] and steps[-1] == 1
    assert len(steps) == 50
    with pytest.raises(ValueError, match='num_inference_steps'):
        partial_noise_timesteps(10, 20)


def test_creation_copy_holds_only_trainable_parts(model):
    inner = model.estimator
    keys = trainable_state_keys(inner)
    assert sorted(keys) == model.creation_keys
    numel = sum(t.numel() for t in model.creation_state().values())
    trained = dict(inner.state_dict())
    assert numel == sum(trained[k].numel() for k in keys)
    # the frozen backbone exists once: no parameter outside the estimator
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in inner.parameters())
    # ... and θ_C is in the (trainable-only) checkpoint state
    assert any(k.startswith('creation.') for k in trainable_state_keys(model))
    assert 'creation_ready' in trainable_state_keys(model)


def test_stage2_starts_from_theta_e_and_follows_the_ema_rule(model):
    assert not model.in_stage2
    with torch.no_grad():
        for p in model.estimator.parameters():
            if p.requires_grad:
                p.add_(0.1)
    model.start_self_improving()
    live = model._live_tensors()
    for k, v in model.creation_state().items():
        assert torch.equal(v, live[k])
    before = {k: v.clone() for k, v in model.creation_state().items()}
    with torch.no_grad():
        for p in model.estimator.parameters():
            if p.requires_grad:
                p.mul_(1.5).add_(0.3)
    model.update_creation(0.9)
    live = model._live_tensors()
    for k, v in model.creation_state().items():
        if v.is_floating_point():
            want = before[k] * 0.9 + live[k].detach() * (1 - 0.9)
            torch.testing.assert_close(v, want, rtol=0, atol=1e-6)
        else:
            assert torch.equal(v, live[k])


def test_synthetic_labels_come_from_theta_c(model):
    model.start_self_improving()
    # θ_E drifts away from θ_C: its predictions differ
    with torch.no_grad():
        for p in model.estimator.heads.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    inputs, samples = _batch(n=3, labelled=1)
    unlabelled = samples[1:]
    assert all(model.is_unlabelled(s) for s in unlabelled)
    model.train()
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(s.metainfo.get('pseudo_labelled') for s in unlabelled)
    fresh = [DenseDataSample(metainfo=dict(img_shape=(64, 64),
                                           ori_shape=(64, 64),
                                           sample_idx=i + 1))
             for i in range(2)]
    by_c = model._run_creation(inputs[1:], fresh)
    for s, c in zip(unlabelled, by_c):
        torch.testing.assert_close(s.gt_normal.data, c.pred_normal.data)
    model.eval()
    by_e = model.estimator.predict(inputs[1:], [
        DenseDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                      sample_idx=i + 1)) for i in range(2)])
    assert not torch.allclose(by_e[0].pred_normal.data,
                              unlabelled[0].gt_normal.data)
    # the model evaluates with θ_C in stage 2
    out = model.predict(inputs[1:], [DenseDataSample(metainfo=dict(
        img_shape=(64, 64), ori_shape=(64, 64), sample_idx=i + 1))
        for i in range(2)])
    for s, o in zip(unlabelled, out):
        torch.testing.assert_close(o.pred_normal.data, s.gt_normal.data)
    # ... or with θ_E when asked
    model.eval_with = 'exploitation'
    out = model.predict(inputs[1:], [DenseDataSample(metainfo=dict(
        img_shape=(64, 64), ori_shape=(64, 64), sample_idx=i + 1))
        for i in range(2)])
    torch.testing.assert_close(out[0].pred_normal.data,
                               by_e[0].pred_normal.data)


def test_unlabelled_samples_in_stage1_are_refused(model):
    inputs, samples = _batch(n=2, labelled=1)
    with pytest.raises(RuntimeError, match='before stage 2'):
        model.loss(inputs, samples)


def test_stage1_checkpoint_is_loaded_into_theta_e(cfg, tmp_path):
    torch.manual_seed(1)
    stage1 = MODELS.build(cfg.model.estimator)
    with torch.no_grad():
        for p in stage1.heads.parameters():
            p.add_(1.0)
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import trainable_state_dict
    path = str(tmp_path / 'stage1.pth')
    save_checkpoint_atomic(dict(state_dict=trainable_state_dict(stage1),
                                meta=dict(unidense=dict(
                                    trainable_only=True))), path)
    model = MODELS.build(dict(cfg.model, stage1_checkpoint=path))
    model.start_self_improving()
    ref = stage1.state_dict()
    for k, v in model.creation_state().items():
        assert torch.equal(v, ref[k]), k


def test_feature_cache_equals_the_uncached_run(cfg):
    est_cfg = dict(cfg.model.estimator)
    # a deterministic backbone (posterior mean, no q-sample noise)
    est_cfg['backbone'] = dict(est_cfg['backbone'], posterior='mean',
                               add_noise=False)
    torch.manual_seed(0)
    plain = SelfImprovingEstimator(est_cfg)
    torch.manual_seed(0)
    cached = SelfImprovingEstimator(est_cfg, feature_cache=dict())
    cached.load_state_dict(plain.state_dict())
    for m in (plain, cached):
        m.start_self_improving()
        m.train()
    # labelled batches: the cache computes the batch the uncached run
    # computes, then serves it again - equal to the bit
    for step in range(2):   # the 2nd pass reuses every image's features
        inputs, samples = _batch(n=3, labelled=3)
        _, samples2 = _batch(n=3, labelled=3)
        torch.manual_seed(step)   # Bae's pixel sampling draws
        a = plain.loss(inputs, samples)
        torch.manual_seed(step)
        b = cached.loss(inputs, samples2)
        for k in a:
            assert torch.equal(a[k], b[k])
    assert cached.feature_cache.misses == 3
    # mixed batches: θ_C's labelling pass and θ_E's pass share features;
    # images first seen in batches of another size differ by float
    # rounding only (oneDNN picks kernels by batch size)
    inputs, samples = _batch(n=3, labelled=1, seed=5)
    _, samples2 = _batch(n=3, labelled=1, seed=5)
    plain.eval(), cached.eval()
    a = plain.predict(inputs, samples)
    b = cached.predict(inputs, samples2)
    for x, y in zip(a, b):
        torch.testing.assert_close(x.pred_normal.data, y.pred_normal.data,
                                   rtol=0, atol=1e-4)
    hit = cached.feature_cache(inputs, {})
    fresh = cached.estimator.backbone(inputs)
    for x, y in zip(hit, fresh):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-4)
    cache = cached.feature_cache
    assert cache.misses == 6 and cache.hits > 0
    # another timestep is another backbone: a miss
    cached.estimator.backbone.timestep = 5
    cache(inputs, {})
    assert cache.misses == 9


def test_feature_cache_refuses_a_trainable_backbone():
    net = torch.nn.Conv2d(3, 4, 1)
    with pytest.raises(ValueError, match='trainable'):
        FeatureCache(net)


class _Concat:
    cumulative_sizes = [10, 16]


def test_sampler_warmup_is_labelled_then_everything():
    sampler = SelfImprovingBatchSampler(dataset=_Concat(), batch_size=2,
                                        warmup_iters=5, seed=3, rank=0,
                                        world_size=1)
    it = iter(sampler)
    batches = [next(it) for _ in range(60)]
    assert all(i < 10 for b in batches[:5] for i in b)
    assert any(i >= 10 for b in batches[5:] for i in b)
    again = iter(sampler)   # a resumed run advances to the same batches
    assert [next(again) for _ in range(60)] == batches
    with pytest.raises(ValueError, match='create_synthetic'):
        class _Empty:
            cumulative_sizes = [10, 10]
        SelfImprovingBatchSampler(dataset=_Empty(), batch_size=2)


def _tiny_generator():
    from diffusers import AutoencoderKL, UNet2DConditionModel
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
        down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'),
        up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
        cross_attention_dim=8, attention_head_dim=2, sample_size=8)
    vae = AutoencoderKL(block_out_channels=(8, 8), norm_num_groups=4,
                        down_block_types=['DownEncoderBlock2D'] * 2,
                        up_block_types=['UpDecoderBlock2D'] * 2,
                        latent_channels=4)

    class _Text:
        def encode(self, prompts):
            g = torch.Generator().manual_seed(len(prompts[0]))
            return dict(embeds=torch.randn(len(prompts), 3, 8, generator=g),
                        mask=None, pooled=None)
    return unet.eval(), vae.eval(), _Text()


@pytest.mark.parametrize('prediction', ['epsilon', 'v_prediction'])
def test_regenerate_images_is_seeded_and_keeps_the_size(prediction):
    unet, vae, text = _tiny_generator()
    sched = dict(type='DDPMScheduler', prediction_type=prediction)
    images = torch.rand(2, 3, 16, 16) * 2 - 1

    def run(seed):
        gens = [torch.Generator().manual_seed(seed + i) for i in range(2)]
        return regenerate_images(unet, vae, text, sched, images, ['a', 'b'],
                                 noise_timestep=60, num_inference_steps=5,
                                 generators=gens)
    a, b, c = run(0), run(0), run(1)
    assert a.shape == images.shape and a.abs().max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match='prompts'):
        regenerate_images(unet, vae, text, sched, images, ['a'])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_create_synthetic_is_resumable_and_sharded(tmp_path):
    import cv2

    from tools.create_synthetic import main
    whole, sharded = tmp_path / 'whole', tmp_path / 'sharded'
    opts = ['--cfg-options', 'synthetic_data.num_inference_steps=5']
    assert main([TINY, '--out-dir', str(whole), '--limit', '3'] + opts) == 0
    for i in (0, 1):
        assert main([TINY, '--out-dir', str(sharded), '--limit', '3',
                     '--shard', f'{i}/2'] + opts) == 0
    for i in range(3):
        a = cv2.imread(str(whole / f'r{i:06d}.png'))
        b = cv2.imread(str(sharded / f'r{i:06d}.png'))
        assert a.shape == (64, 64, 3) and np.array_equal(a, b)
        assert (whole / f'r{i:06d}.txt').read_text().strip()
    # resumable: nothing left to make, files untouched
    before = (whole / 'r000000.png').stat().st_mtime_ns
    assert main([TINY, '--out-dir', str(whole), '--limit', '3'] + opts) == 0
    assert (whole / 'r000000.png').stat().st_mtime_ns == before
    # the folder is the unlabelled dataset of the config
    init_default_scope('unidense')
    cfg = Config.fromfile(TINY)
    ds = DATASETS.build(dict(cfg.train_dataloader.dataset.datasets[1],
                             data_root=str(whole)))
    assert len(ds) == 3
    sample = ds[0]['data_samples']
    assert sample.caption and SelfImprovingEstimator.is_unlabelled(sample)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('config', [
    'configs/merge/pixart_depth_selfimprove_tiny.py',
    'configs/jointnet/sd21_rgbd_selfimprove_tiny.py',
    'configs/diff2in1/invpt_nyudmt_selfimprove_tiny.py',
    'configs/diff2in1/vpd_nyu_depth_selfimprove_tiny.py'])
def test_every_method_trains_both_stages_from_its_config(tmp_path, config):
    """MERGE, JointNet and the (multi-task) heads: warm-up, stage 2 with
    pseudo-labelled synthetic images, θ_C moved, evaluated with θ_C."""
    from tests.test_reliability.test_kill_resume import _synthetic_images
    from tools.train import main as train
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    synthetic = _synthetic_images(tmp_path / 'synthetic', config)
    work = tmp_path / 'work'
    opts = ['train_cfg.max_iters=3', 'train_cfg.val_interval=3',
            'default_hooks.checkpoint.interval=3',
            'train_dataloader.batch_size=2',
            'val_dataloader.batch_size=2',
            'val_dataloader.dataset.num_samples=2',
            'custom_hooks.0.warmup_iters=1',
            'custom_hooks.0.ema_interval=1',
            'train_dataloader.batch_sampler.warmup_iters=1',
            f'train_dataloader.dataset.datasets.1.data_root={synthetic}']
    train([osp.join(REPO, config), '--work-dir', str(work),
           '--cfg-options'] + opts)
    ckpt = (work / 'last_checkpoint').read_text().strip()
    state = load_checkpoint_safe(ckpt)['state_dict']
    assert int(state['creation_ready']) == 1
    creation = {k[len('creation.'):].replace('/', '.'): v
                for k, v in state.items() if k.startswith('creation.')}
    assert creation
    moved = [k for k, v in creation.items() if v.is_floating_point() and
             not torch.equal(v, state['estimator.' + k])]
    assert moved   # θ_C follows θ_E by EMA, it does not equal it


SELFIMPROVE_CONFIGS = sorted(
    osp.relpath(p, REPO) for p in __import__('glob').glob(
        osp.join(REPO, 'configs', '*', '*_selfimprove*.py')))


@pytest.mark.parametrize('config', SELFIMPROVE_CONFIGS)
def test_selfimprove_configs_wrap_their_stage1_config(config):
    """Each *_selfimprove config wraps its stage-1 config's model, draws
    warm-up batches for exactly the hook's warm-up, and labels a synthetic
    folder that create_synthetic.py writes."""
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.type == 'SelfImprovingEstimator'
    assert cfg.model.estimator.type in ('DiffusionPerceptor', 'MERGE',
                                        'JointNet')
    if config.endswith('_nyu_real.py'):
        return
    hook = [h for h in cfg.custom_hooks if h.type == 'SelfImprovingHook']
    assert len(hook) == 1
    assert hook[0].warmup_iters == cfg.train_dataloader.batch_sampler.\
        warmup_iters < cfg.train_cfg.max_iters
    synthetic = cfg.train_dataloader.dataset.datasets[-1]
    assert synthetic.type == 'ImageCaptionDataset' and synthetic.unlabelled
    assert synthetic.data_root == cfg.synthetic_data.out_dir
