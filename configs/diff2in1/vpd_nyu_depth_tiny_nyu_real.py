# Evaluate a vpd_nyu_depth_tiny.py checkpoint (metric depth of 64x64
# SyntheticScenes rooms) on the 50 real NYUv2 test images with the
# Marigold NYU protocol: least-squares scale and shift, Eigen crop,
# 1e-3..10 m (a synthetic-room metric scale does not transfer to a real
# camera, so the prediction is aligned like the affine-invariant models').
#   python tools/test.py configs/diff2in1/vpd_nyu_depth_tiny_nyu_real.py CKPT
_base_ = ['./vpd_nyu_depth_tiny.py', './_base_/tiny_nyu_real.py']

model = dict(input_size=_base_.tiny_nyu_input_size)
test_dataloader = dict(
    _base_.tiny_nyu_base_loader,
    dataset=dict(_base_.tiny_nyu_base_loader.dataset,
                 pipeline=_base_.tiny_nyu_depth_pipeline))
test_evaluator = dict(_delete_=True, type='DepthMetric', protocol='auto')
