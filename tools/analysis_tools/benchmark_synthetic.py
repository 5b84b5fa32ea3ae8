"""Measure SyntheticScenes rendering speed (samples/s) on one core.

Usage::

    python tools/analysis_tools/benchmark_synthetic.py [--size 64]
        [--num 100] [--min-rate 50] [--pipeline]

Renders ``--num`` scenes (optionally through the training pipeline of
``configs/_base_/datasets/synthetic_scenes.py``) and exits with status 1 if
the rate is below ``--min-rate`` (the target: >= 50 samples/s at 64x64).
"""
import argparse
import os
import sys
import time

# One core, as the target states; set before numpy/torch start threads.
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--num', type=int, default=100)
    parser.add_argument('--min-rate', type=float, default=50.0)
    parser.add_argument('--pipeline', action='store_true',
                        help='also run the training transforms + packing')
    args = parser.parse_args(argv)

    import cv2
    cv2.setNumThreads(1)
    from unidense.datasets import SyntheticScenes
    pipeline = []
    if args.pipeline:
        pipeline = [dict(type='LoadImage'), dict(type='LoadDepth'),
                    dict(type='LoadNormal'), dict(type='RandomFlip'),
                    dict(type='NormalizeDepth'),
                    dict(type='PadToMultiple', size_divisor=8),
                    dict(type='PackDenseInputs')]
    ds = SyntheticScenes(num_samples=args.num, img_size=args.size,
                         pipeline=pipeline)
    ds[0]  # warm-up (imports, caches)
    start = time.perf_counter()
    for i in range(args.num):
        ds[i]
    elapsed = time.perf_counter() - start
    rate = args.num / elapsed
    print(f'SyntheticScenes {args.size}x{args.size} '
          f'{"with" if args.pipeline else "without"} pipeline: '
          f'{rate:.1f} samples/s ({args.num} samples, {elapsed:.2f} s)')
    if rate < args.min_rate:
        print(f'below the target of {args.min_rate} samples/s',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
