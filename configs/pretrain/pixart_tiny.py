# Tiny family, part 2: a PixArt-alpha DiT (diffusers PixArtTransformer2DModel,
# 6 blocks of width 128, 1.8M parameters) trained text-to-image from scratch
# on 64x64 SyntheticScenes in the latent space of the tiny VAE, conditioned
# on the fixed tiny T5. Needs model_zoo/unidense-tiny/{vae,text_encoder,
# tokenizer,scheduler} (configs/pretrain/vae_tiny.py, tools/pretrain/
# make_tiny_fixed_parts.py).
#   python tools/train.py configs/pretrain/pixart_tiny.py \
#       --work-dir work_dirs/pretrain/pixart_tiny
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/pixart_tiny.py \
#       work_dirs/pretrain/pixart_tiny/iter_6000.pth \
#       model_zoo/unidense-tiny/transformer
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/unidense_tiny_family.py', './_t2i_tiny_data.py']

_iters = 6000
model = dict(
    type='TextToImagePretrainer',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=8),
    denoiser={{_base_.transformer_architecture}},
    vae={{_base_.vae}},
    text_encoder={{_base_.text_encoder}},
    train_scheduler={{_base_.train_scheduler}},
    prediction_type='v_prediction',
    caption_dropout=0.1,
    ema_momentum=1e-3)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.99),
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', T_max=_iters - 200, eta_min=1e-5,
         by_epoch=False, begin=200, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters)
default_hooks = dict(
    checkpoint=dict(interval=250, max_keep_ckpts=2, save_last=True),
    logger=dict(interval=50))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
