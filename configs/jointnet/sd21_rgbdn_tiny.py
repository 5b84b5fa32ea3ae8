# sd21_rgbdn.py at tiny sizes: depth and normal branches around the tiny
# family's UNet, on SyntheticScenes (exact normals, camera frame).
_base_ = ['./sd21_rgbd_tiny.py']

model = dict(fusion=dict(modalities=('depth', 'normal')))
_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]
# no RandomFlip: a horizontal flip would have to negate normal x
train_dataloader = dict(dataset=dict(pipeline=_train_pipeline))
