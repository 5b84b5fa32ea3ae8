"""Environment report for bug reports: ``python -m unidense.utils.collect_env``."""
import platform
import sys
from collections import OrderedDict


def collect_env() -> 'OrderedDict[str, str]':
    """Versions of Python, unidense and its main dependencies, and devices."""
    env = OrderedDict()
    env['sys.platform'] = sys.platform
    env['Python'] = sys.version.replace('\n', ' ')
    env['machine'] = platform.machine()
    import unidense
    env['unidense'] = unidense.__version__
    for name in ('torch', 'torchvision', 'mmengine', 'diffusers',
                 'transformers', 'timm', 'einops', 'fvcore', 'cv2', 'scipy',
                 'safetensors', 'numpy'):
        try:
            module = __import__(name)
            env[name] = getattr(module, '__version__', 'unknown')
        except Exception as exc:  # report, never fail
            env[name] = f'not importable ({type(exc).__name__})'
    import torch
    env['CUDA available'] = str(torch.cuda.is_available())
    if torch.cuda.is_available():
        env['CUDA'] = str(torch.version.cuda)
        for i in range(torch.cuda.device_count()):
            env[f'GPU {i}'] = torch.cuda.get_device_name(i)
    env['torch threads'] = str(torch.get_num_threads())
    env['gloo available'] = str(torch.distributed.is_gloo_available())
    return env


def main():
    for key, value in collect_env().items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
