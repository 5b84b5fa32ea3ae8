# Diff-2-in-1 two-stage self-improving training on vpd_ade20k_seg.py: VPD's
# segmentation head (Table 4). Stage 1 = vpd_ade20k_seg.py's recipe, stage 2
# as long again on labelled + synthetic images (see _base_/selfimprove.py).
#   python tools/create_synthetic.py configs/diff2in1/vpd_ade20k_seg_selfimprove.py
#   python tools/train.py configs/diff2in1/vpd_ade20k_seg_selfimprove.py
_base_ = ['./vpd_ade20k_seg.py', './_base_/selfimprove.py']

_warmup = _base_.train_cfg.max_iters
_synthetic_dir = 'data/synthetic/ade20k_sd15'
model = dict(_delete_=True, type='SelfImprovingEstimator',
             estimator={{_base_.model}})
synthetic_data = dict(
    _base_.si_synthetic_data, out_dir=_synthetic_dir, size=(512, 512),
    generator=dict(unet={{_base_.unet}}, vae={{_base_.vae}},
                   text_encoder={{_base_.text_encoder}},
                   scheduler=_base_.si_sd_scheduler))
train_dataloader = dict(
    batch_sampler=dict(type='SelfImprovingBatchSampler',
                       warmup_iters=_warmup),
    dataset=dict(_delete_=True, type='ConcatDataset',
                 ignore_keys=_base_.si_concat_ignore_keys,
                 datasets=[{{_base_.train_dataloader.dataset}},
                           dict(_base_.si_synthetic_dataset,
                                data_root=_synthetic_dir)]))
custom_hooks = [dict(_base_.si_hook, warmup_iters=_warmup)]
param_scheduler = [{k: (v * 2 if k in _base_.si_stretch_keys and
                        isinstance(v, int) else v)
                    for k, v in s.items()}
                   for s in _base_.param_scheduler]
train_cfg = dict(max_iters=2 * _warmup)
