# invpt_nyudmt.py at tiny sizes on SyntheticScenes (semseg 6 classes,
# depth, normals, label boundaries): same code path; frozen parts, the ViT,
# widths and data change (see _base_/tiny_parts.py).
_base_ = ['./invpt_nyudmt.py', './_base_/tiny_parts.py']

model = dict(
    data_preprocessor=_base_.tiny_data_preprocessor,
    backbone=_base_.tiny_backbone,
    neck=dict(hidden_channels=16),
    encoder=_base_.tiny_vit,
    head=dict(num_outputs=_base_.tiny_nyud_tasks, in_channels=(32, 32, 32),
              embed_dim=32, pred_constant=16))

train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = dict(val_dataloader)  # a copy: each carries _delete_
# Delta_m against trivial predictors on the same 8 held-out scenes
# (tiny_trivial_scores in _base_/tiny_parts.py, which a test recomputes)
val_evaluator = _base_.tiny_nyud_evaluator
test_evaluator = val_evaluator
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
env_cfg = _base_.tiny_env_cfg
