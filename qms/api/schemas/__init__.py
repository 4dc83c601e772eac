"""marshmallow schemas of the REST API: one module per feature noun, shared fields in ``common``."""
