# The parts every configs/diff2in1/*_tiny.py config swaps in: a tiny frozen
# SD-style UNet + VAE + text encoder, and SyntheticScenes (64x64 procedural
# rooms: depth, normals and 6 semantic classes - floor, wall, ceiling, box,
# sphere, cylinder). Names start with `tiny_` so they sit next to the
# full-size configs' variables.
#
# The frozen parts are the pretrained tiny family (model_zoo/unidense-tiny,
# built by configs/pretrain/*.py; architectures in
# configs/_base_/models/unidense_tiny_family.py): its UNet runs on 16x16
# latents of a 4x VAE (strides 4-32, so inputs are padded to multiples of
# 32) with a width-64 T5 text encoder. `tiny_use_family = False` swaps in a
# random-init SD-1.5-shaped tiny UNet, 8x VAE and CLIP instead; heads,
# necks, data and schedules stay as they are either way.
tiny_use_family = True
tiny_zoo = '{{ fileDirname }}/../../../model_zoo/unidense-tiny'

if tiny_use_family:
    tiny_unet = dict(_delete_=True, type='UNet2DConditionModel',
                     from_pretrained=tiny_zoo, subfolder='unet',
                     config=tiny_zoo)
    tiny_vae = dict(_delete_=True, type='AutoencoderKL',
                    from_pretrained=tiny_zoo, subfolder='vae',
                    config=tiny_zoo)
    tiny_text_encoder = dict(
        _delete_=True,
        type='TextEncoder',
        encoders=[dict(
            tokenizer=dict(type='PreTrainedTokenizerFast',
                           from_pretrained=tiny_zoo, subfolder='tokenizer'),
            encoder=dict(type='T5EncoderModel', from_pretrained=tiny_zoo,
                         subfolder='text_encoder',
                         config=tiny_zoo),
            role='sequence', max_length=48)],
        frozen=True)
    tiny_size_divisor = 32
    tiny_text_dim = 64
    # SDUNetFeatures(taps='vpd') widths; + the 6 class-attention maps at
    # the 2nd and 3rd level for the VPD segmentation head
    tiny_vpd_depth_channels = (32, 64, 64, 64)
    tiny_vpd_seg_channels = (32, 70, 70, 64)
else:
    # random init, configs/_base_/models/sd15_tiny.py's sizes: 4 levels of
    # (16, 32, 32, 32) channels on 8x8 latents of an 8x VAE
    tiny_unet = dict(
        _delete_=True,
        type='UNet2DConditionModel',
        config=dict(
            block_out_channels=(16, 32, 32, 32),
            layers_per_block=1,
            norm_num_groups=8,
            attention_head_dim=4,
            cross_attention_dim=32,
            sample_size=8,
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                              'CrossAttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D',
                            'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D')))
    tiny_vae = dict(
        _delete_=True,
        type='AutoencoderKL',
        config=dict(
            down_block_types=['DownEncoderBlock2D'] * 4,
            up_block_types=['UpDecoderBlock2D'] * 4,
            block_out_channels=(8, 16, 16, 16),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=8,
            sample_size=64))
    tiny_text_encoder = dict(
        _delete_=True,
        type='TextEncoder',
        encoders=[dict(
            tokenizer=dict(type='ByteTokenizer', model_max_length=16),
            encoder=dict(
                type='CLIPTextModel',
                config=dict(
                    hidden_size=32, intermediate_size=64,
                    num_attention_heads=4, num_hidden_layers=1,
                    max_position_embeddings=16, vocab_size=259,
                    hidden_act='quick_gelu', projection_dim=32,
                    bos_token_id=257, eos_token_id=258, pad_token_id=0)),
            role='sequence',
            max_length=16)],
        frozen=True)
    tiny_size_divisor = 64
    tiny_text_dim = 32
    tiny_vpd_depth_channels = (16, 32, 32, 32)
    tiny_vpd_seg_channels = (16, 38, 38, 32)

# merged into the full config's model.backbone
tiny_backbone = dict(unet=tiny_unet, vae=tiny_vae,
                     text_encoder=tiny_text_encoder)
tiny_data_preprocessor = dict(size_divisor=tiny_size_divisor)

