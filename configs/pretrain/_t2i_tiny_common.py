# What the tiny family's two text-to-image pretrainings share (pixart_tiny.py,
# unet_tiny.py set the denoiser and the length): the pretrainer around the
# family's frozen VAE and text encoder, 64x64 SyntheticScenes with up to four
# objects and their captions (every scene rendered once and cached), AdamW.
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/unidense_tiny_family.py']

model = dict(
    type='TextToImagePretrainer',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=8),
    vae={{_base_.vae}},
    text_encoder={{_base_.text_encoder}},
    train_scheduler={{_base_.train_scheduler}},
    prediction_type='v_prediction',
    caption_dropout=0.1,
    ema_momentum=1e-3)
_img = 64
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=20000, img_size=_img,
                 seed=0, max_objects=4, cache_size=20000,
                 pipeline=[dict(type='LoadImage'),
                           dict(type='PackDenseInputs')]))
# Generation is evaluated by tools/analysis_tools/eval_tiny_family.py
# (prompt following, FID against held-out scenes), not by a val loop.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.99),
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
default_hooks = dict(
    checkpoint=dict(interval=250, max_keep_ckpts=2, save_last=True),
    logger=dict(interval=50))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
