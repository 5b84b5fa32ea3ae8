# The JointNet model on SD-2.1-base and the paper's stage-1 optimiser
# (§3.4), shared by sd21_rgbd.py (COYO-style data, NYU evaluation) and
# sd21_rgbd_tiny.py (SyntheticScenes, the tiny family's parts).
_base_ = ['../../_base_/models/sd21_base.py']

# SD-2.1-base inference scheduler: DDIM, eta 0, 'leading' spacing
_ddim = dict(
    type='DDIMScheduler',
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule='scaled_linear',
    num_train_timesteps=1000,
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
    prediction_type='epsilon')

model = dict(
    _delete_=True,
    type='JointNet',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=8),
    backbone=dict(type='SDUNet', unet={{_base_.unet}}),
    fusion=dict(type='ZeroConvExchange', modalities=('depth', ),
                masked_input=False),
    # the official pipelines encode with a posterior sample
    codec=dict(type='LatentCodec', vae={{_base_.vae}},
               sample_posterior=True),
    text_encoder={{_base_.text_encoder}},
    # SD-2.1-base: epsilon prediction, the paper's loss (Eq. 1)
    train_scheduler={{_base_.scheduler}},
    test_scheduler=_ddim,
    train_rgb_branch=False,
    caption_dropout=0.15,
    noise_offset=0.05,
    labellers=None,
    prompt='',
    num_inference_steps=50,
    guidance_scale=7.5,
    depth_steps=50,
    depth_guidance_scale=1.0,
    ensemble_size=1,
    processing_res=512)

# AdamW lr 1e-4, 1000 linear warm-up iterations, 10k iterations
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.01),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=1000),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=1000,
         end=10000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000,
                 val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
