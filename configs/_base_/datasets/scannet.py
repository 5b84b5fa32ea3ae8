# ScanNet (Marigold's 800 validation frames), native 640x480, mm PNGs,
# valid (1e-3, 10) m, no crop.

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ScanNetDataset', data_root='data/scannet',
                 ann_file='scannet_val_sampled_list_800_1.txt',
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
