# Marigold / MERGE training data: Hypersim (~54K, resized to 480x640) and
# Virtual KITTI 2 (~20K, KB-cropped to 352x1216), each batch from ONE of
# them with probability 0.9 / 0.1 (resolutions never mix in a batch).
# Only horizontal flips as augmentation; depth affine-normalised to [-1, 1]
# from the 2 % / 98 % quantiles of valid pixels.
hypersim_root = 'data/hypersim'
vkitti_root = 'data/vkitti2'

hypersim_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    # Marigold resizes every raster to 480x640 (nearest for depth).
    dict(type='Resize', scale=(640, 480), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]
vkitti_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # With IterBasedTrainLoop, InfiniteMixedBatchSampler avoids restarting
    # the loader every nominal epoch.
    batch_sampler=dict(type='InfiniteMixedBatchSampler', prob=[0.9, 0.1]),
    dataset=dict(
        type='ConcatDataset',
        # The two datasets differ only in their names and defaults.
        ignore_keys=['dataset_name'],
        datasets=[
            dict(type='HypersimDataset', data_root=hypersim_root,
                 ann_file='filename_list_train_filtered.txt',
                 pipeline=hypersim_pipeline),
            dict(type='VKITTI2Dataset', data_root=vkitti_root,
                 ann_file='vkitti_train.txt', pipeline=vkitti_pipeline),
        ]))
