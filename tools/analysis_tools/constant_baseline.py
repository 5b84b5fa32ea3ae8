"""Score the trivial predictor of a config with its own test evaluator.

    python tools/analysis_tools/constant_baseline.py CONFIG
        [--test-config CONFIG2] [--num-train 64]

The trivial predictor is the mean depth / normal (renormalised) /
saliency / edge map and the most frequent class of the config's first
``--num-train`` training samples (test pipeline: no flips); it is scored on
the test set of ``--test-config`` (default: ``CONFIG``) by that config's
test evaluator. Prints ``name=value`` lines.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--test-config')
    parser.add_argument('--num-train', type=int, default=64)
    args = parser.parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from tools.analysis_tools.eval_diff2in1_tiny import (
        constant_predictions, score_constant_predictions)
    init_default_scope('unidense')
    preds = constant_predictions(Config.fromfile(args.config),
                                 args.num_train)
    cfg = Config.fromfile(args.test_config or args.config)
    for key, value in score_constant_predictions(cfg, preds).items():
        print(f'{key}={value}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
