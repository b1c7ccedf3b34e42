"""Delete from ruamel round-trip data without losing the comments that follow.

ruamel keeps a comment block that stands on its own lines with the entry just above
it: in

    http:
      port: 80

    # Memory: agreed with IT
    limits: ...

"# Memory: agreed with IT" belongs to http.port. Deleting http.port (or http) would
delete the comment with it. `delete` moves such lines before whatever now follows in
the file, or, at the end of the file, after the entry before. The deleted entry's own
end-of-line comment goes with it. Plain dicts and lists are simply deleted from.
"""

# ruamel's per-entry comment slots: the lines before an entry are in slot 1 (mappings
# and sequences); the comment after a value is in slot 2 of a mapping entry, slot 0 of
# a sequence entry.
BEFORE, MAP_AFTER, SEQ_AFTER = 1, 2, 0


def delete(path):
    """Delete the entry at the end of path, a list of (container, key or index) pairs
    from the top of the config down to the entry."""
    container, where = path[-1]
    lines = _following_lines(container, where)
    positions = [_entries(holder).index(key) for holder, key in path]
    del container[where]
    if not lines or not hasattr(container, "ca"):
        return
    # Before whatever follows in the file: at the same level (the entry after the
    # deleted one slid into its place), else after the sections that held it.
    for depth in reversed(range(len(path))):
        holder = path[depth][0]
        following = positions[depth] + (0 if depth == len(path) - 1 else 1)
        if following < len(holder) and _put_before(holder, _entries(holder)[following], lines):
            return
    # The end of the file: after the entry before, if one can hold a comment.
    for depth in reversed(range(len(path))):
        holder = path[depth][0]
        previous = positions[depth] - 1
        if previous >= 0 and _append_after(holder, _entries(holder)[previous], lines):
            return


def _entries(container):
    return list(container) if isinstance(container, dict) else list(range(len(container)))


def _after_slot(container, where):
    """(comments dict, key, slot) for the comment after container[where], at its deepest
    last entry; None when there is no such place (plain data, an empty collection)."""
    value = container[where]
    if isinstance(value, (dict, list)):
        if not value or not hasattr(value, "ca"):
            return None  # ruamel writes a comment after an empty [] or {} before it: broken YAML.
        return _after_slot(value, _entries(value)[-1])
    if not hasattr(container, "ca"):
        return None
    return container.ca.items, where, (MAP_AFTER if isinstance(container, dict) else SEQ_AFTER)


def _following_lines(container, where):
    """The whole comment lines after container[where] (its end-of-line comment excluded)."""
    found = _after_slot(container, where)
    if not found:
        return ""
    items, key, slot = found
    entry = items.get(key)
    token = entry[slot] if entry and len(entry) > slot else None
    text = getattr(token, "value", None)
    if not isinstance(text, str) or "\n" not in text:
        return ""
    rest = text.split("\n", 1)[1]
    return rest if "#" in rest else ""


def _token(text):
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    return CommentToken(text, CommentMark(0))


def _put_before(container, where, lines):
    if not hasattr(container, "ca"):
        return False
    entry = container.ca.items.setdefault(where, [None, None, None, None])
    entry[BEFORE] = [_token(lines)] + list(entry[BEFORE] or [])
    return True


def _append_after(container, where, lines):
    found = _after_slot(container, where)
    if not found:
        return False
    items, key, slot = found
    entry = items.setdefault(key, [None, None, None, None])
    token = entry[slot]
    if token is None:
        entry[slot] = _token("\n" + lines)
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + lines
    return True
