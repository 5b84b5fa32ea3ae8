# Two-stage self-improving training (Diff-2-in-1 stage 2) at tiny sizes,
# shared by every configs/*/*_selfimprove_tiny.py: 300 iterations, the
# first 150 warm-up (stage 1) on the 64 labelled SyntheticScenes, then
# labelled + synthetic images, the creation copy theta_C labelling the
# synthetic ones and following theta_E by EMA (every 40 samples, alpha
# scaled to the short run: see si_ema_alpha).
#
# The synthetic images are SDEdit re-generations (t = 422, see below,
# DDIM 50, no CFG) of the 64 training scenes by the frozen tiny UNet of the pretrained
# family, made once:
#   python tools/create_synthetic.py configs/diff2in1/bae_nyu_normal_selfimprove_tiny.py
# (all *_selfimprove_tiny Diff-2-in-1 configs share the folder).
si_zoo = '{{ fileDirname }}/../../../model_zoo/unidense-tiny'
si_warmup_iters = 150
si_iters = 300
si_synthetic_dir = 'work_dirs/synthetic/scenes64_tiny_unet'
si_generator = dict(
    unet=dict(type='UNet2DConditionModel', from_pretrained=si_zoo,
              subfolder='unet', config=si_zoo),
    vae=dict(type='AutoencoderKL', from_pretrained=si_zoo, subfolder='vae',
             config=si_zoo),
    text_encoder=dict(
        type='TextEncoder',
        encoders=[dict(
            tokenizer=dict(type='PreTrainedTokenizerFast',
                           from_pretrained=si_zoo, subfolder='tokenizer'),
            encoder=dict(type='T5EncoderModel', from_pretrained=si_zoo,
                         subfolder='text_encoder', config=si_zoo),
            role='sequence', max_length=48)],
        frozen=True),
    scheduler=dict(type='DDPMScheduler', from_pretrained=si_zoo,
                   subfolder='scheduler'))
# t = 422 of the tiny family's linear schedule (beta 1e-4..0.02) keeps
# what SD's scaled-linear schedule keeps at Diff-2-in-1's t = 600: the same
# signal level, alpha_bar = 0.161 (at t = 600 the tiny schedule leaves
# alpha_bar = 0.026 and nothing of the layout survives)
si_synthetic_data = dict(out_dir=si_synthetic_dir, generator=si_generator,
                         captions=dict(type='dataset'), noise_timestep=422,
                         num_inference_steps=50, seed=0)
# the unlabelled part: the folder create_synthetic.py writes (caption
# .txt next to each .png); flips as the labelled part
si_synthetic_dataset = dict(
    type='ImageCaptionDataset', data_root=si_synthetic_dir, unlabelled=True,
    pipeline=[dict(type='LoadImage'), dict(type='RandomFlip', prob=0.5),
               dict(type='PackDenseInputs')])
# the labelled and unlabelled parts' metainfo differ (class names, palette)
si_concat_ignore_keys = ['dataset_name', 'classes', 'palette']
# EMA: the paper's alpha 0.998 every 40 samples over its ~10k stage-2
# iterations (~2000 updates) gives theta_C a horizon of 1/(1 - alpha) = 500
# updates, a quarter of stage 2. Our 150 stage-2 iterations at batch 4 make
# 15 updates; the same quarter-of-stage-2 horizon is alpha = 0.75 (0.998
# would leave theta_C at 97 % warm-up weights).
si_ema_alpha = 0.75
si_hook = dict(type='SelfImprovingHook', warmup_iters=si_warmup_iters,
               ema_alpha=si_ema_alpha, ema_interval_samples=40)
si_batch_sampler = dict(type='SelfImprovingBatchSampler',
                        warmup_iters=si_warmup_iters, seed=0)
# the tiny schedule over both stages: warm-up, then linear decay
si_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=False,
         begin=5, end=si_iters),
]
