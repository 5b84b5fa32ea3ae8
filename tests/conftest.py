"""Test-suite wide settings: offline, no network, small thread count.

* Hugging Face libraries are forced offline (also for subprocesses, which
  inherit ``os.environ``).
* Python sockets may only connect to loopback addresses; any other
  connection raises, so a test cannot download by accident. (Local
  torch.distributed rendezvous on 127.0.0.1 keeps working.)
* torch uses at most 2 threads: the CI box is small and shared.
* The repository root is importable, so ``tests.helpers`` resolves the same
  way in pytest and in configs' ``custom_imports``.
"""
import ipaddress
import os
import os.path as osp
import socket
import sys

import pytest

for _key, _value in dict(
        HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', DIFFUSERS_OFFLINE='1',
        HF_DATASETS_OFFLINE='1', HF_HUB_DISABLE_TELEMETRY='1',
        OMP_NUM_THREADS='2', MKL_NUM_THREADS='2',
        TOKENIZERS_PARALLELISM='false').items():
    os.environ[_key] = _value

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
os.environ['PYTHONPATH'] = REPO_ROOT + (
    os.pathsep + os.environ['PYTHONPATH']
    if os.environ.get('PYTHONPATH') else '')

import torch  # noqa: E402

torch.set_num_threads(2)


class NetworkBlockedError(RuntimeError):
    """A test tried to reach a non-loopback address."""


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if host in ('localhost', '', None):
        return True
    try:
        return ipaddress.ip_address(host.split('%')[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection


def _guarded_connect(self, address):
    if not _is_local(address):
        raise NetworkBlockedError(
            f'tests must not use the network (connect to {address!r})')
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise NetworkBlockedError(
            f'tests must not use the network (connect to {address!r})')
    return _real_connect_ex(self, address)


def _guarded_create_connection(address, *args, **kwargs):
    if not _is_local(address):
        raise NetworkBlockedError(
            f'tests must not use the network (connect to {address!r})')
    return _real_create_connection(address, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.create_connection = _guarded_create_connection


@pytest.fixture(scope='session')
def repo_root():
    """Absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def realdata_root():
    """``../shared/data/realdata`` relative to the repo (skip if absent)."""
    path = osp.normpath(osp.join(REPO_ROOT, '..', 'shared', 'data',
                                 'realdata'))
    if not osp.isdir(path):
        pytest.skip(f'real data samples not found at {path}')
    return path