# SyntheticScenes with every map the heads may need: depth, normals, labels
# and, derived from the labels (PASCAL-style tasks), object parts (0 room,
# 1 box, 2 sphere, 3 cylinder), saliency (objects) and label boundaries.
tiny_img = 64
tiny_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='LoadSemSeg'),
    dict(type='MapLabels', dst='gt_parsing', lut=[0, 0, 0, 1, 2, 3]),
    dict(type='MapLabels', dst='gt_saliency', lut=[0, 0, 0, 1, 1, 1],
         dtype='float'),
    dict(type='LoadEdge', from_key='gt_sem_seg'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDenseInputs'),
]
tiny_test_pipeline = [
    t for t in tiny_train_pipeline if t['type'] != 'RandomFlip'
]
tiny_train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(type='SyntheticScenes', num_samples=64, img_size=tiny_img,
                 seed=0, cache_size=64, pipeline=tiny_train_pipeline))
# held-out scenes: another seed
tiny_val_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticScenes', num_samples=8, img_size=tiny_img,
                 seed=1000, test_mode=True, pipeline=tiny_test_pipeline))

# 40 iterations of AdamW, linear warm-up then decay (the tests train this)
tiny_iters = 40
tiny_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.01),
    clip_grad=dict(max_norm=1.0))
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=False,
         begin=5, end=tiny_iters),
]
tiny_train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                      max_iters=tiny_iters, val_interval=tiny_iters)
tiny_default_hooks = dict(
    checkpoint=dict(interval=tiny_iters, max_keep_ckpts=1, save_last=True),
    logger=dict(interval=10))
tiny_env_cfg = dict(dist_cfg=dict(backend='gloo'))

# The multi-task configs' ViT at tiny sizes (random init, never
# downloaded): width 32, 3 blocks, 16-pixel patches on 64x64 images.
tiny_vit = dict(_delete_=True, type='TimmEncoder',
                model_name='vit_tiny_patch16_224', pretrained=False,
                output='blocks', block_indices=(1, 2), img_size=tiny_img,
                model_kwargs=dict(embed_dim=32, depth=3, num_heads=2))
# SyntheticScenes' tasks in NYUD-MT / PASCAL-Context form
tiny_nyud_tasks = dict(semseg=6, depth=1, normal=3, edge=1)
tiny_pascal_tasks = dict(semseg=6, parsing=4, saliency=2, normal=3, edge=1)
tiny_part_classes = ('room', 'box', 'sphere', 'cylinder')
# Delta_m baselines of the tiny multi-task configs: trivial predictors on
# the 8 held-out scenes - majority class (wall) / majority part (room), the
# mean depth, normal and saliency maps of the 64 training scenes (unflipped)
tiny_trivial_scores = {
    'seg/mIoU': 8.05, 'depth/rmse': 1.006, 'normal/mean': 31.96,
    'parsing/mIoU': 23.71, 'sal/maxF': 7.51}
tiny_nyud_delta_tasks = [
    dict(key=k, baseline=tiny_trivial_scores[k], lower_is_better=lower)
    for k, lower in (('seg/mIoU', False), ('depth/rmse', True),
                     ('normal/mean', True))
]
tiny_pascal_delta_tasks = [
    dict(key=k, baseline=tiny_trivial_scores[k], lower_is_better=lower)
    for k, lower in (('seg/mIoU', False), ('parsing/mIoU', False),
                     ('sal/maxF', False), ('normal/mean', True))
]
# their evaluators (one-element lists: a dict with `metrics` would be read
# as an Evaluator config)
tiny_nyud_evaluator = [dict(
    type='MultiTaskMetric',
    metrics=[
        dict(type='IoUMetric'),
        dict(type='DepthMetric', alignment='none', min_depth=1e-3,
             max_depth=20.0, reduction='pooled', metrics=['rmse']),
        dict(type='NormalMetric', reduction='pooled'),
    ],
    delta_tasks=tiny_nyud_delta_tasks)]
tiny_pascal_evaluator = [dict(
    type='MultiTaskMetric',
    metrics=[
        dict(type='IoUMetric'),
        dict(type='IoUMetric', prefix='parsing', pred_field='pred_parsing',
             gt_field='gt_parsing', class_names=tiny_part_classes),
        dict(type='SaliencyMetric', invpt_sigmoid=True),
        dict(type='NormalMetric', reduction='pooled'),
    ],
    delta_tasks=tiny_pascal_delta_tasks)]
