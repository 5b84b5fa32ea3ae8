"""A trained MERGE as a ``from_pretrained``-style folder.

The official MERGE code ships converters as a raw state dict; diffusers
users expect a folder with a model card. ``save_pretrained_folder`` writes

* ``unidense_config.py``: the model config (the frozen base referenced by
  its hub id or path in ``from_pretrained``; no base weight is copied),
* ``converters/<name>.safetensors``: one file per converter set (the
  fusion's trained tensors, keys ``fusion.*``),
* ``unidense_model.json``: the class, the sets and the default one,
* ``README.md``: a model card (base model, task, training data, metrics and
  their protocol).

``unidense.apis.init_model(folder)`` builds it back: the config's frozen
parts from the base, each converter set loaded with
``MERGE.load_converter_set`` and the default set active. The round trip is
exact (the same tensors, bit for bit).
"""
import json
import os
import os.path as osp
from typing import Dict, Mapping, Optional

import torch

MANIFEST = 'unidense_model.json'
_TASK_TEXT = dict(depth='relative depth (affine-invariant, 0 near)',
                  normal='surface normals (unit vectors)')
CONFIG = 'unidense_config.py'


def _base_reference(model_cfg) -> str:
    """The frozen base's ``from_pretrained`` (hub id or path)."""
    found = []

    def walk(node):
        if isinstance(node, Mapping):
            if node.get('from_pretrained'):
                found.append(str(node['from_pretrained']))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)
    walk(model_cfg.get('backbone', {}))
    return found[0] if found else '(randomly initialised backbone)'


def _model_card(cfg, sets: Dict[str, str], metrics: Optional[dict],
                protocol: Optional[str], base: str) -> str:
    train = cfg.get('train_dataloader', {}).get('dataset', {})
    data = train.get('type', 'unknown')
    if train.get('datasets'):
        data = ' + '.join(d.get('type', '?') for d in train['datasets'])
    lines = [
        '---', 'library_name: unidense', f'base_model: {base}',
        f'tags: [{cfg.model.get("task", "depth")}-estimation, merge, '
        'unidense]', '---', '',
        f'# MERGE converters on {base}', '',
        'Grouped converters (MERGE, NeurIPS 2025) that turn the frozen '
        'text-to-image DiT into a dense estimator; the DiT itself is not '
        'in this folder and stays untouched (text-to-image mode gives its '
        'images bit for bit).', '',
        f'- **Base model**: `{base}` (frozen, loaded by reference)',
        f'- **Task**: {_TASK_TEXT[cfg.model.get("task", "depth")]}, '
        f'{cfg.model.get("num_inference_steps")} denoising step(s), '
        f'ensemble {cfg.model.get("ensemble_size")}',
        f'- **Training data**: {data}',
        f'- **Converter sets**: ' + ', '.join(
            f'`{n}` ({p})' for n, p in sets.items()), '']
    if metrics:
        lines += ['## Results', '',
                  f'Protocol: {protocol or "see the config"}', '',
                  '| metric | value |', '|---|---|']
        lines += [f'| {k} | {v:.4g} |' if isinstance(v, float) else
                  f'| {k} | {v} |' for k, v in metrics.items()]
        lines.append('')
    lines += ['## Use', '', '```python',
              'from unidense.apis import inference_dense, init_model',
              "model = init_model('path/to/this/folder')",
              "depth = inference_dense(model, 'room.jpg')[0]",
              "model.set_mode('t2i')   # the untouched text-to-image model",
              '```', '']
    return '\n'.join(lines)


def save_pretrained_folder(cfg, sets: Mapping[str, object], folder: str,
                           default: Optional[str] = None,
                           tasks: Optional[Mapping[str, str]] = None,
                           metrics: Optional[dict] = None,
                           protocol: Optional[str] = None) -> str:
    """Write a MERGE folder.

    Args:
        cfg: the model's mmengine Config (its ``model`` is kept).
        sets: ``{set name: checkpoint path or state dict}``; each holds the
            fusion's converters (``fusion.*`` keys).
        folder: output folder (created; files written atomically).
        default: the set active after loading (default: the first).
        tasks: ``{set name: 'depth' | 'normal'}`` (default: the config's
            ``model.task``).
        metrics, protocol: for the model card.

    Returns:
        the folder.
    """
    from mmengine.config import Config

    from unidense.utils.checkpoint_io import (export_safetensors,
                                              extract_state_dict,
                                              load_checkpoint_safe,
                                              write_text_atomic)
    if cfg.model.get('type') != 'MERGE':
        raise TypeError(f'save_pretrained_folder: a MERGE config is needed, '
                        f'got model type {cfg.model.get("type")!r}')
    if not sets:
        raise ValueError('save_pretrained_folder: no converter set given')
    default = default or next(iter(sets))
    if default not in sets:
        raise KeyError(f'default set {default!r} not in {sorted(sets)}')
    os.makedirs(osp.join(folder, 'converters'), exist_ok=True)
    files = {}
    for name, source in sets.items():
        where = source if isinstance(source, str) else name
        if isinstance(source, str):
            source = load_checkpoint_safe(source)
        state = extract_state_dict(source)
        fusion = {k: v for k, v in state.items() if k.startswith('fusion.')}
        if not fusion:
            raise KeyError(f'{where}: no fusion.* tensors (a MERGE '
                           f'checkpoint is needed)')
        rel = f'converters/{name}.safetensors'
        export_safetensors(dict(state_dict=fusion), osp.join(folder, rel),
                           metadata=dict(converter_set=name))
        files[name] = rel
    model_cfg = Config(dict(model=cfg.model.to_dict()
                            if hasattr(cfg.model, 'to_dict')
                            else dict(cfg.model)))
    write_text_atomic(osp.join(folder, CONFIG), model_cfg.pretty_text)
    base = _base_reference(cfg.model)
    task = cfg.model.get('task', 'depth')
    manifest = dict(model_class='MERGE', config=CONFIG,
                    converter_sets=files,
                    converter_tasks={n: (tasks or {}).get(n, task)
                                     for n in files},
                    default_set=default, base_model=base)
    write_text_atomic(osp.join(folder, MANIFEST),
                      json.dumps(manifest, indent=2) + '\n')
    write_text_atomic(osp.join(folder, 'README.md'),
                      _model_card(cfg, files, metrics, protocol, base))
    return folder


def is_pretrained_folder(path) -> bool:
    return osp.isdir(path) and osp.isfile(osp.join(path, MANIFEST))


def load_pretrained_folder(folder: str,
                           device: str = 'cpu') -> torch.nn.Module:
    """The MERGE of a :func:`save_pretrained_folder` folder, default set
    active, in eval mode, with its config as ``model.cfg``."""
    from mmengine.config import Config

    from unidense.registry import MODELS
    from unidense.utils.checkpoint_io import load_safetensors
    with open(osp.join(folder, MANIFEST)) as f:
        manifest = json.load(f)
    for key in ('config', 'converter_sets', 'default_set'):
        if key not in manifest:
            raise KeyError(f'{osp.join(folder, MANIFEST)}: no {key!r}')
    cfg = Config.fromfile(osp.join(folder, manifest['config']))
    model = MODELS.build(cfg.model)
    for name, rel in manifest['converter_sets'].items():
        path = osp.join(folder, rel)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: converter set {name!r} missing')
        model.load_converter_set(
            name, load_safetensors(path),
            task=manifest.get('converter_tasks', {}).get(name))
    model.set_mode(manifest['default_set'])
    model.cfg = cfg
    return model.to(device).eval()
