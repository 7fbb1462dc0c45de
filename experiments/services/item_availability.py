"""Item availability reaching serving: the one call every writer of ``Item.available`` makes."""


def items_availability_changed(item_ids: list[str]) -> None:
    """Tell serving that these items' availability changed (after the write has committed).

    Serving must stop showing an item marked unavailable within seconds, without reloading its
    whole state or its models.
    """
