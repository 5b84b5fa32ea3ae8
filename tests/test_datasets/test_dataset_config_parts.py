"""configs/_base_/datasets: training and evaluation parts compose freely,
and method configs reuse the evaluation parts instead of inline blocks."""
import glob
import itertools
import os.path as osp

from mmengine.config import Config

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG_DIR = osp.join(REPO, 'configs', '_base_', 'datasets')
TRAIN_KEYS = {'train_dataloader', 'train_pipeline'}
EVAL_KEYS = {'val_dataloader', 'test_dataloader', 'val_evaluator',
             'test_evaluator', 'test_pipeline'}


def _parts():
    train, evaluation = [], []
    for path in sorted(glob.glob(osp.join(CFG_DIR, '*.py'))):
        keys = set(Config.fromfile(path).keys())
        if keys <= TRAIN_KEYS | {'hypersim_pipeline', 'vkitti_pipeline',
                                 'hypersim_root', 'vkitti_root'}:
            train.append(path)
        elif keys <= EVAL_KEYS:
            evaluation.append(path)
    return train, evaluation


def test_each_split_dataset_has_both_parts_and_the_whole():
    train, evaluation = _parts()
    names = {osp.basename(p)[:-3] for p in train + evaluation}
    for name in ('nyu_depth', 'ade20k', 'nyud_mt', 'pascal_context_mt',
                 'synthetic_scenes'):
        assert {f'{name}_train', f'{name}_eval'} <= names
        whole = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
        assert {'train_dataloader', 'val_dataloader'} <= set(whole.keys())
    # evaluation-only datasets are evaluation parts already
    assert {'diode', 'eth3d', 'kitti_depth', 'scannet'} <= names
    assert 'hypersim_vkitti_mixed' in names


def test_any_training_part_composes_with_any_evaluation_part(tmp_path):
    train, evaluation = _parts()
    assert len(train) >= 6 and len(evaluation) >= 9
    for t, e in itertools.product(train, evaluation):
        path = tmp_path / 'combo.py'
        path.write_text(f'_base_ = [{t!r}, {e!r}]\n')
        cfg = Config.fromfile(str(path))  # no duplicate keys
        assert 'train_dataloader' in cfg and 'val_dataloader' in cfg


def test_merge_configs_reuse_the_nyu_evaluation_part():
    nyu = Config.fromfile(osp.join(CFG_DIR, 'nyu_depth_eval.py'))
    for name in ('pixart_depth.py', 'flux_depth.py'):
        path = osp.join(REPO, 'configs', 'merge', name)
        cfg = Config.fromfile(path)
        assert cfg.val_dataloader == nyu.val_dataloader
        assert cfg.val_evaluator == nyu.val_evaluator
        assert 'NYUv2Dataset' not in open(path).read()  # not inline
        # the MERGE data preprocessor pads the batch to the DiT's 16
        assert cfg.model.data_preprocessor.size_divisor == 16
