"""marshmallow schemas: the one description of every shape the service takes or gives."""
