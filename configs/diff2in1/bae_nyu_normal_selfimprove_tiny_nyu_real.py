# Evaluate a bae_nyu_normal_selfimprove_tiny.py checkpoint on the 50 real NYUv2
# test images (the protocol of bae_nyu_normal_tiny_nyu_real.py; theta_C predicts).
#   python tools/test.py configs/diff2in1/bae_nyu_normal_selfimprove_tiny_nyu_real.py CKPT
_base_ = ['./bae_nyu_normal_tiny_nyu_real.py']

model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
