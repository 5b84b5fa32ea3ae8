# Diff-2-in-1 on TaskPrompter (Table 3), stage 1 (warm-up): NYUD-MT. The
# fusion neck brings the SD-1.5 features to TaskPrompter's single scale
# (stride 16, 1024 channels; paper A.1, Eq. 10) where they are added to the
# ViT-L/16 patch + position embedding; the 24 prompt-carrying ViT blocks and
# the spatial-channel task decoding are the head (TaskPrompterDecoder, its
# blocks loaded from the same timm ViT-L).
# Train: python tools/train.py configs/diff2in1/taskprompter_nyudmt.py
# Test:  python tools/test.py configs/diff2in1/taskprompter_nyudmt.py CKPT
_base_ = ['./invpt_nyudmt.py']

model = dict(
    # every tapped level is fused at the token stride 16 (paper A.1: "resize
    # all the features ... to this specific scale"); the fused map that saw
    # all four levels is the output
    neck=dict(target_strides=(16, 16, 16, 32)),
    encoder=dict(output='embed'),
    # D = Df = 768, 4 x 4 channel windows, no cross-task reweighting; the
    # losses and weights of brief 5.3, no intermediate supervision
    head=dict(_delete_=True, type='TaskPrompterDecoder',
              num_outputs={{_base_._tasks}}, token_grid=(28, 36),
              chan_windows=(4, 4), task_dim=768, fuse_dim=768,
              cross_task_reweight=False))

# 2 GPUs x 2 = 4 images; Adam lr 1e-5, wd 1e-6, poly (0.9), 40k iterations,
# gradient norm clipped at 10
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(lr=1e-5), clip_grad=dict(max_norm=10))
# Delta_m against the published TaskPrompter (Table 3 row)
val_evaluator = [dict(_base_.val_evaluator[0], delta_tasks=[
    dict(key='seg/mIoU', baseline=55.30, lower_is_better=False),
    dict(key='depth/rmse', baseline=0.5152, lower_is_better=True),
    dict(key='normal/mean', baseline=18.47, lower_is_better=True),
])]
test_evaluator = val_evaluator
