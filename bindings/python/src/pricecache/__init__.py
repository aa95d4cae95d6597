"""pricecache - read retail prices from the local pricecache in about a microsecond.

The pricecached daemon loads prices from PostgreSQL into a per-chain
snapshot on this host; this package reads them in-process through
libpricecache (no network hop, no lock)::

    import pricecache

    with pricecache.open() as cache:          # $PRICECACHE_PATH or /var/lib/pricecache
        price = cache.get("acme", "store-17", "sku-123")
        if price is not None:
            print(price.cents, price.is_store_exception)

"No price" is None, never an exception.  Every failure raises a subclass of
pricecache.Error carrying the library's code in ``.code`` (an int, e.g.
pricecache.PC_ENOCHAIN) and its name in ``.code_name``.  Prices are int
cents.

Threads: a Reader may be shared by any number of threads.  Fork: a child
may keep using a Reader opened in the parent (the library reopens the cache
there by itself); a Subscription must be opened anew in the child.
"""
from __future__ import annotations

import enum
import os
from typing import NamedTuple, Optional, Union

from . import _pricecache
from ._pricecache import (  # noqa: F401  (re-exported)
    PC_BASKET_MAX_ITEMS,
    PC_BASKET_MAX_STORES,
    PC_CHAIN_MAX,
    PC_EACCES,
    PC_EFORMAT,
    PC_EINVAL,
    PC_EIO,
    PC_ENOCHAIN,
    PC_ENOITEMS,
    PC_ENOMEM,
    PC_ENOTREADY,
    PC_EOVERFLOW,
    PC_EOVERLOADED,
    PC_EQUANTITY,
    PC_EREFUSED,
    PC_ETIMEDOUT,
    PC_ETOOMANY,
    PC_ID_MAX,
    PC_NOTFOUND,
    PC_OK,
    Reader,
    Subscription,
    lib_version,
    strerror,
)

__version__ = "0.1.0"

DEFAULT_PATH = "/var/lib/pricecache"

__all__ = [
    "open", "Reader", "Subscription", "Price", "ChainInfo", "Breaker", "Basket",
    "BasketLine", "LineSource", "Event", "EventKind", "Error", "NoChain", "NotReady",
    "Overloaded", "InvalidArgument", "ReaderClosed", "Timeout", "FormatError",
    "CacheIOError", "OutOfMemory", "NoItems", "BadQuantity", "TooMany", "Overflow",
    "AccessDenied", "Refused", "NotFound", "default_path", "lib_version", "strerror",
    "DEFAULT_PATH",
]


# ---- results --------------------------------------------------------------

class Price(NamedTuple):
    """One price: int cents, the source row's unix seconds, and whether it is
    the store's exception (True) or the chain's base price (False)."""
    cents: int
    updated_at: int
    is_store_exception: bool


class Breaker(enum.IntEnum):
    """State of a chain's load breaker (ChainInfo.breaker)."""
    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class ChainInfo(NamedTuple):
    """Metadata of a chain's current snapshot."""
    version: int        #: grows with every publish
    loaded_at_ms: int   #: unix milliseconds of the publish
    base_rows: int
    store_rows: int
    avg_cents: int      #: mean base price (basket penalties)
    breaker: Breaker


class LineSource(str, enum.Enum):
    """Where a basket line's price came from."""
    BASE = "base"        #: the chain's base price
    STORE = "store"      #: the store's exception
    PENALTY = "penalty"  #: no price where bought: the per-unit penalty


class BasketLine(NamedTuple):
    """One line of a Basket, in the order asked."""
    item: str
    qty: int
    source: LineSource
    store: Optional[str]   #: where it is bought; None when penalised
    unit_cents: int        #: unit price, or the per-unit penalty
    line_cents: int        #: qty * unit_cents
    updated_at: int        #: unix seconds of the price row; 0 when penalised


class Basket(NamedTuple):
    """A priced basket; every price comes from one version of the chain."""
    version: int
    algorithm: str             #: 'single', 'optimal', 'greedy', 'greedy_timeout_fallback'
    total_cents: int           #: penalties included
    penalty_total_cents: int   #: the part of the total that is penalties
    penalty_cents: int         #: per-unit penalty of this basket
    penalty_fallback: bool     #: penalty is fallback_cents (the chain has no mean)
    avg_cents: int             #: the chain's mean base price at version
    nfound: int
    nmissing: int
    coverage: float            #: nfound / len(lines)
    lines: list[BasketLine]
    stores: list[str]          #: single: the store asked ('' = base); multi: stores to visit


