"""Write a trained part as a diffusers / transformers folder, atomically."""
import os
import os.path as osp
import shutil
import tempfile

import torch.nn as nn


def _drop_local_paths(folder: str) -> None:
    """Remove ``_name_or_path`` (the folder a model was loaded from on the
    exporting machine) from the saved ``config.json``: shipped configs must
    not carry one machine's paths."""
    import json
    path = osp.join(folder, 'config.json')
    if not osp.isfile(path):
        return
    with open(path) as f:
        config = json.load(f)
    if config.pop('_name_or_path', None) is not None:
        with open(path, 'w') as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write('\n')


def save_pretrained_atomic(module: nn.Module, out_dir: str) -> str:
    """``module.save_pretrained(out_dir, safe_serialization=True)`` through a
    temporary folder beside ``out_dir`` renamed into place, so a crash never
    leaves a half-written folder; an existing ``out_dir`` is replaced only
    once the new one is complete. Returns ``out_dir``."""
    out_dir = osp.abspath(out_dir)
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.', dir=parent)
    try:
        module.save_pretrained(tmp, safe_serialization=True)
        _drop_local_paths(tmp)
        # mkdtemp makes the folder private; a model folder is for everyone
        os.chmod(tmp, 0o755)
        for name in os.listdir(tmp):
            os.chmod(osp.join(tmp, name), 0o644)
        old = None
        if osp.exists(out_dir):
            old = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.old.',
                                   dir=parent)
            os.rmdir(old)
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
