"""Trainers that run under the FTI platform's external-trainer file contract.

Each module is a standalone program: a training worker registers it in the JSON file that
``FTI_EXTERNAL_TRAINERS`` names, and runs it with the path of a ``job.json``::

    .venv/bin/python clients/python/src/fti_client/trainers/xgboost.py {job}
    python -m fti_client.trainers.xgboost {job}

They import only the standard library and their ML packages (never the rest of ``fti_client``),
so a worker needs no client configuration to run them. Importing this package imports nothing.
"""

__all__: list = []
