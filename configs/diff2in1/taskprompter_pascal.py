# Diff-2-in-1 on TaskPrompter (Table 4), stage 1 (warm-up): PASCAL-Context.
# As taskprompter_nyudmt.py with PASCAL's decoder settings (D 300, Df 350,
# one channel window, cross-task reweighting) on 32x32 tokens.
# Train: python tools/train.py configs/diff2in1/taskprompter_pascal.py
# Test:  python tools/test.py configs/diff2in1/taskprompter_pascal.py CKPT
_base_ = ['./invpt_pascal.py']

model = dict(
    # every tapped level is fused at the token stride 16 (paper A.1: "resize
    # all the features ... to this specific scale"); the fused map that saw
    # all four levels is the output
    neck=dict(target_strides=(16, 16, 16, 32)),
    encoder=dict(output='embed'),
    head=dict(_delete_=True, type='TaskPrompterDecoder',
              num_outputs={{_base_._tasks}}, token_grid=(32, 32),
              chan_windows=(1, 1), task_dim=300, fuse_dim=350,
              cross_task_reweight=True))

# 2 GPUs x 2 = 4; Adam lr 2e-5, wd 1e-6, poly, 40k, gradient clip 10
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(clip_grad=dict(max_norm=10))
# Delta_m against the published TaskPrompter (Table 4 row)
val_evaluator = [dict(_base_.val_evaluator[0], delta_tasks=[
    dict(key='seg/mIoU', baseline=80.89, lower_is_better=False),
    dict(key='parsing/mIoU', baseline=68.89, lower_is_better=False),
    dict(key='sal/maxF', baseline=84.83, lower_is_better=False),
    dict(key='normal/mean', baseline=13.72, lower_is_better=True),
])]
test_evaluator = val_evaluator
