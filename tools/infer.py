"""Inference from the command line (a thin layer over ``unidense.apis``).

    python tools/infer.py depth   CONFIG [CHECKPOINT] --input IMG|DIR|VIDEO
        [--out-dir DIR] [--formats png16 png npy ply glb] [--ensemble-size N]
        [--steps N] [--processing-res N] [--align-frames] [--overwrite]
    python tools/infer.py normals CONFIG [CHECKPOINT] --input ... [--formats png npy]
    python tools/infer.py seg     CONFIG [CHECKPOINT] --input ... [--formats png npy]
    python tools/infer.py generate CONFIG [CHECKPOINT] --prompt TEXT [--prompt ...]
        [--prompt-file FILE] [--num-per-prompt N] [--steps N] [--guidance G]
    python tools/infer.py panorama CONFIG [CHECKPOINT] --prompt TEXT
        [--height H] [--width W] [--formats png png16 ply glb] [--span-deg 360]

Runs over a folder skip inputs whose outputs all exist (rerun the same
command to resume); ``--align-frames`` aligns the depth of a video's (or a
frame folder's) consecutive frames so the sequence does not flicker.
"""
import argparse
import json
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

DENSE = ('depth', 'normals', 'seg', 'parsing', 'saliency', 'edge')
DEFAULT_FORMATS = dict(depth=['png16', 'png'], panorama=['png', 'png16',
                                                         'ply'])


def _common(parser):
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='trained weights (.pth written by unidense or '
                        '.safetensors); omitted: the config\'s own')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--steps', type=int, help='denoising steps')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='unpickle a .pth unidense did not write')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='config overrides')
    parser.add_argument('--no-progress', action='store_true')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    for task in DENSE:
        p = sub.add_parser(task, help=f'{task} maps of images or videos')
        _common(p)
        p.add_argument('--input', required=True,
                       help='an image, a folder of images or a video')
        p.add_argument('--formats', nargs='+')
        p.add_argument('--ensemble-size', type=int)
        p.add_argument('--processing-res', type=int)
        p.add_argument('--align-frames', action='store_true',
                       help='align consecutive frames\' depth (no flicker)')
        p.add_argument('--momentum', type=float, default=0.5)
        p.add_argument('--fov-deg', type=float, default=60.0,
                       help='camera field of view of PLY/GLB meshes')
        p.add_argument('--overwrite', action='store_true')
    for name in ('generate', 'panorama'):
        p = sub.add_parser(name, help=f'{name} from text')
        _common(p)
        p.add_argument('--prompt', action='append', default=[])
        p.add_argument('--guidance', type=float)
        p.add_argument('--height', type=int)
        p.add_argument('--width', type=int)
    gen = sub.choices['generate']
    gen.add_argument('--prompt-file', help='one prompt per line')
    gen.add_argument('--num-per-prompt', type=int, default=1)
    gen.add_argument('--overwrite', action='store_true')
    pano = sub.choices['panorama']
    pano.add_argument('--formats', nargs='+')
    pano.add_argument('--span-deg', type=float, default=360.0)
    return parser.parse_args(argv)


def _cfg_options(pairs):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--o'] + list(pairs)).o if pairs else {}


def _prompts(args):
    prompts = list(args.prompt)
    if getattr(args, 'prompt_file', None):
        with open(args.prompt_file, encoding='utf-8') as f:
            prompts += [line.strip() for line in f if line.strip()]
    if not prompts:
        raise SystemExit(f'{args.command}: give --prompt (or --prompt-file)')
    return prompts


def main(argv=None):
    args = parse_args(argv)
    from unidense.apis import init_model
    from unidense.apis.batch_inference import (generate_to_folder,
                                               infer_to_folder,
                                               panorama_to_folder)
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=_cfg_options(args.cfg_options),
                       trust_checkpoint=args.trust_checkpoint)
    progress = not args.no_progress
    common = dict(num_inference_steps=args.steps, seed=args.seed)
    if args.command in DENSE:
        formats = args.formats or DEFAULT_FORMATS.get(args.command,
                                                      ['png', 'npy'])
        result = infer_to_folder(
            model, args.input, args.out_dir, args.command, formats,
            batch_size=args.batch_size, overwrite=args.overwrite,
            align_frames=args.align_frames, momentum=args.momentum,
            fov_deg=args.fov_deg, progress=progress,
            ensemble_size=args.ensemble_size,
            processing_res=args.processing_res, **common)
    elif args.command == 'generate':
        result = generate_to_folder(
            model, _prompts(args), args.out_dir,
            num_per_prompt=args.num_per_prompt, batch_size=args.batch_size,
            overwrite=args.overwrite, progress=progress,
            guidance_scale=args.guidance, height=args.height,
            width=args.width, **common)
    else:
        result = panorama_to_folder(
            model, _prompts(args)[0], args.out_dir,
            formats=args.formats or DEFAULT_FORMATS['panorama'],
            span_deg=args.span_deg, guidance_scale=args.guidance,
            height=args.height, width=args.width, **common)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
