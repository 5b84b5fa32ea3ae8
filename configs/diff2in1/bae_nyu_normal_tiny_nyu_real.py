# Evaluate a bae_nyu_normal_tiny.py checkpoint (trained on SyntheticScenes)
# on the 50 real NYUv2 test images, normals derived from their depth (see
# _base_/tiny_nyu_real.py). Bae's pooled angular errors.
#   python tools/test.py configs/diff2in1/bae_nyu_normal_tiny_nyu_real.py CKPT
_base_ = ['./bae_nyu_normal_tiny.py', './_base_/tiny_nyu_real.py']

model = dict(input_size=_base_.tiny_nyu_input_size)
test_dataloader = dict(
    _base_.tiny_nyu_base_loader,
    dataset=dict(_base_.tiny_nyu_base_loader.dataset,
                 pipeline=_base_.tiny_nyu_normal_pipeline))
test_evaluator = dict(type='NormalMetric', reduction='pooled',
                      thresholds=(11.25, 22.5, 30.0))
