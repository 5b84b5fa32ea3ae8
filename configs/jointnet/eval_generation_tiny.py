# JointNet's "little degradation" claim at tiny size: the RGB of tiny
# JointNet's joint RGB-D samples (sd21_rgbd_tiny.py; 20 DDIM steps, CFG 3)
# for the captions of 256 held-out SyntheticScenes, against the plain tiny
# UNet (eval_generation_tiny_plain_unet.py), both scored by the Frechet
# distance of a fixed random conv net's features to the held-out scenes
# (no Inception weights offline; see RandomConvFeatures). Images cached in
# work_dirs/eval_generation_tiny/images.
#   python tools/test.py configs/jointnet/eval_generation_tiny.py CKPT
_base_ = ['./sd21_rgbd_tiny.py']

_held_out = dict(type='SyntheticScenes', num_samples=256, img_size=64,
                 seed=1000, max_objects=4, test_mode=True)
model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=20,
                                  guidance_scale=3.0),
             cache_dir='work_dirs/eval_generation_tiny/images', seed=0)
test_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PromptSetDataset', source=_held_out))
test_evaluator = [dict(
    type='FIDMetric',
    reference=dict(_held_out, pipeline=[dict(type='LoadImage'),
                                        dict(type='PackDenseInputs')]),
    # 16 features: 256 samples estimate their covariance well (with 64
    # features and 64 samples real-vs-real scored above the generator)
    feature_extractor=dict(type='RandomConvFeatures', seed=0,
                           num_features=16))]
test_cfg = dict(type='TestLoop')
default_hooks = dict(visualization=None)
