"""DiffusionPerceptor: frozen parts stay frozen, necks fit the heads, several
heads, the added timm encoder, predictions at ori_shape; TimmEncoder; the
gt_edge / derived-label transforms."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import unidense.datasets  # noqa: F401
import unidense.models  # noqa: F401
from unidense.diffusion.freezing import is_frozen
from unidense.registry import DATASETS, MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(REPO, 'configs', 'diff2in1')


def _cfg(name):
    return Config.fromfile(osp.join(CFG, name + '.py'))


def _batch(cfg, n=2, train=True, **dataset_kwargs):
    key = 'train_dataloader' if train else 'val_dataloader'
    ds_cfg = copy.deepcopy(cfg[key].dataset)
    ds_cfg.update(dataset_kwargs)
    ds = DATASETS.build(ds_cfg)
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.fixture(scope='module')
def bae_cfg():
    return _cfg('bae_nyu_normal_tiny')


@pytest.fixture(scope='module')
def bae(bae_cfg):
    torch.manual_seed(0)
    return MODELS.build(bae_cfg.model)


def _frozen_modules(model):
    bb = model.backbone
    return dict(unet=bb.unet, vae=bb.codec, text_encoder=bb.text_encoder)


def test_only_neck_and_head_train_frozen_unet_stays_frozen(bae, bae_cfg):
    model = copy.deepcopy(bae)
    model.train()
    for name, part in _frozen_modules(model).items():
        assert is_frozen(part) and not part.training, name
        assert not any(p.requires_grad for p in part.parameters()), name
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(('necks.', 'heads.'))
                             for n in trainable)

    data = model.data_preprocessor(_batch(bae_cfg), True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters()
                             if p.requires_grad], lr=1e-2)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_angmf'}
    sum(losses.values()).backward()
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        else:
            assert p.grad is None, n
    opt.step()
    after = model.state_dict()
    for k in before:
        changed = not torch.equal(before[k], after[k])
        if k.startswith('backbone.'):
            assert not changed, k  # UNet, VAE, text encoder untouched
    assert any(not torch.equal(before[k], after[k]) for k in before
               if k.startswith('heads.'))


def test_neck_gives_exactly_the_head_levels(bae):
    neck, head = bae.necks[0], bae.heads[0]
    assert neck.out_specs == [tuple(s) for s in head.feature_specs]
    # the VAE's downsampling times the UNet's 4 levels (x4 for the tiny
    # family's VAE, x8 for SD's)
    vae_stride = bae.backbone.codec.downsample_factor
    strides = [vae_stride * 2**i for i in range(4)]
    assert bae.in_strides == strides
    # Diff-2-in-1 fuses each tap one step finer (brief 1.4): 8, 8, 16, 32
    # on SD's x8 VAE
    assert neck.target_strides == [strides[0]] + strides[:3]
    with torch.no_grad():
        feats = bae.extract_feat(torch.zeros(1, 3, 64, 64))[0]
    assert [(64 // f.shape[-1], f.shape[1]) for f in feats] == \
        list(head.feature_specs)


def test_predict_at_ori_shape_through_input_size(bae_cfg):
    cfg = copy.deepcopy(bae_cfg.model)
    cfg.input_size = (64, 64)  # as the full config's (512, 512)
    model = MODELS.build(cfg).eval()
    pipeline = list(bae_cfg.val_dataloader.dataset.pipeline)
    pipeline.insert(-1, dict(type='PadToMultiple', size_divisor=64,
                             keep_gt_at_ori=True))
    batch = _batch(bae_cfg, train=False, img_size=(40, 56),
                   pipeline=pipeline)
    data = model.data_preprocessor(batch, False)
    assert data['inputs'].shape[-2:] == (64, 64)
    with torch.no_grad():
        out = model(**data, mode='predict')
    for s in out:
        assert s.pred_normal.data.shape == (3, 40, 56)
        assert s.pred_normal_uncertainty.data.shape == (1, 40, 56)
        assert torch.allclose(s.pred_normal.data.norm(dim=0),
                              torch.ones(40, 56), atol=1e-4)
        assert (s.pred_normal_uncertainty.data > 0.01).all()
    raw = model(data['inputs'], mode='tensor')
    assert raw['normal'].shape[-2:] == (64, 64)
    # the backbone's noise is seeded per batch: evaluation repeats exactly
    state = torch.get_rng_state()
    with torch.no_grad():
        again = model(**model.data_preprocessor(batch, False),
                      mode='predict')
    assert torch.equal(torch.get_rng_state(), state)
    for a, b in zip(out, again):
        assert torch.equal(a.pred_normal.data, b.pred_normal.data)


def test_several_heads_share_the_backbone(bae_cfg):
    cfg = copy.deepcopy(bae_cfg.model)
    depth_head = dict(type='IDiscHead', task='depth',
                      in_channels=(8, 16, 16, 32), hidden_dim=32, ffn_dim=64,
                      decoder_depth=1, decoder_heads=2, num_points=2,
                      num_latents=8, latent_dim=16)
    cfg.head = [cfg.head, depth_head]
    cfg.head_weights = [1.0, 0.5]
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    assert len(model.necks) == 2
    assert model.necks[1].out_specs == list(model.heads[1].feature_specs)
    batch = _batch(bae_cfg)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_angmf', 'loss_silog'}
    torch.manual_seed(1)
    alone = model.heads[1].loss(
        model.extract_feat(data['inputs'], data['data_samples'])[1],
        data['data_samples'])['loss_silog']
    assert alone.item() > 0
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(batch, False), mode='predict')
    assert out[0].pred_normal.data.shape == (3, 64, 64)
    assert out[0].pred_depth.data.shape == (1, 64, 64)
    assert (out[0].pred_depth.data > 0).all()


def test_head_weights_scale_a_head(bae_cfg):
    batch = _batch(bae_cfg)
    got = []
    for w in (1.0, 0.25):
        cfg = copy.deepcopy(bae_cfg.model)
        cfg.head_weights = [w]
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        data = model.data_preprocessor(batch, True)
        torch.manual_seed(3)
        got.append(model(**data, mode='loss')['loss_angmf'])
    assert torch.allclose(got[1], 0.25 * got[0], rtol=1e-4)


def test_neck_none_and_encoder_widths_are_checked(bae_cfg):
    vpd = _cfg('vpd_nyu_depth_tiny').model
    bad = copy.deepcopy(vpd)
    bad.head.in_channels = (16, 32, 32, 64)
    with pytest.raises(ValueError, match='neck=None'):
        MODELS.build(bad)
    cfg = copy.deepcopy(bae_cfg.model)
    cfg.encoder = dict(type='TimmEncoder', model_name='vit_tiny_patch16_224',
                       img_size=64, block_indices=(1, ),
                       model_kwargs=dict(embed_dim=32, depth=2, num_heads=2))
    with pytest.raises(ValueError, match='encoder maps'):
        MODELS.build(cfg)


def test_encoder_maps_are_added_to_the_diffusion_features():
    cfg = _cfg('invpt_nyudmt_tiny')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    enc = model.encoder
    assert enc.out_channels == [32, 32, 32] and enc.out_strides == [16] * 3
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.manual_seed(5)
        got = model.extract_feat(x)[0]
        torch.manual_seed(5)
        diff = model.necks[0](model.backbone(x))
        vit = enc(x)
    assert [tuple(f.shape[-2:]) for f in got] == [(8, 8), (4, 4), (2, 2)]
    for g, d, v in zip(got, diff, vit):
        v = torch.nn.functional.interpolate(v, size=d.shape[-2:],
                                            mode='bilinear',
                                            align_corners=False)
        assert torch.allclose(g, d + v, atol=1e-5)
    # the ViT trains with the neck and head (InvPT fine-tunes it)
    assert all(p.requires_grad for p in enc.parameters())


def test_taskprompter_blocks_come_from_the_encoder_vit():
    cfg = _cfg('taskprompter_nyudmt_tiny')
    enc_cfg = dict(cfg.model.encoder)
    enc_cfg.pop('_delete_', None)
    enc = MODELS.build(enc_cfg)
    assert enc.out_channels == [32] and not hasattr(enc.model.blocks, '0')
    # what pretrained=True keeps: timm's blocks / norm weights (offline
    # tests fill it by hand from another random ViT)
    import timm
    vit = timm.create_model('vit_tiny_patch16_224', embed_dim=32, depth=3,
                            num_heads=2, img_size=64, num_classes=0)
    enc.handoff = {'blocks': vit.blocks.state_dict(),
                   'norm': vit.norm.state_dict()}
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.encoder = enc
    model = MODELS.build(model_cfg)
    head = model.heads[0]
    for k, v in vit.blocks.state_dict().items():
        assert torch.equal(head.blocks.state_dict()[k], v), k
    assert torch.equal(head.norm.weight, vit.norm.weight)
    assert enc.handoff == {}


def test_timm_encoder_hierarchical_features():
    enc = MODELS.build(dict(
        type='TimmEncoder', model_name='swin_tiny_patch4_window7_224',
        output='features', img_size=64,
        model_kwargs=dict(embed_dim=16, depths=(1, 1, 1, 1),
                          num_heads=(1, 1, 1, 1), window_size=2)))
    assert enc.out_channels == [16, 32, 64, 128]
    assert enc.out_strides == [4, 8, 16, 32]
    outs = enc(torch.zeros(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [
        (1, 16, 16, 16), (1, 32, 8, 8), (1, 64, 4, 4), (1, 128, 2, 2)]


def test_timm_encoder_pretrained_offline_is_a_clear_error():
    from unidense.diffusion.pretrained import PretrainedNotFoundError
    cache = osp.expanduser('~/.cache/huggingface/hub')
    if osp.isdir(cache) and any('vit_tiny_patch16_224' in d
                                for d in __import__('os').listdir(cache)):
        pytest.skip('the weights are cached here')
    with pytest.raises(PretrainedNotFoundError, match='vit_tiny_patch16_224'):
        MODELS.build(dict(type='TimmEncoder',
                          model_name='vit_tiny_patch16_224', pretrained=True))


def test_load_edge_from_labels_and_files(tmp_path):
    import cv2
    label = np.zeros((6, 8), np.int64)
    label[:, 4:] = 2
    label[0, 0] = 255
    t = TRANSFORMS.build(dict(type='LoadEdge', from_key='gt_sem_seg'))
    edge = t(dict(gt_sem_seg=label))['gt_edge']
    assert edge.dtype == np.float32 and edge.shape == (6, 8)
    assert edge[:, 3:5].all() and edge[:, :3].sum() == 0 and \
        edge[:, 5:].sum() == 0
    png = np.zeros((6, 8), np.uint8)
    png[2, 3] = 255
    cv2.imwrite(str(tmp_path / 'e.png'), png)
    t = TRANSFORMS.build(dict(type='LoadEdge', from_key=None))
    edge = t(dict(edge_path=str(tmp_path / 'e.png')))['gt_edge']
    assert edge.sum() == 1 and edge[2, 3] == 1
    with pytest.raises(KeyError):
        t(dict())


def test_map_labels_and_packed_fields():
    label = np.array([[0, 3, 4], [5, 255, 1]], np.int64)
    parts = TRANSFORMS.build(dict(type='MapLabels', dst='gt_parsing',
                                  lut=[0, 0, 0, 1, 2, 3]))
    sal = TRANSFORMS.build(dict(type='MapLabels', dst='gt_saliency',
                                lut=[0, 0, 0, 1, 1, 1], dtype='float'))
    r = sal(parts(dict(gt_sem_seg=label)))
    assert r['gt_parsing'].tolist() == [[0, 1, 2], [3, 255, 0]]
    assert r['gt_saliency'].tolist() == [[0, 1, 1], [1, 0, 0]]
    assert r['gt_saliency'].dtype == np.float32
    cfg = _cfg('invpt_pascal_tiny')
    sample = _batch(cfg, n=1)['data_samples'][0]
    assert sample.gt_parsing.data.dtype == torch.long
    assert set(sample.gt_parsing.data.unique().tolist()) <= {0, 1, 2, 3}
    assert sample.gt_edge.data.shape == (1, 64, 64)
    assert sample.gt_edge.data.sum() > 0


def test_tiny_delta_baselines_are_the_trivial_predictors():
    """tiny_parts.py's Delta_m baselines: majority class / part, mean
    training depth, normal and saliency maps on the held-out scenes."""
    import unidense.evaluation  # noqa: F401
    from unidense.registry import METRICS
    cfg = Config.fromfile(osp.join(CFG, '_base_', 'tiny_parts.py'))
    train = DATASETS.build(dict(cfg.tiny_train_dataloader.dataset,
                                pipeline=cfg.tiny_test_pipeline))  # no flip
    val = DATASETS.build(cfg.tiny_val_dataloader.dataset)
    samples = [train[i]['data_samples'] for i in range(len(train))]

    def stack(f):
        return torch.stack([getattr(s, f).data for s in samples])

    seg_major = int(torch.bincount(stack('gt_sem_seg').flatten()).argmax())
    part_major = int(torch.bincount(stack('gt_parsing').flatten()).argmax())
    depth = stack('gt_depth').mean(0)
    normal = torch.nn.functional.normalize(stack('gt_normal').mean(0), dim=0)
    sal = stack('gt_saliency').mean(0)
    metric = METRICS.build(dict(
        type='MultiTaskMetric',
        metrics=[
            dict(type='IoUMetric'),
            dict(type='DepthMetric', alignment='none', min_depth=1e-3,
                 max_depth=20.0, reduction='pooled', metrics=['rmse']),
            dict(type='NormalMetric', reduction='pooled'),
            dict(type='IoUMetric', prefix='parsing',
                 pred_field='pred_parsing', gt_field='gt_parsing',
                 class_names=cfg.tiny_part_classes),
            dict(type='SaliencyMetric', invpt_sigmoid=True)]))
    metric.dataset_meta = val.metainfo
    for i in range(len(val)):
        batch = pseudo_collate([val[i]])
        s = batch['data_samples'][0]
        s.pred_sem_seg = torch.full((1, 64, 64), seg_major)
        s.pred_parsing = torch.full((1, 64, 64), part_major)
        s.pred_depth, s.pred_normal, s.pred_saliency = depth, normal, sal
        metric.process(batch, [s.to_dict()])
    scores = metric.compute_metrics(metric.results)
    for key, value in cfg.tiny_trivial_scores.items():
        assert scores[key] == pytest.approx(value, abs=0.01), key
