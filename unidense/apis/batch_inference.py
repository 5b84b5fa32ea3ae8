"""Inference over many inputs into an output folder (``tools/infer.py``).

Resumable: an input whose every requested output file exists is skipped
(files are written atomically, so existing means complete); ``overwrite``
redoes them. Videos and frame folders can be aligned in time (see
:mod:`unidense.apis.video`); aligned runs also keep the ``npy`` of each
frame so a resumed run continues from the last aligned frame.
"""
import os
import os.path as osp
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np

from .inference import generate, inference_dense, panorama
from .inputs import list_images, read_image, to_rgb_float
from .outputs import (depth_to_png16, output_paths, write_dense_map,
                      write_glb, write_png_atomic)
from .video import TemporalDepthAligner, flicker, is_video, read_video_frames


def iter_sources(path: str) -> Iterator[Tuple[str, Callable[[], np.ndarray]]]:
    """``(stem, load)`` per input of ``path``: a video's frames, a folder's
    images (sorted) or one image; ``load()`` reads it when needed."""
    if is_video(path):
        for stem, frame in read_video_frames(path):
            yield stem, (lambda f=frame: f)
    elif osp.isdir(path):
        for file in list_images(path):
            yield (osp.splitext(osp.basename(file))[0],
                   lambda f=file: read_image(f))
    else:
        yield osp.splitext(osp.basename(path))[0], lambda: read_image(path)


def _uint8(rgb: np.ndarray) -> np.ndarray:
    return np.round(rgb * 255).astype(np.uint8)


def _chunks(sources, batch_size: int):
    chunk = []
    for item in sources:
        chunk.append(item)
        if len(chunk) == batch_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def infer_to_folder(model, input_path: str, out_dir: str, task: str,
                    formats: Sequence[str], batch_size: int = 4,
                    overwrite: bool = False, align_frames: bool = False,
                    momentum: float = 0.5, fov_deg: float = 60.0,
                    progress: bool = True, **options) -> Dict[str, float]:
    """Dense maps of every input of ``input_path`` written to ``out_dir``.

    Args:
        task: 'depth', 'normals', 'seg', ...
        formats: output formats of the task (``outputs.FORMATS``).
        align_frames: align consecutive depth maps in time (depth only).
        options: ``ensemble_size``, ``num_inference_steps``,
            ``processing_res``, ``seed`` of :func:`inference_dense`.

    Returns:
        ``done`` / ``skipped`` counts and, when aligning, ``flicker_raw``
        and ``flicker_aligned`` over the frames processed in this run.
    """
    from tqdm import tqdm
    if align_frames and task != 'depth':
        raise ValueError('align_frames needs task="depth"')
    formats = list(dict.fromkeys(list(formats) + (['npy'] if align_frames
                                                  else [])))
    aligner = TemporalDepthAligner(momentum) if align_frames else None
    stats = dict(done=0, skipped=0)
    raw, aligned = [], []
    bar = tqdm(desc=f'{task} -> {out_dir}', unit='img', disable=not progress)
    for chunk in _chunks(iter_sources(input_path), batch_size):
        todo = []
        for stem, load in chunk:
            paths = output_paths(out_dir, stem, task, formats)
            if not overwrite and all(osp.isfile(p) for p in paths.values()):
                stats['skipped'] += 1
                if aligner is not None:    # resume from its aligned depth
                    aligner.reference = np.load(paths['npy']).astype(
                        np.float64)
                continue
            todo.append((stem, to_rgb_float(load(), stem), paths))
        if todo:
            maps = inference_dense(model, [rgb for _, rgb, _ in todo],
                                   task=task, batch_size=batch_size,
                                   **options)
            for (stem, rgb, paths), dense in zip(todo, maps):
                if aligner is not None:
                    raw.append(dense.data)
                    dense.data = aligner(dense.data)
                    aligned.append(dense.data)
                write_dense_map(paths, dense, _uint8(rgb), fov_deg)
                stats['done'] += 1
        bar.update(len(chunk))
    bar.close()
    if aligner is not None:
        stats.update(flicker_raw=flicker(raw),
                     flicker_aligned=flicker(aligned))
    return stats


