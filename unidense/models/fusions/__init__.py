from .grouped_converters import GroupedConverters  # noqa: F401
