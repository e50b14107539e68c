"""Getting entries from feeds: fetch bytes (``fetch.py``), parse them (``parse.py``),
and turn untrusted fields into clean values (``text.py``, ``urls.py``, ``dates.py``).
``items.py`` reads items for the offline tools (`rules test`, `stories test`)."""