class EventKind(str, enum.Enum):
    """Kinds of daemon events (pc_event_kind_name)."""
    PUBLISH = "publish"      #: a chain has a new version
    BREAKER = "breaker"      #: a breaker changed state (value)
    FAILED = "failed"        #: a load failed (value: result)
    REFUSED = "refused"      #: a load was refused by a guard
    REMOVED = "removed"      #: a chain left the cache
    HEARTBEAT = "heartbeat"  #: seq = last seq sent, version = last
    RESYNC = "resync"        #: events were missed: re-read chain_info()
    DATABASE = "database"    #: the database went down (value 2) or came back (value 1)
    UNKNOWN = "unknown"      #: a kind newer than this package

    @classmethod
    def _missing_(cls, value: object) -> "EventKind":
        # A library newer than this package may name a kind it does not
        # know: the event still comes, as UNKNOWN, instead of an error.
        return cls.UNKNOWN


class Event(NamedTuple):
    """One daemon event.  Events are hints; the cache is the truth."""
    kind: EventKind
    chain: str       #: '' for events of no chain
    seq: int
    run: int         #: the daemon run (its start, unix ms)
    ts_ms: int       #: when the daemon sent it, unix ms
    version: int     #: PUBLISH, HEARTBEAT: the chain's version; else 0
    value: int       #: kind-specific: breaker state, load result, rows
    text: str


# ---- errors ---------------------------------------------------------------

class Error(Exception):
    """Base of every pricecache error.  ``code`` is the library's PC_* code
    (negative int), ``code_name`` its name, e.g. 'PC_ENOCHAIN'."""

    def __init__(self, message: str, code: int = PC_EIO) -> None:
        super().__init__(message)
        self.code = code

    @property
    def code_name(self) -> str:
        return _CODE_NAMES.get(self.code, "PC_UNKNOWN")


class NoChain(Error, LookupError):
    """The chain is not in the cache (never loaded, deleted or deactivated)."""


class NotFound(Error, LookupError):
    """Something other than a price was not found (e.g. no events address)."""


class NotReady(Error):
    """The cache does not exist yet, or the daemon has not finished its first load."""


class Overloaded(Error):
    """No reader slot free: retry later, or raise [cache] max_readers."""


class InvalidArgument(Error, ValueError):
    """An argument is invalid (empty, too long, NUL byte, not a chain slug...)."""

    def __init__(self, message: str, code: int = PC_EINVAL) -> None:
        super().__init__(message, code)


class ReaderClosed(InvalidArgument):
    """The reader (or subscription) was closed."""


class Timeout(Error, TimeoutError):
    """The wait ended before the condition held."""


class FormatError(Error):
    """The cache has a format this library does not know: upgrade it."""


class CacheIOError(Error):
    """The cache could not be read (path, permissions: group pricecache)."""


class OutOfMemory(Error, MemoryError):
    """Memory could not be allocated."""


class NoItems(Error, ValueError):
    """A basket with no items."""


class BadQuantity(Error, ValueError):
    """A basket line with a quantity of zero or less."""


class TooMany(Error, ValueError):
    """A basket with more items or candidate stores than the library allows."""


class Overflow(Error, OverflowError):
    """An amount does not fit in int64 cents."""


class AccessDenied(Error, PermissionError):
    """Permission denied (not in the service group)."""


class Refused(Error):
    """Refused by the daemon or a load guard."""


_CLASSES = {
    PC_NOTFOUND: NotFound, PC_ENOCHAIN: NoChain, PC_ENOTREADY: NotReady,
    PC_EOVERLOADED: Overloaded, PC_EINVAL: InvalidArgument, PC_EIO: CacheIOError,
    PC_ETIMEDOUT: Timeout, PC_EFORMAT: FormatError, PC_ENOMEM: OutOfMemory,
    PC_ENOITEMS: NoItems, PC_EQUANTITY: BadQuantity, PC_ETOOMANY: TooMany,
    PC_EOVERFLOW: Overflow, PC_EACCES: AccessDenied, PC_EREFUSED: Refused,
}
_CODE_NAMES = {v: k for k, v in vars(_pricecache).items()
               if k.startswith("PC_E") or k in ("PC_OK", "PC_NOTFOUND")}


_pricecache._setup(Price, ChainInfo, Breaker, BasketLine, Basket, LineSource, Event,
                   EventKind, _CLASSES, Error, ReaderClosed)


def _error_reduce(self):
    # Picklable with its code (multiprocessing sends exceptions back).
    return (type(self), (str(self), self.code))


Error.__reduce__ = _error_reduce  # type: ignore[method-assign]


# ---- entry point ----------------------------------------------------------

def default_path() -> str:
    """The cache directory used when none is given: $PRICECACHE_PATH, else
    /var/lib/pricecache (the C library requires an explicit path, so the
    package resolves the default the way the daemon and the CLI do)."""
    return os.environ.get("PRICECACHE_PATH") or DEFAULT_PATH


def open(path: Union[str, os.PathLike[str], None] = None) -> Reader:  # noqa: A001
    """Open the cache in directory `path` (default: default_path()) read-only.

    Returns a Reader, a context manager.  Raises NotReady when the daemon has
    not created the cache yet, FormatError for a cache this library cannot
    read, CacheIOError when the files cannot be opened.
    """
    return Reader(default_path() if path is None else path)
