# vpd_nyu_depth_selfimprove.py at tiny sizes: vpd_nyu_depth_tiny.py for
# 150 warm-up + 150 self-improving iterations on SyntheticScenes and their
# SDEdit re-generations by the frozen tiny UNet (_base_/selfimprove_tiny.py).
#   python tools/create_synthetic.py configs/diff2in1/vpd_nyu_depth_selfimprove_tiny.py
#   python tools/train.py configs/diff2in1/vpd_nyu_depth_selfimprove_tiny.py
_base_ = ['./vpd_nyu_depth_tiny.py', './_base_/selfimprove_tiny.py']

model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
synthetic_data = _base_.si_synthetic_data
train_dataloader = dict(
    batch_sampler=_base_.si_batch_sampler,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 ignore_keys=_base_.si_concat_ignore_keys,
                 datasets=[{{_base_.train_dataloader.dataset}},
                           _base_.si_synthetic_dataset]))
custom_hooks = [dict(_base_.si_hook)]
param_scheduler = _base_.si_param_scheduler
train_cfg = dict(max_iters=_base_.si_iters, val_interval=_base_.si_iters)
default_hooks = dict(checkpoint=dict(interval=_base_.si_iters))
