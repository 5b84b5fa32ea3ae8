"""The model zoo index: every config is listed with its results, each
result says where it comes from, and every metafile entry's config builds."""
import os.path as osp

import pytest
from mmengine.config import Config

from tools.analysis_tools.count_params import build_model
from tools.misc import model_zoo_index

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENTRIES = sorted(model_zoo_index.metafile_models())


def test_index_lists_every_config_and_is_up_to_date():
    assert model_zoo_index.main(['--check']) == 0, (
        'model_zoo/README.md is stale: run python tools/misc/'
        'model_zoo_index.py')
    with open(model_zoo_index.README) as f:
        text = f.read()
    for method in model_zoo_index.method_dirs():
        for path in model_zoo_index.config_files(method):
            assert f'(../{path})' in text, path


def test_every_result_names_its_source():
    for models in model_zoo_index.metafile_models().values():
        for model in models:
            for result in model.get('Results', []) or []:
                model_zoo_index.result_source(result)   # raises otherwise
    with pytest.raises(ValueError, match='exactly one'):
        model_zoo_index.result_source(dict(Published=True, Measured=True))


@pytest.mark.parametrize('config', ENTRIES)
def test_metafile_entry_config_builds(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    model = build_model(cfg.model, device='meta')
    assert sum(p.numel() for p in model.parameters()) > 0
