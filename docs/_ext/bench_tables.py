"""Benchmark figures in the docs, read from ``benchmarks/RESULTS.md`` at build time.

``benchmarks/_harness.py`` writes ``RESULTS.md``: one section per benchmark
(``## name``), its command, date and machine, a markdown table and notes. The
documentation never copies a figure from it by hand; it quotes through

``.. benchmark-table:: name``
    the table of one section (options ``:columns:``, a comma-separated list of
    column headers to keep, a header with a comma in double quotes, and
    ``:rows:``, substrings that a kept row must contain, separated by ``&``),
    captioned with the section's command and date;
``.. benchmark-results::``
    every section, with its notes (the Benchmarks page);
``:bench:`name | row | column```
    one value: ``row`` is one or more substrings separated by ``&`` that
    together pick exactly one row; ``:bench:`name | date``` is the date of the
    run. The value links to the section on the Benchmarks page.

A section, row or column that does not exist (after a benchmark is renamed or
rerun with other rows) fails the build, so the figures cannot drift from the
record. :func:`parse_results` and :func:`lookup` are also used by the tests.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_MD = Path(__file__).resolve().parents[2] / "benchmarks" / "RESULTS.md"


class BenchmarkLookupError(LookupError):
    """A quoted section, row or column is not in RESULTS.md."""


@dataclass
class Section:
    """One benchmark's latest run as RESULTS.md shows it."""

    name: str
    command: str = ""
    date: str = ""
    machine: str = ""
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    notes: str = ""

    @property
    def cores(self):
        match = re.match(r"(\d+) cores", self.machine)
        return int(match.group(1)) if match else None

    def find_rows(self, terms):
        """Rows in which every term is a substring of some cell."""
        return [row for row in self.rows
                if all(any(term in cell for cell in row) for term in terms)]

    def column_index(self, column):
        if column not in self.columns:
            raise BenchmarkLookupError(
                f"benchmark {self.name!r} has no column {column!r}; columns: {self.columns}")
        return self.columns.index(column)


def _cells(line, n_columns=None):
    """Cells of a markdown table line written by the harness (``| a | b |``).

    The harness joins cells with ``" | "`` and does not escape ``|`` inside a
    cell (``k-means||``), so split on the separator with its spaces.
    """
    body = line.strip()
    if not (body.startswith("|") and body.endswith("|")):
        raise ValueError(f"not a table line: {line!r}")
    body = body[1:-1]
    cells = [cell.strip() for cell in (" " + body + " ").split(" | ")]
    if n_columns is not None and len(cells) != n_columns:
        raise ValueError(f"{len(cells)} cells, expected {n_columns}: {line!r}")
    return cells


def parse_results(path=RESULTS_MD):
    """The sections of RESULTS.md as ``{name: Section}`` in file order."""
    sections = {}
    current = None
    notes = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            if current is not None:
                current.notes = "\n".join(notes).strip()
            current = Section(name=line[3:].strip())
            sections[current.name] = current
            notes = []
        elif current is None:
            continue
        elif line.startswith("Command: "):
            current.command = line[len("Command: "):].strip().strip("`")
        elif line.startswith("Date: "):
            current.date = line[len("Date: "):].strip()
        elif line.startswith("Machine: "):
            current.machine = line[len("Machine: "):].strip()
        elif line.startswith("|"):
            if not current.columns:
                current.columns = _cells(line)
            elif set(line.replace("|", "").strip()) <= {"-"}:
                continue  # the header rule
            else:
                current.rows.append(_cells(line, len(current.columns)))
        else:
            notes.append(line)
    if current is not None:
        current.notes = "\n".join(notes).strip()
    return sections


def lookup(sections, reference):
    """The text of ``name | row terms | column`` (or ``name | date``)."""
    parts = [part.strip() for part in reference.split(" | ")]
    name = parts[0]
    if name not in sections:
        raise BenchmarkLookupError(f"no benchmark {name!r} in RESULTS.md; "
                                   f"sections: {list(sections)}")
    section = sections[name]
    if parts[1:] == ["date"]:
        return section.date
    if len(parts) != 3:
        raise BenchmarkLookupError(
            f"expected 'name | row | column' or 'name | date', got {reference!r}")
    terms = [term.strip() for term in parts[1].split("&")]
    rows = section.find_rows(terms)
    if len(rows) != 1:
        raise BenchmarkLookupError(
            f"{reference!r} matches {len(rows)} rows of benchmark {name!r} (need 1): "
            + "; ".join(" | ".join(row[:3]) for row in (rows or section.rows)))
    value = rows[0][section.column_index(parts[2])]
    if not value:
        raise BenchmarkLookupError(f"{reference!r} is an empty cell")
    return value


