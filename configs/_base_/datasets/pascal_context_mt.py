# PASCAL-Context multi-task (InvPT / TaskPrompter): 4,998 train / 5,105 val,
# 512x512 by padding; semseg (21), human parts (7), saliency, normals.
# Training and evaluation parts together.
_base_ = ['./pascal_context_mt_train.py', './pascal_context_mt_eval.py']
