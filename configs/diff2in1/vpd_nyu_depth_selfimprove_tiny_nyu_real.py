# Evaluate a vpd_nyu_depth_selfimprove_tiny.py checkpoint on the 50 real NYUv2
# test images (the protocol of vpd_nyu_depth_tiny_nyu_real.py; theta_C predicts).
#   python tools/test.py configs/diff2in1/vpd_nyu_depth_selfimprove_tiny_nyu_real.py CKPT
_base_ = ['./vpd_nyu_depth_tiny_nyu_real.py']

model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
