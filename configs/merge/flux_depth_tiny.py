# MERGE-L at tiny sizes (random-init FLUX, CPU): same code path as
# flux_depth.py, only sizes and data change.
#   python tools/train.py configs/merge/flux_depth_tiny.py
_base_ = ['./flux_depth.py']

_img = 32
_vae_cfg = dict(
    block_out_channels=(8, 16, 16, 16),
    layers_per_block=1,
    norm_num_groups=8,
    sample_size=64)

model = dict(
    data_preprocessor=dict(size_divisor=16),
    backbone=dict(transformer=dict(
        from_pretrained=None,
        config=dict(attention_head_dim=16, axes_dims_rope=(4, 6, 6),
                    num_attention_heads=2, num_layers=2,
                    num_single_layers=4, joint_attention_dim=24,
                    pooled_projection_dim=16))),
    fusion=dict(num_groups=(2, 2)),
    codec=dict(vae=dict(from_pretrained=None, config=_vae_cfg)),
    text_encoder=dict(encoders=[
        dict(
            tokenizer=dict(type='ByteTokenizer', model_max_length=16),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=None,
                config=dict(hidden_size=16, intermediate_size=32,
                            num_attention_heads=2, num_hidden_layers=1,
                            max_position_embeddings=16, vocab_size=259,
                            hidden_act='quick_gelu', projection_dim=16,
                            bos_token_id=257, eos_token_id=258,
                            pad_token_id=0)),
            role='pooled',
            max_length=16),
        dict(
            tokenizer=dict(type='ByteTokenizer', model_max_length=16,
                           add_bos=False),
            encoder=dict(
                type='T5EncoderModel',
                from_pretrained=None,
                config=dict(d_ff=32, d_kv=12, d_model=24, num_heads=2,
                            num_layers=1, relative_attention_num_buckets=8,
                            relative_attention_max_distance=16,
                            eos_token_id=258, pad_token_id=0,
                            vocab_size=259)),
            role='sequence',
            max_length=16,
            pass_mask=False)
    ]),
    num_inference_steps=2)

_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth', min_quantile=0.02, max_quantile=0.98),
    dict(type='PackDenseInputs'),
]
_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=64, img_size=_img,
                 seed=0, pipeline=_train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticScenes', num_samples=8, img_size=_img,
                 seed=1000, test_mode=True, pipeline=_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='DepthMetric', alignment='least_squares',
    min_depth=1e-3, max_depth=20.0, clip_pred=True, scale_percent=True)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-3), accumulative_counts=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=5, end=20),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=20)
default_hooks = dict(
    checkpoint=dict(interval=20, max_keep_ckpts=1, save_last=True),
    logger=dict(interval=10),
    visualization=dict(type='DenseVisualizationHook', draw=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
