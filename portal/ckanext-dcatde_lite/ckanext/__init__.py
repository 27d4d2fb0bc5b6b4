# a namespace package shared with ckanext-dcat and CKAN's other extensions
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
