# Two-stage self-improving training (Diff-2-in-1 stage 2, §4 and A.2-A.3)
# at full size, shared by configs/diff2in1/*_selfimprove.py. Each config:
#   1. python tools/create_synthetic.py configs/diff2in1/<name>_selfimprove.py
#      (once: SDEdit re-generations of the labelled training images by the
#      frozen SD-1.5 - VAE latent noised to t = 600, DDIM 50 without CFG,
#      captioned - written to synthetic_data.out_dir)
#   2. python tools/train.py configs/diff2in1/<name>_selfimprove.py
# Stage 1 (warm-up, Eq. 6) is the head's own config for its iterations;
# stage 2 (Eq. 7-8) runs as long again on labelled + synthetic images with
# the creation copy theta_C labelling the synthetic ones and following
# theta_E by EMA (alpha 0.998, every 40 samples); the head's schedule is
# stretched over both stages. Evaluation uses theta_C (released protocol).
# the frozen SD-1.5 that re-generates the images is the head config's own
# `unet`, `vae`, `text_encoder` (configs/_base_/models/sd15.py; built whole
# here, with the output head and VAE decoder the feature extractor drops)
# and SD's training schedule
si_sd_scheduler = dict(type='DDPMScheduler', beta_start=0.00085,
                       beta_end=0.012, beta_schedule='scaled_linear',
                       num_train_timesteps=1000)
si_ema_alpha = 0.998
si_hook = dict(type='SelfImprovingHook', ema_alpha=si_ema_alpha,
               ema_interval_samples=40)
# create_synthetic.py's settings (+ out_dir and generator per config):
# BLIP-2 captions as the paper (a local folder works offline; or
# dict(type='json', file=...) / dict(type='dataset'))
si_synthetic_data = dict(
    captions=dict(type='captioner',
                  model=dict(type='Blip2Captioner',
                             pretrained='Salesforce/blip2-opt-2.7b')),
    noise_timestep=600, num_inference_steps=50, seed=0)
# the unlabelled part (+ data_root per config)
si_synthetic_dataset = dict(
    type='ImageCaptionDataset', unlabelled=True,
    pipeline=[dict(type='LoadImage'), dict(type='RandomFlip', prob=0.5),
              dict(type='PackDenseInputs')])
# the labelled and unlabelled parts' metainfo differ (class names, palette)
si_concat_ignore_keys = ['dataset_name', 'classes', 'palette']

# stage 2 repeats the warm-up length: schedulers stretched x2 (begin, end,
# total_steps), see each config
si_stretch_keys = ('begin', 'end', 'total_steps')
