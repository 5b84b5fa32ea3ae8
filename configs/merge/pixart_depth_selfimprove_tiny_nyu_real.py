# Evaluate a pixart_depth_selfimprove_tiny.py checkpoint on the 50 real
# NYUv2 test images (the protocol of pixart_depth_tiny_nyu_real.py; the
# creation copy of the converters predicts).
#   python tools/test.py configs/merge/pixart_depth_selfimprove_tiny_nyu_real.py CKPT
_base_ = ['./pixart_depth_tiny_nyu_real.py']

model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
