"""WSGI entry point for serving the local CKAN portal with gunicorn.

The CKAN wheel ships no WSGI module. This one reads the ini named by the
CKAN_INI environment variable (portal.sh sets it) and builds the app.
Run with CKAN's own venv:  gunicorn --pythonpath portal ckan_wsgi:application
"""

import os
from logging.config import fileConfig

from ckan.cli import CKANConfigLoader
from ckan.config.middleware import make_app

_ini = os.path.abspath(os.environ["CKAN_INI"])
fileConfig(_ini, disable_existing_loggers=False)
application = make_app(CKANConfigLoader(_ini).get_config())
