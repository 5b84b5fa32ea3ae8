# pixart_depth_onestep_tiny.py scored on the real NYUv2 test samples of
# ../shared/data/realdata (the test part of pixart_depth_tiny_nyu_real.py).
#   python tools/test.py configs/merge/pixart_depth_onestep_tiny_nyu_real.py \
#       work_dirs/pixart_depth_onestep_tiny/iter_300.pth
_base_ = ['./pixart_depth_onestep_tiny.py']

_nyu = ('{{ fileDirname }}/../../../shared/data/realdata/nyu_depth_v2/'
        'nyu2_test')
model = dict(estimator=dict(processing_res=64))
test_dataloader = dict(
    _delete_=True,
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='NYUv2Dataset', data_root=_nyu, test_mode=True,
                 pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                           dict(type='PackDenseInputs')]))
test_evaluator = dict(_delete_=True, type='DepthMetric', protocol='auto')
