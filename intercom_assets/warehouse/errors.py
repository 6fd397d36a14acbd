"""Errors the warehouse raises. Each names the table (and column) involved."""


class WarehouseError(Exception):
    """Base class of warehouse errors."""


class WarehouseInputError(WarehouseError, ValueError):
    """A frame does not fit its table spec. Raised before anything is written."""


class SchemaMismatchError(WarehouseError):
    """A stored column has a type the spec cannot be written into."""


class WarehouseLockedError(WarehouseError):
    """The database file stayed locked by another process for longer than the retry budget."""


class LayoutVersionError(WarehouseError):
    """The schema was written by another layout of the warehouse's tables (see `layout`)."""
