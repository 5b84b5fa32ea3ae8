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


@TASK_UTILS.register_module(name='PreTrainedTokenizerFast')
def PreTrainedTokenizerFast(from_pretrained=None, subfolder=None, **kwargs):
    """transformers ``PreTrainedTokenizerFast`` from a local folder or hub
    id holding a ``tokenizer.json`` - e.g. the word-level tokenizer of the
    tiny family in ``model_zoo/unidense-tiny/tokenizer`` (see
    :func:`make_word_tokenizer`). Unlike the CLIP / T5 factories it accepts
    small vocabularies, but refuses a folder without ``tokenizer.json``."""
    if is_meta_build():
        return ByteTokenizer(
            model_max_length=kwargs.get('model_max_length', 77))
    if from_pretrained is None:
        raise ValueError('PreTrainedTokenizerFast: from_pretrained (folder '
                         'with tokenizer.json, or hub id) is required')
    import os.path as osp

    import transformers
    folder = osp.join(str(from_pretrained), subfolder or '')
    if osp.isdir(str(from_pretrained)) and not osp.isfile(
            osp.join(folder, 'tokenizer.json')):
        raise PretrainedNotFoundError(
            f'PreTrainedTokenizerFast: no tokenizer.json in {folder}')
    return call_from_pretrained(
        transformers.PreTrainedTokenizerFast.from_pretrained,
        from_pretrained, subfolder, **kwargs)


def make_word_tokenizer(words, model_max_length=32):
    """A T5-style word-level tokenizer for a closed vocabulary.

    Ids: 0 ``<pad>``, 1 ``</s>`` (appended to every text, as T5 does),
    2 ``<unk>``, 3 ``,``, then ``words`` in the given order. Text is
    lower-cased and split on white space and punctuation. Returns a
    ``transformers.PreTrainedTokenizerFast`` (``save_pretrained`` writes a
    folder :func:`PreTrainedTokenizerFast` loads offline).
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast as Fast

    specials = ['<pad>', '</s>', '<unk>', ',']
    vocab = {tok: i for i, tok in enumerate(specials)}
    for word in words:
        if word in vocab:
            raise ValueError(f'make_word_tokenizer: {word!r} given twice or '
                             'clashes with a special token')
        vocab[word] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token='<unk>'))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(
        single='$A </s>', pair='$A </s> $B </s>',
        special_tokens=[('</s>', vocab['</s>'])])
    return Fast(tokenizer_object=tok, pad_token='<pad>', eos_token='</s>',
                unk_token='<unk>', model_max_length=model_max_length)
