# MERGE's claim that text-to-image is untouched, measured: the tiny MERGE
# (pixart_depth_tiny.py) in T2I mode - the frozen tiny DiT - generates one
# image per caption of 256 held-out SyntheticScenes (25 DDIM steps, CFG 3,
# seed + prompt index), cached in work_dirs/eval_t2i_tiny/images (a rerun
# reuses them), and is scored by the Frechet distance of a fixed random
# conv net's features to the 256 held-out scenes themselves (no Inception
# weights offline; see RandomConvFeatures).
#   python tools/test.py configs/merge/eval_t2i_tiny.py [CKPT]
# Without CKPT: the untrained converters (T2I does not use them); with a
# trained MERGE checkpoint the figure must be the same.
_base_ = ['./pixart_depth_tiny.py']

_held_out = dict(type='SyntheticScenes', num_samples=256, img_size=64,
                 seed=1000, max_objects=4, test_mode=True)
model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=25,
                                  guidance_scale=3.0),
             cache_dir='work_dirs/eval_t2i_tiny/images', seed=0)
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
