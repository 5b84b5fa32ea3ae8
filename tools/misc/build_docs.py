"""Build the documentation site with MkDocs, failing on any warning.

    python tools/misc/build_docs.py [--out work_dirs/docs_site] [--serve]

The pages are the repository's own Markdown files where they live (README,
docs/, the method READMEs under configs/, model_zoo/), so links between them
work on GitHub and in the site alike. They are staged with the files they
link to (configs, pictures, the Python sources) into ``<out>_src`` and built
with ``mkdocs build --strict``: a broken link or a missing page is an error.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

NAV = [
    {'Home': 'README.md'},
    {'Get started': 'docs/get_started.md'},
    {'User guides': [
        {'Configs': 'docs/user_guides/configs.md'},
        {'Prepare datasets': 'docs/dataset_prepare.md'},
        {'Train and test': 'docs/user_guides/train_test.md'},
        {'Inference (API, CLI, web demo)': 'docs/user_guides/inference.md'},
        {'Evaluation': 'docs/user_guides/evaluation.md'},
        {'Diffusion parts': 'docs/user_guides/diffusion_parts.md'},
        {'DiT backbones': 'docs/user_guides/dit_backbones.md'},
        {'Heads': 'docs/user_guides/heads.md'},
        {'Self-improving training': 'docs/user_guides/self_improving.md'},
    ]},
    {'Model zoo': [
        {'Index': 'model_zoo/README.md'},
        {'The tiny family': 'model_zoo/unidense-tiny/README.md'},
        {'MERGE': 'configs/merge/README.md'},
        {'JointNet': 'configs/jointnet/README.md'},
        {'Diff-2-in-1': 'configs/diff2in1/README.md'},
    ]},
    {'Advanced': [
        {'Design overview': 'docs/advanced_guides/design.md'},
        {'Reliability': 'docs/reliability.md'},
        {'Benchmarks': 'docs/benchmarks.md'},
        {'Distributed training and memory': 'docs/distributed.md'},
        {'Add a head or a fusion': 'docs/advanced_guides/contracts.md'},
        {'Interfaces': 'docs/advanced_guides/interfaces.md'},
    ]},
]
# what pages link to, staged beside them (sources, configs, pictures)
STAGED = ('README.md', 'docs', 'configs', 'model_zoo', 'unidense', 'tools',
          'tests/helpers', 'model-index.yml')
SKIP_SUFFIXES = ('.safetensors', '.pyc', '.pth', '.bin')


def nav_pages(nav=NAV):
    for entry in nav:
        for value in entry.values():
            if isinstance(value, list):
                yield from nav_pages(value)
            else:
                yield value


def stage(src_dir: str) -> None:
    """Copy the pages and what they link to into ``src_dir``."""
    if osp.isdir(src_dir):
        shutil.rmtree(src_dir)
    ignore = shutil.ignore_patterns('__pycache__', '*.safetensors', '*.pyc',
                                    '*.pth', 'data')
    for rel in STAGED:
        src = osp.join(REPO, rel)
        dst = osp.join(src_dir, rel)
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=ignore)
        elif osp.isfile(src):
            os.makedirs(osp.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
    missing = [p for p in nav_pages() if not osp.isfile(osp.join(src_dir, p))]
    if missing:
        raise FileNotFoundError(f'pages in the docs navigation are missing: '
                                f'{missing}')


def write_config(path: str, src_dir: str, site_dir: str) -> None:
    import yaml
    cfg = dict(site_name='unidense', docs_dir=src_dir, site_dir=site_dir,
               nav=NAV, strict=True, use_directory_urls=False,
               validation=dict(omitted_files='info', absolute_links='warn',
                               unrecognized_links='warn',
                               anchors='warn'),
               markdown_extensions=['tables', 'fenced_code', 'toc'])
    with open(path, 'w') as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=osp.join(REPO, 'work_dirs',
                                                  'docs_site'))
    parser.add_argument('--serve', action='store_true')
    args = parser.parse_args(argv)
    out = osp.abspath(args.out)
    src_dir = out + '_src'
    stage(src_dir)
    config = out + '_mkdocs.yml'
    write_config(config, src_dir, out)
    cmd = [sys.executable, '-m', 'mkdocs', 'serve' if args.serve else
           'build', '-f', config]
    rc = subprocess.call(cmd)
    if rc == 0 and not args.serve:
        print(f'docs built without warnings: {out}/index.html')
    return rc


if __name__ == '__main__':
    sys.exit(main())
