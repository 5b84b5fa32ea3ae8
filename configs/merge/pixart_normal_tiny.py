# MERGE's normal-estimation extension at tiny sizes: pixart_depth_tiny.py's
# grouped converters on the frozen tiny PixArt DiT, trained to denoise the
# VAE latent of the surface-normal map (3-channel image, components in
# [-1, 1]) of 1024 SyntheticScenes for 1000 iterations; tested on 64
# held-out scenes with Bae's pooled angular errors.
#   python tools/train.py configs/merge/pixart_normal_tiny.py
_base_ = ['./pixart_depth_tiny.py']

model = dict(task='normal')

_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadNormal'),
    dict(type='RandomFlip', prob=0.5),   # negates the normals' x
    dict(type='PackDenseInputs'),
]
_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadNormal'),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='NormalMetric', reduction='pooled',
                     thresholds=(11.25, 22.5, 30.0))
test_evaluator = val_evaluator
