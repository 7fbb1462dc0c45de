"""The runtime's catalog read from the Item table: names become codes, category paths a tree."""

import numpy as np
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from experiments.models import Item
from experiments.models.catalog import CATEGORY_SEPARATOR
from reco_runtime.catalog import Catalog

DESCRIPTION_CHARS = 300


def _codes(names: list[str]) -> np.ndarray:
    """Each name's code: its index among the distinct names in sorted order."""
    distinct = {name: code for code, name in enumerate(sorted(set(names)))}
    return np.fromiter((distinct[name] for name in names), dtype=np.int32, count=len(names))


def category_tree(paths: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code per item, parent per code, name per code) of category paths such as
    ``'Women > Shoes > Sneakers'``. The paths items hold get the first codes (sorted), the
    levels above them the next ones; a code's name is its whole path, its parent the path
    one level up (-1 at the top)."""
    held = sorted(set(paths))
    codes = {path: code for code, path in enumerate(held)}
    above = set()
    for path in held:
        levels = path.split(CATEGORY_SEPARATOR)
        above.update(CATEGORY_SEPARATOR.join(levels[:depth]) for depth in range(1, len(levels)))
    for path in sorted(above - codes.keys()):
        codes[path] = len(codes)
    parent = np.full(len(codes), -1, dtype=np.int32)
    for path, code in codes.items():
        head, sep, _ = path.rpartition(CATEGORY_SEPARATOR)
        if sep:
            parent[code] = codes[head]
    names = np.array(sorted(codes, key=codes.__getitem__), dtype=str)
    item_codes = np.fromiter((codes[p] for p in paths), dtype=np.int32, count=len(paths))
    return item_codes, parent, names


def catalog_snapshot() -> Catalog:
    """The runtime catalog built from the Item table, in a stable order (by item_id).

    Category paths and brand names become codes here; the runtime never sees names. Unavailable
    items are in it too: they have a history to learn from, and serving filters them. An item's
    text (``titles``, what the content model reads) is its title and the start of its description.
    """
    rows = list(
        Item.objects.order_by("item_id")
        .annotate(text=Concat("title", Value(" "), Substr("description", 1, DESCRIPTION_CHARS)))
        .values_list("item_id", "text", "category", "brand", "price", "created_at")
        .iterator(chunk_size=20_000)
    )
    if not rows:
        raise ValueError("The catalog is empty; import a catalog first (python manage.py import_catalog).")
    ids, titles, category, brand, price, created = zip(*rows, strict=True)
    category_codes, parent, names = category_tree(list(category))
    return Catalog(
        item_ids=np.array(ids, dtype=object),
        category=category_codes,
        brand=_codes(list(brand)),
        price=np.array([float(p) for p in price], dtype=np.float32),
        created_at=np.array([c.timestamp() for c in created], dtype=np.float64),
        titles=np.array([text.strip() for text in titles], dtype=object),
        category_parent=parent,
        category_names=names,
    )
