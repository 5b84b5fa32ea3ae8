# Diff-2-in-1's frozen feature extractor on Stable Diffusion v1.5 (brief
# 1.2-1.3): VAE posterior *sample* x 0.18215, q-sample to t = 0, one UNet call
# with the empty prompt, every down / mid / up tap concatenated per
# resolution ([2560, 4160, 7040, 7680] channels at strides 8-64). The UNet,
# VAE and CLIP text encoder are frozen; the neck and the head train.
# Method configs use `backbone` and keep sd15.py's `unet`, `vae`,
# `text_encoder` for variants (VPD: taps='vpd', class-name text, fine-tuned).
_base_ = ['../../_base_/models/sd15.py']

backbone = dict(
    type='SDUNetFeatures',
    unet={{_base_.unet}},
    vae={{_base_.vae}},
    text_encoder={{_base_.text_encoder}},
    timestep=0,
    posterior='sample',
    apply_scaling=True,
    add_noise=True,
    text='empty',
    taps='all',
    frozen_unet=True)
# Diff-2-in-1 fusion module (Eq. 9-10): each tapped level is fused one step
# finer than it is tapped (the estimator's default target strides), BN and
# spectral-normalised residual blocks as the released SNmodule.
neck = dict(type='MultiScaleFusionNeck', norm='BN', spectral_norm=True)
