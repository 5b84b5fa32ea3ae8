"""Running unidense's tools/ scripts from the analysis scripts and the demo:
logged to a file, failing loudly with the log's tail."""
import os
import os.path as osp
import socket
import subprocess

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tool_env(**overrides) -> dict:
    """This environment with the repository importable and one OpenMP
    thread unless set (the scripts often run side by side)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + (os.pathsep + env['PYTHONPATH']
                                if env.get('PYTHONPATH') else '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(overrides)
    return env


def run_logged(cmd, log, env=None, timeout=None) -> None:
    """Run ``cmd`` in the repository root, stdout and stderr to ``log``.

    Raises:
        RuntimeError: non-zero exit, naming the command, exit code, log and
            the log's last 3000 characters.
    """
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env or tool_env(),
                              stdout=f, stderr=subprocess.STDOUT,
                              timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed (rc={proc.returncode}); '
                           f'log: {log}\n' + open(log).read()[-3000:])


def free_port() -> int:
    """A TCP port free on this machine now (for a torchrun master)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
