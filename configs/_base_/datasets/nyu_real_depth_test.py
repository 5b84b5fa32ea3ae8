# The 50 real NYUv2 test images of ../shared/data/realdata with metric depth,
# as test data of the tiny depth models trained on SyntheticScenes (the
# *_tiny_nyu_real configs; the dataset's 'nyu' protocol: Eigen crop,
# 1e-3..10 m, least squares for affine-invariant predictions). Use:
#   _base_ = ['./<model>_tiny.py', '../_base_/datasets/nyu_real_depth_test.py']
#   test_dataloader = {{_base_.nyu_real_depth_test_dataloader}}
#   test_evaluator = {{_base_.nyu_real_depth_test_evaluator}}
nyu_real_depth_root = ('{{ fileDirname }}/../../../../shared/data/realdata/'
                       'nyu_depth_v2/nyu2_test')
nyu_real_depth_test_dataloader = dict(
    _delete_=True,
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='NYUv2Dataset', data_root=nyu_real_depth_root,
                 test_mode=True,
                 pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                           dict(type='PackDenseInputs')]))
nyu_real_depth_test_evaluator = dict(_delete_=True, type='DepthMetric',
                                     protocol='auto')
