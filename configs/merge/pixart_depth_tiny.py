# MERGE-B at tiny sizes on the pretrained tiny family (model_zoo/
# unidense-tiny): the frozen text-to-image DiT is the family's PixArt-alpha
# transformer (6 blocks, trained text-to-image by configs/pretrain/
# pixart_tiny.py), with its VAE (x4) and text encoder. Same code path as
# pixart_depth.py; sizes, data and the sampling recipe differ (below).
#   python tools/train.py configs/merge/pixart_depth_tiny.py
# The control with the same shapes and a random frozen DiT is
# pixart_depth_tiny_random.py.
_base_ = ['./pixart_depth.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
_img = 64
_iters = 1000

model = dict(
    data_preprocessor=dict(size_divisor=8),
    backbone=dict(transformer=dict(
        _delete_=True, type='PixArtTransformer2DModel', from_pretrained=_zoo,
        subfolder='transformer')),
    # 6 frozen blocks in 3 pairs, one shared converter per pair
    fusion=dict(num_groups=3),
    codec=dict(
        _delete_=True,
        type='LatentCodec',
        vae=dict(type='AutoencoderKL', from_pretrained=_zoo, subfolder='vae',
                 frozen=True),
        sample_posterior=False),
    text_encoder=dict(
        _delete_=True,
        type='TextEncoder',
        encoders=[dict(
            tokenizer=dict(type='PreTrainedTokenizerFast',
                           from_pretrained=_zoo, subfolder='tokenizer'),
            encoder=dict(type='T5EncoderModel', from_pretrained=_zoo,
                         subfolder='text_encoder'),
            role='sequence', max_length=48)],
        frozen=True),
    # the family's DiT was trained with v-prediction on DDPM's linear
    # betas, so depth mode uses the same target and schedule; one trailing
    # DDIM step (the v-model's x0 estimate) ensembled over 5 noise draws
    # keeps CPU evaluation fast (MERGE-B: epsilon, DPM-Solver 20 steps)
    prediction_type='v_prediction',
    train_scheduler=dict(_delete_=True, type='DDPMScheduler',
                         config=_zoo + '/scheduler'),
    test_scheduler=dict(_delete_=True, type='DDIMScheduler',
                        config=_zoo + '/scheduler',
                        timestep_spacing='trailing'),
    t2i_scheduler=dict(_delete_=True, type='DDIMScheduler',
                       config=_zoo + '/scheduler',
                       timestep_spacing='trailing'),
    num_inference_steps=1,
    ensemble_size=5)

_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]
_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='PackDenseInputs'),
]
# the family's scene distribution (up to four objects); training scenes
# are seeded apart from the held-out ones
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=1024, img_size=_img,
                 seed=0, max_objects=4, cache_size=1024,
                 pipeline=_train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticScenes', num_samples=64, img_size=_img,
                 seed=1000, max_objects=4, test_mode=True,
                 pipeline=_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='DepthMetric', alignment='least_squares',
    min_depth=1e-3, max_depth=20.0, clip_pred=True, scale_percent=True)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0,
         end=20),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=20, end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=_iters)
default_hooks = dict(
    checkpoint=dict(interval=_iters, max_keep_ckpts=1, save_last=True),
    logger=dict(interval=100),
    visualization=dict(type='DenseVisualizationHook', draw=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