def section_id(name):
    return "benchmark-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --------------------------------------------------------------------------- Sphinx
def _sphinx_parts():
    from docutils import nodes
    from docutils.parsers.rst import directives
    from docutils.statemachine import StringList
    from sphinx import addnodes
    from sphinx.util.docutils import SphinxDirective, SphinxRole

    def results(env):
        cache = getattr(env, "_skunsup_results", None)
        if cache is None:
            env.note_dependency(str(RESULTS_MD))
            cache = env._skunsup_results = parse_results(RESULTS_MD)
        return cache

    def xref_to_section(name, *children):
        node = addnodes.pending_xref("", refdomain="std", reftype="ref",
                                     reftarget=section_id(name), refexplicit=True,
                                     refwarn=True)
        node.extend(children)
        return node

    def table_node(section, columns, rows):
        index = [section.column_index(column) for column in columns]
        table = nodes.table(classes=["benchmark-table"])
        group = nodes.tgroup(cols=len(index))
        table += group
        for _ in index:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        header = nodes.row()
        for column in columns:
            header += nodes.entry("", nodes.paragraph(text=column))
        head += header
        body = nodes.tbody()
        group += body
        for row in rows:
            line = nodes.row()
            for i in index:
                line += nodes.entry("", nodes.paragraph(text=row[i]))
            body += line
        return table

    def caption(section):
        paragraph = nodes.paragraph(classes=["benchmark-caption"])
        paragraph += nodes.Text("From ")
        paragraph += xref_to_section(section.name, nodes.inline(
            text=f"benchmarks/RESULTS.md, {section.name}"))
        paragraph += nodes.Text(f": run of {section.date} on {section.cores} cores, ")
        paragraph += nodes.literal(text=section.command)
        paragraph += nodes.Text(".")
        return paragraph

    def markdown_notes(text):
        # RESULTS.md notes are markdown; `code` is the only markup that differs
        return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)

    class BenchmarkTable(SphinxDirective):
        required_arguments = 1
        option_spec = {"columns": directives.unchanged, "rows": directives.unchanged}

        def run(self):
            sections = results(self.env)
            name = self.arguments[0]
            if name not in sections:
                raise self.error(f"no benchmark {name!r} in {RESULTS_MD}; "
                                 f"sections: {list(sections)}")
            section = sections[name]
            columns = section.columns
            if "columns" in self.options:
                # comma-separated; a header with a comma is written in double quotes
                columns = next(csv.reader([self.options["columns"]], skipinitialspace=True))
                columns = [column.strip() for column in columns]
            rows = section.rows
            if "rows" in self.options:
                terms = [t.strip() for t in self.options["rows"].split("&")]
                rows = section.find_rows(terms)
                if not rows:
                    raise self.error(f"no row of benchmark {name!r} contains {terms}")
            try:
                table = table_node(section, columns, rows)
            except BenchmarkLookupError as error:
                raise self.error(str(error)) from None
            return [table, caption(section)]

    class BenchmarkResults(SphinxDirective):
        """Every section of RESULTS.md, each a subsection with its label."""

        def run(self):
            domain = self.env.get_domain("std")
            out = []
            for section in results(self.env).values():
                node_id = section_id(section.name)
                sec = nodes.section(ids=[node_id])
                sec += nodes.title(text=section.name)
                meta = nodes.paragraph()
                meta += nodes.Text(f"Run of {section.date}. Command: ")
                meta += nodes.literal(text=section.command)
                meta += nodes.Text(f". Machine: {section.machine}.")
                sec += meta
                sec += table_node(section, section.columns, section.rows)
                if section.notes:
                    container = nodes.container(classes=["benchmark-notes"])
                    lines = StringList(markdown_notes(section.notes).splitlines(),
                                       source=str(RESULTS_MD))
                    self.state.nested_parse(lines, 0, container)
                    sec += container
                domain.note_hyperlink_target(node_id, self.env.docname, node_id,
                                             f"benchmark {section.name}")
                out.append(sec)
            return out

    class BenchRole(SphinxRole):
        def run(self):
            sections = results(self.env)
            try:
                value = lookup(sections, self.text)
            except BenchmarkLookupError as error:
                message = self.inliner.reporter.error(str(error), line=self.lineno)
                problem = self.inliner.problematic(self.rawtext, self.rawtext, message)
                return [problem], [message]
            name = self.text.split(" | ", 1)[0].strip()
            return [xref_to_section(name, nodes.inline(text=value,
                                                       classes=["benchmark-value"]))], []

    return BenchmarkTable, BenchmarkResults, BenchRole


def setup(app):
    table, results_directive, role = _sphinx_parts()
    app.add_directive("benchmark-table", table)
    app.add_directive("benchmark-results", results_directive)
    app.add_role("bench", role())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
