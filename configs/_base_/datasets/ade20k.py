# ADE20K (150 classes) in the mmsegmentation layout; VPD-style 512x512.
# Training and evaluation parts together.
_base_ = ['./ade20k_train.py', './ade20k_eval.py']
