# Evaluate a vpd_ade20k_seg_tiny.py checkpoint (6 SyntheticScenes classes)
# on the 50 real NYUv2 test images: the NYU 13-class labels mapped to floor,
# wall and ceiling (every other class ignored; see _base_/tiny_nyu_real.py).
# mIoU over the classes in the ground truth or the prediction (a box, sphere
# or cylinder predicted on a labelled floor / wall / ceiling pixel counts as
# a class with IoU 0).
#   python tools/test.py configs/diff2in1/vpd_ade20k_seg_tiny_nyu_real.py CKPT
_base_ = ['./vpd_ade20k_seg_tiny.py', './_base_/tiny_nyu_real.py']

model = dict(input_size=_base_.tiny_nyu_input_size)
test_dataloader = dict(
    _base_.tiny_nyu_base_loader,
    dataset=dict(_base_.tiny_nyu_base_loader.dataset,
                 data_prefix=_base_.tiny_nyu_label_prefix,
                 pipeline=_base_.tiny_nyu_seg_pipeline))
test_evaluator = dict(_delete_=True, type='IoUMetric',
                      class_names=('floor', 'wall', 'ceiling', 'box',
                                   'sphere', 'cylinder'))
