# DIODE val (771 = 325 indoor + 446 outdoor), Marigold protocol: predict at
# 640 px, GT .npy metres at 1024x768 with the dataset's depth mask,
# valid (0.6, 350) m.

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadDepthMask'),
    dict(type='Resize', max_side=640, keep_gt_at_ori=True),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DIODEDataset', data_root='data/diode/val',
                 ann_file='diode_val_all_filename_list.txt',
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
