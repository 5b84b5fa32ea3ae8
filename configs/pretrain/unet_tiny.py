# Tiny family, part 3: an SD-style UNet (diffusers UNet2DConditionModel, 4
# levels of widths 32-64, cross-attention in the middle two, 2.1M
# parameters) trained text-to-image from scratch on 64x64 SyntheticScenes
# in the latent space of the tiny VAE, conditioned on the fixed tiny T5.
# Needs model_zoo/unidense-tiny/{vae,text_encoder,tokenizer,scheduler}
# (configs/pretrain/vae_tiny.py, tools/pretrain/make_tiny_fixed_parts.py).
#   python tools/train.py configs/pretrain/unet_tiny.py \
#       --work-dir work_dirs/pretrain/unet_tiny
#   python tools/model_converters/export_pretrained.py \
#       configs/pretrain/unet_tiny.py \
#       work_dirs/pretrain/unet_tiny/iter_3000.pth model_zoo/unidense-tiny/unet
_base_ = ['./_t2i_tiny_common.py']

_iters = 3000
model = dict(denoiser={{_base_.unet_architecture}})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', T_max=_iters - 200, eta_min=1e-5,
         by_epoch=False, begin=200, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters)
