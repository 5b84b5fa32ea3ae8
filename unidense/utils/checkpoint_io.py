"""Checkpoint files: atomic writes, provenance markers, safe loading, export.

Why this exists
---------------
* A training run killed while writing must never leave a half-written
  checkpoint or a ``last_checkpoint`` pointing to one. Every file here is
  written to a temporary name in the same folder and moved into place with
  ``os.replace`` (atomic on POSIX and Windows).
* ``torch.load`` of an arbitrary pickle can run arbitrary code. unidense
  therefore writes, next to every pickle checkpoint ``X.pth``, a sidecar
  ``X.pth.unidense`` (JSON with the file's sha256). A pickle is only
  unpickled when that marker matches, or when the caller opts in explicitly
  (``trust_checkpoint=True`` in Python, ``--trust-checkpoint`` on the command
  line). torch's global safe-loading default is never switched off; the
  full unpickle is a per-call decision. The marker stops *accidental* loads
  of foreign or modified pickles; it is not a cryptographic signature, so a
  folder of checkpoints from an untrusted source is still untrusted.
  :func:`load_weights_only` loads plain tensor pickles safely without any
  marker.
* ``.safetensors`` files hold tensors only and always load safely.
"""
import hashlib
import json
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional, Union

import torch

MARKER_SUFFIX = '.unidense'
MARKER_FORMAT = 'unidense-checkpoint-v1'
TRUST_HINT = ('pass --trust-checkpoint to tools/train.py / tools/test.py, '
              'trust_checkpoint=True in Python, or set trust_checkpoint=True '
              'in the config')


class UntrustedCheckpointError(RuntimeError):
    """A pickle checkpoint without a valid unidense marker was refused."""


