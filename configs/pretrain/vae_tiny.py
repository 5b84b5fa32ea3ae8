# Tiny family, part 1: an SD-style AutoencoderKL (3 blocks -> 4x
# downsampling, 4 latent channels, 64x64 -> 16x16x4) trained from scratch on
# SyntheticScenes RGB images, depth maps (replicated to 3 channels, as
# Marigold/MERGE feed depth to the VAE) and normal maps, so one VAE serves
# text-to-image latents and LatentCodec's depth / normal latents. It trains
# on random 32x32 crops of the 64x64 renders (4x fewer pixels a step; the
# VAE is convolutional, SD's was trained on 256 crops and runs at 512+) and
# is evaluated on whole 64x64 images.
#   python tools/train.py configs/pretrain/vae_tiny.py \
#       --work-dir work_dirs/pretrain/vae_tiny
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/vae_tiny.py \
#       work_dirs/pretrain/vae_tiny/iter_3000.pth model_zoo/unidense-tiny/vae
# Model zoo figures: model_zoo/unidense-tiny/README.md.
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/unidense_tiny_family.py']

_iters = 3000
_img = 64

model = dict(
    type='VAEPretrainer',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=8),
    vae={{_base_.vae_architecture}},
    modalities=dict(rgb=1.0, depth=1.0, normal=0.5),
    kl_weight=1e-6)

_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=4000, img_size=_img,
                 seed=0, max_objects=4, cache_size=4000,
                 pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                           dict(type='LoadNormal'),
                           dict(type='RandomFlip', prob=0.5),
                           dict(type='NormalizeDepth', min_quantile=0.02,
                                max_quantile=0.98),
                           dict(type='RandomCrop', crop_size=(32, 32)),
                           dict(type='PackDenseInputs')]))
# held-out scenes: decode(encode(depth)) scored like a depth prediction
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticScenes', num_samples=64, img_size=_img,
                 seed=1000, max_objects=4, test_mode=True,
                 pipeline=_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', alignment='least_squares',
                     min_depth=1e-3, max_depth=20.0, clip_pred=True,
                     scale_percent=True)
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.99),
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', T_max=_iters - 100, eta_min=1e-5,
         by_epoch=False, begin=100, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=250, max_keep_ckpts=2, save_last=True),
    logger=dict(interval=50))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
