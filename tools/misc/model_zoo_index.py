"""Regenerate (or check) the index of every config in model_zoo/README.md.

    python tools/misc/model_zoo_index.py           # rewrite the index section
    python tools/misc/model_zoo_index.py --check   # exit 1 if it is stale

One row per config under ``configs/<method>/`` (``_base_`` and files
starting with ``_`` are parts, not configs): what it is (the first sentence
of its header comment) and its results from the method's ``metafile.yaml``
(imported by ``model-index.yml``), each marked by where the number comes
from:

* **published**: copied from the paper (``Published: true``);
* **converted**: official weights through our converter, evaluated by us
  (``Converted: true``);
* **measured**: trained and evaluated by unidense (``Measured: true``), with
  the ``Protocol`` the result row names.

A config without a result row says so. The section lives between the
``<!-- config-index:start -->`` and ``<!-- config-index:end -->`` markers.
"""
import argparse
import os
import os.path as osp
import sys

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
README = osp.join(REPO, 'model_zoo', 'README.md')
START, END = '<!-- config-index:start -->', '<!-- config-index:end -->'
SOURCES = (('Published', 'published'), ('Converted', 'converted'),
           ('Measured', 'measured'))


def method_dirs():
    root = osp.join(REPO, 'configs')
    return sorted(d for d in os.listdir(root)
                  if not d.startswith('_') and osp.isdir(osp.join(root, d)))


def config_files(method):
    folder = osp.join(REPO, 'configs', method)
    return sorted(f'configs/{method}/{f}' for f in os.listdir(folder)
                  if f.endswith('.py') and not f.startswith('_'))


def metafile_models():
    """``{config path: [model entries]}`` of every imported metafile."""
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = {}
    for rel in index['Import']:
        with open(osp.join(REPO, rel)) as f:
            meta = yaml.safe_load(f)
        for model in meta.get('Models', []):
            models.setdefault(model['Config'], []).append(model)
    return models


def result_source(result):
    """'published' / 'converted' / 'measured' of a result row.

    Raises:
        ValueError: none or several of them are set.
    """
    found = [name for key, name in SOURCES if result.get(key)]
    if len(found) != 1:
        raise ValueError(f'a result row must set exactly one of '
                         f'{[k for k, _ in SOURCES]}, got {found}: {result}')
    return found[0]


def describe(path):
    """The first sentence of a config's header comment."""
    lines = []
    with open(osp.join(REPO, path)) as f:
        for line in f:
            if not line.startswith('#'):
                break
            lines.append(line[1:].strip())
    text = ' '.join(lines) + ' '
    depth, end = 0, len(text)
    for i, ch in enumerate(text[:-1]):
        depth += {'(': 1, ')': -1}.get(ch, 0)
        abbreviation = ch == '.' and text[max(0, i - 3):i] in (' al', 'e.g',
                                                                 'i.e')
        if depth == 0 and ch in '.:;' and text[i + 1] == ' ' and \
                not abbreviation:
            end = i
            break
    sentence = text[:end].strip()
    return sentence.replace('|', '/') or '(no header comment)'


def format_results(entries):
    cells = []
    for model in entries:
        for result in model.get('Results', []) or []:
            metrics = ', '.join(f'{k} {v}' for k, v in
                                result.get('Metrics', {}).items())
            source = result_source(result)
            protocol = result.get('Protocol')
            if protocol:
                source += f'; {protocol}'
            cells.append(f'{result["Dataset"]}: {metrics} '
                         f'({source.replace("|", "/")})')
    return '<br>'.join(cells) if cells else 'no result yet'


def render():
    models = metafile_models()
    rows = ['| config | what | results (source) |', '|---|---|---|']
    for method in method_dirs():
        for path in config_files(method):
            link = f'[{path[len("configs/"):]}](../{path})'
            rows.append(f'| {link} | {describe(path)} | '
                        f'{format_results(models.get(path, []))} |')
    return '\n'.join([START, '', *rows, '', END])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    with open(README) as f:
        text = f.read()
    if START not in text or END not in text:
        raise SystemExit(f'{README}: no {START} ... {END} section')
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    new = head + render() + tail
    if args.check:
        if new != text:
            print(f'{README} is stale: run python tools/misc/'
                  f'model_zoo_index.py')
            return 1
        return 0
    if new != text:
        from unidense.utils.checkpoint_io import write_text_atomic
        write_text_atomic(README, new)
    return 0


if __name__ == '__main__':
    if REPO not in sys.path:
        sys.path.insert(1, REPO)
    sys.exit(main())
