# Evaluate a tiny MERGE checkpoint (trained on 64x64 SyntheticScenes by
# pixart_depth_tiny.py or its _random control) on the 50 real NYUv2 test
# images shipped in ../shared/data/realdata/nyu_depth_v2/nyu2_test, with the
# Marigold/MERGE NYU protocol (least-squares scale and shift, 1e-3..10 m,
# Eigen crop at 640x480). The model sees each image at 64 px on the long
# side (48x64, its training scale) and the prediction is resized back.
#   python tools/test.py configs/merge/pixart_depth_tiny_nyu_real.py CKPT
# The random-DiT control: pixart_depth_tiny_random_nyu_real.py.
_base_ = ['./pixart_depth_tiny.py', '../_base_/datasets/nyu_real_depth_test.py']

model = dict(processing_res=64)
test_dataloader = {{_base_.nyu_real_depth_test_dataloader}}
test_evaluator = {{_base_.nyu_real_depth_test_evaluator}}
