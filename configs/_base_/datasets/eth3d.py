# ETH3D (454 DSLR frames, 6048x4032), Marigold protocol: predict at 756 px
# (longer edge), GT raw float32 at full resolution (inf = invalid).

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth', file_format='raw_float32'),
    dict(type='Resize', max_side=756, keep_gt_at_ori=True),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ETH3DDataset', data_root='data/eth3d',
                 ann_file='eth3d_filename_list.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
