"""Publish the open-data catalogue of digital.interkommunal Kalletal.Lemgo to CKAN.

The Python API mirrors the ``publish`` command::

    import publish
    catalogue = publish.load_catalogue(".")
    report = publish.validate(catalogue)
    report.valid, report.problems
"""

from .catalogue import Catalogue, Dataset, ResourceSpec, load_catalogue
from .errors import ConfigurationError, PublishError
from .report import Problem, Report
from .validation import validate

__all__ = [
    "Catalogue",
    "ConfigurationError",
    "Dataset",
    "Problem",
    "PublishError",
    "Report",
    "ResourceSpec",
    "load_catalogue",
    "validate",
]