def _write_generated(out_dir: str, stem: str, sample: Dict) -> List[str]:
    written = []
    for name, value in sample.items():
        if name == 'rgb':
            path = osp.join(out_dir, f'{stem}_rgb.png')
            write_png_atomic(path, value)
        elif name == 'depth':
            path = osp.join(out_dir, f'{stem}_depth16.png')
            write_png_atomic(path, depth_to_png16(value, 'affine_invariant_depth'))
            from unidense.visualization.colorize import colorize_depth
            write_png_atomic(osp.join(out_dir, f'{stem}_depth.png'),
                       colorize_depth(value))
        else:                                     # normals
            path = osp.join(out_dir, f'{stem}_{name}.png')
            write_png_atomic(path, np.round((np.clip(value, -1, 1) + 1) * 127.5)
                       .astype(np.uint8))
        written.append(path)
    return written


def generate_to_folder(model, prompts: Sequence[str], out_dir: str,
                       num_per_prompt: int = 1, seed: int = 0,
                       batch_size: int = 4, overwrite: bool = False,
                       progress: bool = True, **kwargs) -> Dict[str, int]:
    """Images (and JointNet's depth) for ``prompts`` into ``out_dir`` as
    ``<index>_rgb.png`` ...; ``prompts.txt`` lists index and prompt. Image
    ``i`` is seeded with ``seed + i``, so a resumed run draws the same."""
    from tqdm import tqdm
    from unidense.utils.checkpoint_io import write_text_atomic
    jobs = [(f'{i * num_per_prompt + k:05d}', p)
            for i, p in enumerate(prompts) for k in range(num_per_prompt)]
    os.makedirs(out_dir, exist_ok=True)
    write_text_atomic(osp.join(out_dir, 'prompts.txt'),
                      ''.join(f'{s}\t{p}\n' for s, p in jobs))
    stats = dict(done=0, skipped=0)
    for stem, prompt in tqdm(jobs, desc='generate', disable=not progress):
        if not overwrite and osp.isfile(osp.join(out_dir, f'{stem}_rgb.png')):
            stats['skipped'] += 1
            continue
        sample = generate(model, [prompt], seed=seed + int(stem),
                          batch_size=batch_size, **kwargs)[0]
        _write_generated(out_dir, stem, sample)
        stats['done'] += 1
    return stats


def panorama_to_folder(model, prompt: str, out_dir: str,
                       formats: Sequence[str] = ('png', 'png16', 'ply'),
                       span_deg: float = 360.0, seed: int = 0,
                       **kwargs) -> Dict[str, str]:
    """One RGB-D panorama: ``panorama_rgb.png`` and, by ``formats``,
    ``panorama_depth.png`` (colour), ``panorama_depth16.png``, and a
    cylindrical mesh ``panorama.ply`` / ``panorama.glb`` spanning
    ``span_deg`` (360 closes the seam)."""
    from unidense.pipelines.rgbd_export import (panorama_mesh_faces,
                                                panorama_to_points,
                                                write_ply)
    from .outputs import atomic_path
    out = panorama(model, prompt, seed=seed, **kwargs)
    paths = dict(rgb=osp.join(out_dir, 'panorama_rgb.png'))
    write_png_atomic(paths['rgb'], out['rgb'])
    stem = osp.join(out_dir, 'panorama')
    depth = out['depth']
    if 'png' in formats:
        from unidense.visualization.colorize import colorize_depth
        paths['png'] = stem + '_depth.png'
        write_png_atomic(paths['png'], colorize_depth(depth))
    if 'png16' in formats:
        paths['png16'] = stem + '_depth16.png'
        write_png_atomic(paths['png16'],
                   depth_to_png16(depth, 'affine_invariant_depth'))
    points, colors = panorama_to_points(out['rgb'], depth, span_deg,
                                        shift=1.0, scale=2.0)
    faces = panorama_mesh_faces(*depth.shape, wrap=span_deg >= 360)
    if 'ply' in formats:
        paths['ply'] = stem + '.ply'
        with atomic_path(paths['ply']) as tmp:
            write_ply(tmp, points, colors, faces)
    if 'glb' in formats:
        paths['glb'] = write_glb(stem + '.glb', points, colors, faces)
    return paths
