# NYUD-MT (InvPT / TaskPrompter): 795 train / 654 val at 425x560, padded to
# 448x576; semseg (40 classes), depth (.npy m), normals (Bae PNG).
# Evaluation part: method configs list it in `_base_` to evaluate on
# this dataset; the training part is nyud_mt_train.py.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    # InvPT scores on the padded grid; padding is ignore (255 / 0 / zero
    # normals) so the scores equal those on the original pixels.
    dict(type='PadToMultiple', size_divisor=None, size=(448, 576)),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='NYUDMTDataset', data_root='data/NYUD_MT',
                 ann_file='gt_sets/val.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
