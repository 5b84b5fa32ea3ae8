# MERGE-L: FLUX.1-dev (frozen) + 5 + 5 single-stream converters (1.4B
# trainable) for affine-invariant depth; Lin et al., NeurIPS 2025.
# Train: bash tools/dist_train.sh configs/merge/flux_depth.py 8
#        (effective batch 32 = 8 GPUs x 1 x gradient accumulation 4)
_base_ = [
    '../_base_/models/flux1_dev.py',
    '../_base_/datasets/hypersim_vkitti_mixed.py',
    # zero-shot evaluation block: NYUv2, Marigold/MERGE protocol
    '../_base_/datasets/nyu_depth_eval.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]

model = dict(
    _delete_=True,
    type='MERGE',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=16),
    backbone={{_base_.backbone}},
    fusion=dict(
        type='GroupedConverters',
        # 19 MMDiT blocks -> groups of 4, 4, 4, 4, 3 (image-only converters)
        # 38 single blocks -> groups of 8, 8, 8, 8, 6 ([text; image])
        num_groups=(5, 5),
        init='pretrained',
        # the released trainer leaves the dual-part converters random
        single_in_dual_init='random'),
    codec=dict(type='LatentCodec', vae={{_base_.vae}}, sample_posterior=True),
    text_encoder={{_base_.text_encoder}},
    train_scheduler={{_base_.train_scheduler}},
    test_scheduler={{_base_.scheduler}},
    # rectified flow: x_s = (1 - s) x0 + s noise, target noise - x0, s on
    # the unshifted 1000-step grid as in the official trainer
    prediction_type='flow',
    # the L trainer uses plain Gaussian noise and no validity mask
    multi_res_noise=None,
    loss_mask=False,
    prompt='',
    guidance=0.0,
    num_inference_steps=20,
    ensemble_size=1,
    # Marigold's per-dataset processing resolution (long side; 0 = native),
    # looked up from each sample's `protocol`
    processing_res=dict(default=0, diode=640, eth3d=756))

train_dataloader = dict(batch_size=1)
# lr 3e-4 (the official code uses 8-bit AdamW and bf16; plain AdamW here),
# warm-up 500 + linear decay (schedule_30k.py), clip 1.0, accumulation 4
optim_wrapper = dict(
    optimizer=dict(lr=3e-4),
    clip_grad=dict(max_norm=1.0),
    accumulative_counts=4)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000,
                 val_interval=3000)
default_hooks = dict(
    checkpoint=dict(interval=3000, max_keep_ckpts=3, save_last=True),
    logger=dict(interval=50))
