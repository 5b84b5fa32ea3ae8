"""Interactive web demo (Gradio): depth / normals of an uploaded image with a
3-D view and downloads, and text-to-image (RGB-D with JointNet).

    python tools/demo_app.py [--dense-config CFG] [--dense-checkpoint CKPT]
        [--gen-config CFG] [--gen-checkpoint CKPT] [--port 7860] [--share]

Defaults run on CPU on the tiny family: dense maps from
``configs/merge/pixart_depth_tiny.py`` with the checkpoint the README demo
trains (``work_dirs/demo/last_checkpoint``) when it exists, and generation
from the same model's frozen PixArt DiT. Give full-size configs and
checkpoints for real weights. Needs ``pip install gradio`` (the ``demo``
extra); nothing is sent off this machine (analytics off, system fonts).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')

DEFAULT_CONFIG = osp.join(_REPO, 'configs', 'merge', 'pixart_depth_tiny.py')
DEFAULT_RUN = osp.join(_REPO, 'work_dirs', 'demo')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dense-config', default=DEFAULT_CONFIG)
    parser.add_argument('--dense-checkpoint',
                        help='default: the README demo\'s last checkpoint '
                        'when the default config is used')
    parser.add_argument('--gen-config', help='default: the dense model')
    parser.add_argument('--gen-checkpoint')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--share', action='store_true',
                        help='a public gradio.live link (needs internet)')
    return parser.parse_args(argv)


def default_checkpoint(config: str):
    """The README demo's checkpoint for the default config, else None."""
    marker = osp.join(DEFAULT_RUN, 'last_checkpoint')
    if osp.abspath(config) == DEFAULT_CONFIG and osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        return path if osp.isfile(path) else None
    return None


class DemoModels:
    """The models behind the demo and the two things it does with them."""

    def __init__(self, dense_model, gen_model=None, out_dir=None):
        self.dense = dense_model
        self.gen = gen_model if gen_model is not None else dense_model
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='unidense_demo_')
        self.tasks = self._tasks()

    def _tasks(self):
        kinds = getattr(self.dense, 'prediction_kinds', {})
        branches = getattr(self.dense, 'modalities', None)
        tasks = ['depth']
        if branches is not None:
            tasks = [t for t, b in (('depth', 'depth'), ('normals', 'normal'))
                     if b in branches]
        return tasks if kinds else ['depth']

    def estimate(self, image, task='depth', ensemble_size=1, steps=None):
        """(H, W, 3) uint8 -> (colour PNG array, GLB path, [files])."""
        import numpy as np

        from unidense.apis import inference_dense
        from unidense.apis.outputs import output_paths, write_dense_map
        from unidense.visualization.colorize import (colorize_depth,
                                                     colorize_normal)
        if image is None:
            raise ValueError('upload an image first')
        image = np.asarray(image)
        dense = inference_dense(self.dense, image, task=task,
                                ensemble_size=int(ensemble_size) or None,
                                num_inference_steps=int(steps) or None)[0]
        rgb = image[..., :3] if image.ndim == 3 else \
            np.repeat(image[..., None], 3, 2)
        formats = ['png16', 'npy', 'glb'] if task == 'depth' else ['npy']
        paths = output_paths(self.out_dir, f'upload_{id(dense)}', task,
                             formats)
        write_dense_map(paths, dense, rgb.astype(np.uint8))
        shown = colorize_depth(dense.data) if task == 'depth' else \
            colorize_normal(dense.data, channel_axis=2)
        return shown, paths.get('glb'), list(paths.values())

    def generate(self, prompt, steps=20, guidance=3.0, seed=0):
        """prompt -> (RGB uint8, colour depth or None)."""
        from unidense.apis import generate
        from unidense.visualization.colorize import colorize_depth
        if not prompt or not prompt.strip():
            raise ValueError('type a prompt first')
        out = generate(self.gen, [prompt], num_inference_steps=int(steps),
                       guidance_scale=float(guidance), seed=int(seed))[0]
        depth = out.get('depth')
        return out['rgb'], None if depth is None else colorize_depth(depth)


def build_app(models: DemoModels):
    """The Gradio Blocks app over ``models``."""
    import gradio as gr

    def estimate(image, task, ensemble, steps):
        try:
            return models.estimate(image, task, ensemble, steps)
        except ValueError as err:
            raise gr.Error(str(err))

    def generate(prompt, steps, guidance, seed):
        try:
            return models.generate(prompt, steps, guidance, seed)
        except ValueError as err:
            raise gr.Error(str(err))

    with gr.Blocks(title='unidense demo') as app:
        gr.Markdown('# unidense: one diffusion model that generates and '
                    'perceives')
        with gr.Tab('Depth / normals'):
            with gr.Row():
                image = gr.Image(label='image', type='numpy',
                                 elem_id='input_image')
                shown = gr.Image(label='prediction', type='numpy',
                                 format='png', elem_id='prediction')
            with gr.Row():
                task = gr.Radio(models.tasks, value=models.tasks[0],
                                label='task')
                ensemble = gr.Slider(1, 10, value=1, step=1,
                                     label='ensemble size')
                steps = gr.Slider(0, 50, value=0, step=1,
                                  label='denoising steps (0 = config)')
            run = gr.Button('Estimate', elem_id='estimate')
            view = gr.Model3D(label='3-D view (GLB)')
            files = gr.File(label='downloads', file_count='multiple')
            run.click(estimate, [image, task, ensemble, steps],
                      [shown, view, files])
        with gr.Tab('Generate'):
            prompt = gr.Textbox(label='prompt', elem_id='prompt',
                                value='a room with red walls and a gray '
                                'floor, a blue sphere')
            with gr.Row():
                gen_steps = gr.Slider(1, 100, value=20, step=1,
                                      label='steps')
                guidance = gr.Slider(1, 15, value=3.0, step=0.5,
                                     label='guidance')
                seed = gr.Number(value=0, precision=0, label='seed')
            go = gr.Button('Generate', elem_id='generate')
            with gr.Row():
                rgb = gr.Image(label='image', format='png',
                               elem_id='generated')
                depth = gr.Image(label='depth (JointNet)', format='png')
            go.click(generate, [prompt, gen_steps, guidance, seed],
                     [rgb, depth])
    return app


def load_models(args) -> DemoModels:
    from unidense.apis import init_model
    ckpt = args.dense_checkpoint or default_checkpoint(args.dense_config)
    dense = init_model(args.dense_config, ckpt, device=args.device)
    gen = None
    if args.gen_config:
        gen = init_model(args.gen_config, args.gen_checkpoint,
                         device=args.device)
    return DemoModels(dense, gen)


def main(argv=None):
    args = parse_args(argv)
    app = build_app(load_models(args))
    app.launch(server_name=args.host, server_port=args.port,
               share=args.share)


if __name__ == '__main__':
    main()
