"""Thin Prefect 3 flows over the ``kinship`` library: one flow per user action.

Each task wraps exactly one ``kinship`` call; no arithmetic or table reshaping happens here.
Compute tasks are never cached on Prefect's default policy (it keys on the wrapper's source,
not the library's): they use ``NO_CACHE``. Only I/O tasks retry.
"""
