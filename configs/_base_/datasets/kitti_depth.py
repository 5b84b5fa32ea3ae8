# KITTI Eigen test (652 frames with GT), Marigold protocol: KB crop of image
# and GT to 352x1216, /256 metres, valid (1e-5, 80), Eigen crop at
# evaluation (protocol 'kitti'; eval_crop='garg' for the Garg crop).

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='KITTIDataset', data_root='data/kitti',
        ann_file='eigen_test_files_with_gt.txt',
        data_prefix=dict(img_path='raw', depth_path='annotated'),
        eval_crop='eigen', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
