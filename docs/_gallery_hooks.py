"""Hooks of the documentation build (imported by name from conf.py)."""

import re


def reset_torch_threads(gallery_conf, fname):
    """Run every gallery example with torch on one thread, as the tests do.

    On a busy 2-core machine two torch threads were 2-3x slower than one for
    the small models of the gallery.
    """
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


# "of shape (n_features_in_,)": a bare name ending in "_" is a reST reference
# to an undefined target; render it literally instead.
_BARE_ATTRIBUTE = re.compile(r"(?<![`\w])([a-z][a-z0-9_]*_)(?=[,)\s])")


def escape_shape_attributes(app, what, name, obj, options, lines):
    """Quote fitted-attribute names used in ``of shape (...)`` type descriptions."""
    for index, line in enumerate(lines):
        if "of shape (" in line:
            head, _, shape = line.partition("of shape (")
            lines[index] = head + "of shape (" + _BARE_ATTRIBUTE.sub(r"``\1``", shape)
