from .merge import MERGE  # noqa: F401
