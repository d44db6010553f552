"""The demo batch builder: a tool, not part of the product's API.

:mod:`reunite_demo.batch` builds the committed demo batch (``data/demo/``) from real Han Chinese
genotypes of the 1000 Genomes Project (``scripts/make_demo.py``); :mod:`reunite_demo.evaluation`
scores a match run against the demo's truth file, which the pipeline never reads
(``scripts/demo``). It uses ``kinship`` like any other client would.
"""