def _atomic_write(path: str, write_fn: Callable[[Any], None],
                  mode: str = 'wb') -> None:
    """Write ``path`` through ``write_fn(fileobj)`` into a temp file, then
    rename it over ``path``; a crash leaves either the old file or the new
    one, never a truncated one."""
    path = osp.abspath(osp.expanduser(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            write_fn(f)
            f.flush()
            # fsync so that after a power loss the rename cannot point to
            # data that never reached the disk.
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """Atomically replace the text file ``path`` with ``text``."""
    _atomic_write(path, lambda f: f.write(text), mode='w')


def file_sha256(path: str, chunk_size: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def marker_path(path: str) -> str:
    """Sidecar marker path of checkpoint ``path``."""
    return path + MARKER_SUFFIX


def write_marker(path: str) -> str:
    """Write the provenance marker of an existing checkpoint ``path``."""
    from unidense.version import __version__
    info = dict(format=MARKER_FORMAT, file=osp.basename(path),
                sha256=file_sha256(path), size=osp.getsize(path),
                unidense_version=__version__)
    marker = marker_path(path)
    write_text_atomic(marker, json.dumps(info, indent=1))
    return marker


def has_valid_marker(path: str) -> bool:
    """True when ``path`` has a marker whose size and sha256 match."""
    marker = marker_path(path)
    if not osp.isfile(marker):
        return False
    try:
        with open(marker) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get('format') != MARKER_FORMAT:
        return False
    if info.get('size') != osp.getsize(path):
        return False
    return info.get('sha256') == file_sha256(path)


# DeepSpeed runs keep their ZeRO partitions in a folder next to the file
ZERO_STATE_SUFFIX = '.zero'


def remove_checkpoint(path: str) -> None:
    """Delete a checkpoint, its marker and its ZeRO state folder (missing
    ones are ignored)."""
    import shutil
    for p in (path, marker_path(path)):
        if osp.isfile(p):
            os.remove(p)
    if osp.isdir(path + ZERO_STATE_SUFFIX):
        shutil.rmtree(path + ZERO_STATE_SUFFIX)


def save_checkpoint_atomic(checkpoint: Dict, path: str) -> str:
    """Save ``checkpoint`` with ``torch.save`` atomically and mark it.

    Args:
        checkpoint (dict): Anything ``torch.save`` accepts; unidense runners
            pass the mmengine checkpoint dict (``meta``, ``state_dict``,
            ``optimizer``, ``param_schedulers``, ``message_hub``, ...).
        path (str): Destination; a ``.safetensors`` path is refused (use
            :func:`export_safetensors`).

    Returns:
        str: The absolute path written.
    """
    if path.endswith('.safetensors'):
        raise ValueError(f'save_checkpoint_atomic writes pickle checkpoints; '
                         f'use export_safetensors for {path}')
    path = osp.abspath(osp.expanduser(path))
    _atomic_write(path, lambda f: torch.save(checkpoint, f))
    write_marker(path)
    return path


def _safe_globals():
    """Classes that a unidense training checkpoint holds besides tensors and
    builtins. All are plain data holders without code paths on unpickling."""
    allowed = []
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
        allowed.append(HistoryBuffer)
    except ImportError:  # pragma: no cover - mmengine is a hard dependency
        pass
    try:
        import numpy as np
        allowed += [np.dtype, np.ndarray, type(np.dtype(np.float64)),
                    type(np.dtype(np.float32)), type(np.dtype(np.int64)),
                    type(np.dtype(np.int32)), type(np.dtype(np.bool_))]
        from numpy.core.multiarray import _reconstruct, scalar
        allowed += [_reconstruct, scalar]
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return allowed


def load_weights_only(path: str, map_location='cpu'):
    """``torch.load(weights_only=True)`` with a minimal allow-list (mmengine
    ``HistoryBuffer``, numpy arrays/dtypes). Safe for any file; fails on
    pickles that hold other objects."""
    with torch.serialization.safe_globals(_safe_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def is_safetensors(path: str) -> bool:
    return str(path).endswith('.safetensors')


def load_checkpoint_safe(path: str,
                         map_location: Union[str, torch.device, Callable,
                                             None] = 'cpu',
                         trust_checkpoint: bool = False) -> Any:
    """Load a checkpoint without running untrusted pickle code.

    * ``*.safetensors``: loaded with safetensors; returns
      ``{'state_dict': OrderedDict}`` so callers treat it like a checkpoint.
    * pickle with a valid unidense marker (written by
      :func:`save_checkpoint_atomic`): unpickled.
    * any other pickle: refused with :class:`UntrustedCheckpointError`
      unless ``trust_checkpoint=True``.

    Args:
        path (str): Local file path.
        map_location: As for ``torch.load``.
        trust_checkpoint (bool): Unpickle files unidense did not write.

    Returns:
        The loaded object (normally a dict).
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    if is_safetensors(path):
        from safetensors import safe_open
        with safe_open(path, framework='pt') as f:
            header = f.metadata() or {}
        out = dict(state_dict=load_safetensors(path, map_location))
        if header.get('unidense_trainable_only') == 'true':
            # exported from a trainable-only checkpoint: frozen weights come
            # from the config, so loaders must not miss them.
            out['meta'] = dict(unidense=dict(trainable_only=True))
        return out
    if not (trust_checkpoint or has_valid_marker(path)):
        reason = ('its marker does not match the file (modified or '
                  'truncated)' if osp.isfile(marker_path(path)) else
                  f'it has no unidense marker {osp.basename(path)}'
                  f'{MARKER_SUFFIX}')
        raise UntrustedCheckpointError(
            f'Refusing to unpickle checkpoint {path}: {reason}, so unidense '
            f'did not write it (or it was changed since). Unpickling can run '
            f'arbitrary code. If you trust this file, {TRUST_HINT}.')
    # Marked by unidense or explicitly trusted: a full unpickle is allowed
    # (mmengine's message hub pickles bound methods, which weights_only
    # loading can never accept without allowing ``getattr``).
    return torch.load(path, map_location=map_location, weights_only=False)


def extract_state_dict(checkpoint: Any, key: str = 'state_dict') -> Dict:
    """The model weights inside a checkpoint, without a DDP ``module.``
    prefix.

    Args:
        checkpoint: A loaded checkpoint dict or a bare state dict.
        key (str): Which weights: ``'state_dict'`` (default) or another key
            such as ``'ema_state_dict'``.
    """
    if isinstance(checkpoint, dict) and key in checkpoint:
        state = checkpoint[key]
    elif isinstance(checkpoint, dict) and key == 'state_dict' and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state = checkpoint
    else:
        keys = list(checkpoint) if isinstance(checkpoint, dict) else []
        raise KeyError(f'checkpoint has no {key!r}; top-level keys: {keys}')
    out = OrderedDict()
    for name, value in state.items():
        if name.startswith('module.'):
            name = name[len('module.'):]
        out[name] = value
    return out


def load_safetensors(path: str, map_location=None) -> 'OrderedDict':
    """Read a ``.safetensors`` file into an ``OrderedDict`` of tensors."""
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    return OrderedDict(load_file(path, device=device))


def export_safetensors(checkpoint: Union[str, Dict],
                       out_path: str,
                       key: str = 'state_dict',
                       trust_checkpoint: bool = False,
                       metadata: Optional[Dict[str, str]] = None) -> str:
    """Export the weights of a checkpoint to a safetensors file (atomic).

    Args:
        checkpoint (str | dict): A checkpoint path or a loaded checkpoint /
            state dict.
        out_path (str): Destination ``*.safetensors`` file.
        key (str): Which weights to export (``'state_dict'`` or e.g.
            ``'ema_state_dict'``).
        trust_checkpoint (bool): Passed to :func:`load_checkpoint_safe` when
            ``checkpoint`` is a path.
        metadata (dict, optional): Extra string metadata for the header.

    Returns:
        str: The absolute output path.
    """
    from safetensors.torch import save
    if not str(out_path).endswith('.safetensors'):
        raise ValueError(f'output must end with .safetensors: {out_path}')
    source = None
    if isinstance(checkpoint, str):
        source = checkpoint
        checkpoint = load_checkpoint_safe(
            checkpoint, 'cpu', trust_checkpoint=trust_checkpoint)
    state = extract_state_dict(checkpoint, key)
    tensors = OrderedDict()
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f'{key}[{name!r}] is {type(value).__name__}, '
                            'not a tensor; safetensors stores tensors only')
        # safetensors refuses views and shared storage; a private contiguous
        # copy per key keeps every value exactly.
        tensors[name] = value.detach().cpu().contiguous().clone()
    meta = {'format': 'pt', 'unidense_key': key}
    ckpt_meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(ckpt_meta, dict) and ckpt_meta.get('unidense', {}).get(
            'trainable_only'):
        meta['unidense_trainable_only'] = 'true'
    if source is not None:
        meta['source'] = osp.basename(source)
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    data = save(tensors, metadata=meta)
    out_path = osp.abspath(osp.expanduser(out_path))
    _atomic_write(out_path, lambda f: f.write(data))
    return out_path
