"""Offline byte-level tokenizer for tiny configs and tests."""
import torch

from unidense.registry import TASK_UTILS


@TASK_UTILS.register_module()
class ByteTokenizer:
    """UTF-8 bytes as token ids; needs no vocabulary file and no network.

    Called like a Hugging Face tokenizer::

        tok = ByteTokenizer(model_max_length=77)
        out = tok(['a cat', ''], padding='max_length', max_length=77,
                  truncation=True, return_tensors='pt')
        out['input_ids']       # (2, 77) int64
        out['attention_mask']  # (2, 77) int64, 1 on real tokens

    Ids: ``pad=0``, byte ``b`` -> ``b + 1`` (1..256), ``bos=257``,
    ``eos=258`` (``vocab_size=259``). ``eos`` is the largest id on purpose:
    CLIP's text model picks the pooled token with ``argmax(input_ids)`` when
    its config uses the legacy eos id, so the pooled token is always the eos.
    Use tiny ``CLIPTextConfig``/``T5Config`` with ``vocab_size=259``.

    Args:
        model_max_length (int): default ``max_length``. Defaults to 77.
        add_bos (bool): prepend ``bos`` (CLIP style). T5 has no bos: False.
        add_eos (bool): append ``eos``. Defaults to True.
        lowercase (bool): lower-case the text first (CLIP does).
    """
    pad_token_id = 0
    bos_token_id = 257
    eos_token_id = 258
    vocab_size = 259

    def __init__(self, model_max_length=77, add_bos=True, add_eos=True,
                 lowercase=False):
        self.model_max_length = int(model_max_length)
        self.add_bos = add_bos
        self.add_eos = add_eos
        self.lowercase = lowercase

    def __len__(self):
        return self.vocab_size

    def encode(self, text, add_special_tokens=True):
        if not isinstance(text, str):
            raise TypeError(f'ByteTokenizer: expected str, got {type(text)}')
        if self.lowercase:
            text = text.lower()
        ids = [b + 1 for b in text.encode('utf-8')]
        if add_special_tokens:
            ids = ([self.bos_token_id] if self.add_bos else []) + ids + (
                [self.eos_token_id] if self.add_eos else [])
        return ids

    def __call__(self, text, padding='max_length', max_length=None,
                 truncation=True, return_tensors='pt',
                 add_special_tokens=True, **kwargs):
        from transformers import BatchEncoding
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        max_length = self.model_max_length if max_length is None else int(
            max_length)
        rows = [self.encode(t, add_special_tokens) for t in texts]
        if truncation:
            rows = [self._truncate(r, max_length, add_special_tokens)
                    for r in rows]
        if padding in (True, 'longest'):
            length = max((len(r) for r in rows), default=0)
        elif padding == 'max_length':
            length = max_length
        elif padding in (False, None, 'do_not_pad'):
            length = None
        else:
            raise ValueError(f'ByteTokenizer: padding={padding!r} is not one '
                             "of 'max_length', 'longest', True, False")
        if length is not None:
            too_long = [len(r) for r in rows if len(r) > length]
            if too_long:
                raise ValueError(
                    f'ByteTokenizer: a text has {max(too_long)} tokens > '
                    f'max_length={length}; pass truncation=True')
            masks = [[1] * len(r) + [0] * (length - len(r)) for r in rows]
            rows = [r + [self.pad_token_id] * (length - len(r)) for r in rows]
        else:
            masks = [[1] * len(r) for r in rows]
        if single and return_tensors is None:
            rows, masks = rows[0], masks[0]
        data = dict(input_ids=rows, attention_mask=masks)
        if return_tensors == 'pt':
            data = {k: torch.tensor(v, dtype=torch.long) for k, v in
                    data.items()}
        elif return_tensors is not None:
            raise ValueError("ByteTokenizer: return_tensors must be 'pt' or "
                             f'None, got {return_tensors!r}')
        return BatchEncoding(data)

    def _truncate(self, ids, max_length, add_special_tokens):
        if len(ids) <= max_length:
            return ids
        if add_special_tokens and self.add_eos:
            return ids[:max_length - 1] + [self.eos_token_id]
        return ids[:max_length]

    def decode(self, ids, skip_special_tokens=True):
        ids = ids.tolist() if hasattr(ids, 'tolist') else list(ids)
        data = bytes(i - 1 for i in ids if 1 <= i <= 256)
        return data.decode('utf-8', errors='replace')

    def __repr__(self):
        return (f'ByteTokenizer(model_max_length={self.model_max_length}, '
                f'add_bos={self.add_bos}, add_eos={self.add_eos})')
