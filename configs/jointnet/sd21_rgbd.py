# JointNet stage 1 (Zhang et al., ICLR 2024): Stable Diffusion 2.1-base RGB
# UNet (frozen) + a trainable copy for depth, densely linked by zero convs
# (ZeroConvExchange). Trainable: the depth UNet + both directions' exchange
# convs = 865,910,724 + 2 x 11,491,520 = 888,893,764 parameters:
#   python tools/analysis_tools/count_params.py configs/jointnet/sd21_rgbd.py
# Train (paper: 64 A100 x batch 4 at 512 px, 10k iterations, lr 1e-4 with
# 1000 warm-up iterations, text dropout 15 %, noise offset 0.05):
#   bash tools/dist_train.sh configs/jointnet/sd21_rgbd.py 8
# Test as a depth estimator (rgb2j channel-wise inpainting):
#   python tools/test.py configs/jointnet/sd21_rgbd.py CKPT
_base_ = [
    '../_base_/models/sd21_base.py',
    '../_base_/datasets/nyu_depth_eval.py',
    '../_base_/default_runtime.py'
]

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
    # COYO-style caption folders have no depth: label it online with
    # DPT-Hybrid MiDaS (the paper's labeller; disparity, near = bright, as
    # the official model), normalised per image to [-1, 1]
    labellers=dict(depth=dict(transformers_class='DPTForDepthEstimation',
                              from_pretrained='Intel/dpt-hybrid-midas')),
    prompt='',
    num_inference_steps=50,
    guidance_scale=7.5,
    depth_steps=50,
    depth_guidance_scale=1.0,
    ensemble_size=1,
    processing_res=512)

# COYO-700M filtered as the paper (both sides > 512, watermark < 0.5,
# aesthetic > 5); any image-caption folder works (docs/dataset_prepare.md)
train_pipeline = [
    dict(type='LoadImage'),
    # every kept image has both sides >= 512: a random 512 x 512 crop
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ImageCaptionDataset', data_root='data/coyo',
                 min_side=512, max_watermark=0.5, min_aesthetic=5.0,
                 pipeline=train_pipeline))

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
default_hooks = dict(
    checkpoint=dict(interval=2000, max_keep_ckpts=3, save_last=True),
    logger=dict(interval=50))

# the model learns MiDaS disparity: align in disparity space, as the
# paper's MegaDepth protocol (Table 2)
val_evaluator = dict(type='DepthMetric', protocol='auto',
                     alignment='least_squares_disparity')
test_evaluator = val_evaluator
