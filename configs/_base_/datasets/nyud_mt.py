# NYUD-MT (InvPT / TaskPrompter): 795 train / 654 val at 425x560, padded to
# 448x576; semseg (40 classes), depth (.npy m), normals (Bae PNG).
# Training and evaluation parts together.
_base_ = ['./nyud_mt_train.py', './nyud_mt_eval.py']
