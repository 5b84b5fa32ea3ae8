"""Registered factories for the Hugging Face tokenizers unidense uses.

``dict(type='CLIPTokenizer', from_pretrained=<id or folder>,
subfolder='tokenizer', **kwargs)`` returns the plain transformers tokenizer.
Offline (``HF_HUB_OFFLINE=1``) a cache miss raises
:class:`~unidense.diffusion.PretrainedNotFoundError`. Inside
:func:`~unidense.diffusion.meta_device_build` (architecture-only builds, no
network) a :class:`~unidense.diffusion.ByteTokenizer` stands in.
"""
from unidense.registry import TASK_UTILS
from .byte_tokenizer import ByteTokenizer
from .pretrained import (PretrainedNotFoundError, call_from_pretrained,
                         is_meta_build, not_found_message)


def _build_tokenizer(cls_name, from_pretrained, subfolder, **kwargs):
    if is_meta_build():
        return ByteTokenizer(
            model_max_length=kwargs.get('model_max_length', 77))
    if from_pretrained is None:
        raise ValueError(f'{cls_name}: from_pretrained (hub id or folder) is '
                         'required; use ByteTokenizer for tiny configs')
    import transformers
    cls = getattr(transformers, cls_name)
    tok = call_from_pretrained(cls.from_pretrained, from_pretrained,
                               subfolder, **kwargs)
    # transformers 5 returns an empty-vocabulary tokenizer instead of
    # failing when the vocabulary files are missing; refuse it.
    if len(tok) < 1000:
        raise PretrainedNotFoundError(not_found_message(
            from_pretrained, subfolder) + f' ({cls_name}: no vocabulary '
            f'files found, got a {len(tok)}-token vocabulary)')
    return tok


@TASK_UTILS.register_module(name='CLIPTokenizer')
def CLIPTokenizer(from_pretrained=None, subfolder=None, **kwargs):
    """transformers ``CLIPTokenizer`` (SD: max 77 tokens)."""
    return _build_tokenizer('CLIPTokenizer', from_pretrained, subfolder,
                            **kwargs)


@TASK_UTILS.register_module(name='T5Tokenizer')
def T5Tokenizer(from_pretrained=None, subfolder=None, **kwargs):
    """transformers ``T5Tokenizer`` (PixArt: max 120, FLUX: max 512)."""
    return _build_tokenizer('T5Tokenizer', from_pretrained, subfolder,
                            **kwargs)
