# NYUv2 surface normals in Bae et al.'s layout (nyu/{train,test}/{img,norm}/
# *.png, split files "img_path norm_path"; 795 / 654 images at 480x640) and
# Bae's protocol (= the released Diff-2-in-1 one, with pi): angular errors
# of every valid pixel pooled over the 654 test images, at 480x640.
# Names carry a `nyu_normal_` prefix so that a config can take them next to
# another dataset base: train_dataloader = _base_.nyu_normal_train_dataloader
nyu_normal_dataset = dict(type='NYUv2Dataset', data_root='data/nyu_normal',
                          columns=('img_path', 'normal_path'))
nyu_normal_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadNormal'),
    dict(type='RandomFlip', prob=0.5),  # negates the normals' x
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDenseInputs'),
]
nyu_normal_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadNormal'),
    dict(type='PackDenseInputs'),
]
nyu_normal_train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(nyu_normal_dataset, ann_file='train.txt',
                 pipeline=nyu_normal_train_pipeline))
nyu_normal_test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(nyu_normal_dataset, ann_file='test.txt', test_mode=True,
                 pipeline=nyu_normal_test_pipeline))
nyu_normal_evaluator = dict(type='NormalMetric', reduction='pooled',
                            thresholds=(11.25, 22.5, 30.0))
