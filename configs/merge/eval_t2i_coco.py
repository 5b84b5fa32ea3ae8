# Text-to-image evaluation of MERGE-B (pixart_depth.py) in T2I mode - the
# frozen PixArt-alpha DiT - on 30K MS-COCO val2014 captions (JointNet
# Table 1's protocol, seed 0): images generated and cached under
# work_dirs/eval_t2i_coco/images (resumable; tools/dist_test.sh shards the
# prompts), scored by FID against precomputed val2014 Inception statistics,
# Inception Score and CLIP score (ViT-L/14). Weights are local files:
#   data/coco/annotations/captions_val2014.json
#   data/coco/fid_stats_val2014.npz   (mu, sigma, num_samples of the 2048-d
#       pool features; e.g. python -m pytorch_fid --save-stats val2014 ...)
#   checkpoints/pt_inception-2015-12-05-6726825d.pth   (torch-fidelity)
#   checkpoints/clip-vit-large-patch14/   (transformers folder)
#   python tools/test.py configs/merge/eval_t2i_coco.py CKPT
_base_ = ['./pixart_depth.py']

_inception = 'checkpoints/pt_inception-2015-12-05-6726825d.pth'
model = dict(_delete_=True, type='GenerationEvaluator',
             model={{_base_.model}},
             data_preprocessor=dict(type='DenseDataPreprocessor'),
             generate_kwargs=dict(num_inference_steps=20,
                                  guidance_scale=4.5, height=512, width=512),
             cache_dir='work_dirs/eval_t2i_coco/images', seed=0)
test_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PromptSetDataset',
                 ann_file='data/coco/annotations/captions_val2014.json',
                 num_prompts=30000, seed=0))
test_evaluator = [
    dict(type='FIDMetric', reference='data/coco/fid_stats_val2014.npz',
         inception_weights=_inception),
    dict(type='InceptionScoreMetric', inception_weights=_inception),
    dict(type='CLIPScoreMetric',
         clip_model='checkpoints/clip-vit-large-patch14'),
]
test_cfg = dict(type='TestLoop')
default_hooks = dict(visualization=None)
