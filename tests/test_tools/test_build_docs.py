"""The docs build (tools/misc/build_docs.py, the command README gives)
passes with MkDocs' strict mode, and a broken link would fail it."""
import os.path as osp
import subprocess
import sys

import pytest

pytest.importorskip('mkdocs')
from tools.misc import build_docs  # noqa: E402


def test_docs_build_without_warnings(tmp_path):
    out = str(tmp_path / 'site')
    assert build_docs.main(['--out', out]) == 0
    assert osp.isfile(osp.join(out, 'index.html'))
    assert osp.isfile(osp.join(out, 'docs', 'user_guides', 'inference.html'))


def test_a_broken_link_fails_the_build(tmp_path):
    out = str(tmp_path / 'site')
    src = out + '_src'
    build_docs.stage(src)
    with open(osp.join(src, 'docs', 'get_started.md'), 'a') as f:
        f.write('\nSee [nothing](no_such_page.md).\n')
    cfg = out + '.yml'
    build_docs.write_config(cfg, src, out)
    run = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '-f', cfg],
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert 'no_such_page.md' in run.stderr
