"""``.. command-help:: tour``: the ``--help`` text of a ``skunsup`` command, at build time.

The command-line page shows what ``python -m skunsup <command> --help`` prints
with the installed code, so it cannot fall behind the parser.
"""

import contextlib
import io
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def command_help(*argv):
    """What ``skunsup *argv --help`` prints (80 columns)."""
    from skunsup._cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            build_parser().parse_args([*argv, "--help"])
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return out.getvalue().replace("usage: skunsup", "usage: python -m skunsup", 1)


class CommandHelp(SphinxDirective):
    optional_arguments = 1

    def run(self):
        text = command_help(*self.arguments)
        block = nodes.literal_block(text, text, language="text")
        return [block]


def setup(app):
    app.add_directive("command-help", CommandHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
