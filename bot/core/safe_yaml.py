"""YAML for staff-edited files, with bounds: `yaml.safe_load` alone is not enough.

Safe loading stops code execution, not exhaustion. Two small files break an unbounded loader:
nine lines of aliases ("billion laughs") expand to a billion items, which every later walk of
the data (schema validation, duplicate-key check) visits; and a few hundred nested brackets
overflow Python's stack in the recursive composer. A FAQ file needs neither, so this loader
refuses both early, with the line to fix, as an ordinary YAML error.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError

# A FAQ file nests about six levels (entries > entry > questions > language > variant).
MAX_DEPTH = 32
# Items that aliases (*name) may add beyond what is written. Sharing a few answers this way
# stays far below it; an alias bomb passes it within its first few levels.
MAX_ALIAS_EXPANSION = 10_000


class YamlLimitError(ComposerError):
    """The file exceeds a bound (depth, alias expansion); its mark is where."""


class _BoundedComposer(yaml.SafeLoader):
    """The safe loader, composing with a depth bound and an alias-expansion budget."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        # Expanded size of each finished node, by identity (aliases share the node object).
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self._next_mark()
            node = super().compose_node(parent, index)
            if node is None:
                return None
            self._expanded += self._expanded_size(node, mark)
            if self._expanded > MAX_ALIAS_EXPANSION:
                raise YamlLimitError(
                    None,
                    None,
                    f"the aliases (*name) expand to more than {MAX_ALIAS_EXPANSION:,} items; "
                    "a FAQ file does not need that many: write the items out instead",
                    mark,
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(
                None,
                None,
                f"the file nests more than {MAX_DEPTH} levels deep (a FAQ file needs about 6); "
                "check the brackets and indentation",
                self._next_mark(),
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.Mark:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return mark

    def _expanded_size(self, node: yaml.Node, mark: yaml.Mark) -> int:
        """How many items `node` stands for once its aliases are expanded (iterative: the
        expansion may be deeper than the text)."""
        stack: list[tuple[yaml.Node, bool]] = [(node, False)]
        while stack:
            current, children_done = stack.pop()
            if id(current) in self._sizes:
                continue
            children = _children(current)
            if current.end_mark is None:  # still being composed: the alias is inside it
                raise YamlLimitError(
                    None,
                    None,
                    "an alias (*name) refers to the item that contains it, which never ends",
                    mark,
                )
            if children_done:
                size = 1 + sum(self._sizes[id(child)] for child in children)
                self._sizes[id(current)] = min(size, MAX_ALIAS_EXPANSION + 1)
                continue
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in self._sizes)
        return self._sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def compose(text: str) -> yaml.Node | None:
    """The document's node tree only, with the same bounds (nothing is constructed, so a
    date that does not exist is still its text)."""
    loader = _BoundedComposer(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, as `yaml.safe_load` would
    give it. Raises yaml.YAMLError, with a mark: YamlLimitError for an exceeded bound."""
    loader = _BoundedComposer(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def error_line(text: str, error: yaml.YAMLError) -> tuple[int, str | None]:
    """The 1-based line to show for a YAML error (0: unknown), and a hint when the cause is
    an unclosed quote.

    PyYAML reports where it noticed the problem. For a quote left open that is often lines
    later: the quoted text runs on to the next quote in the file (the opening quote of a later
    line), and the error lands there. The line to fix is where the runaway quote opened.
    """
    problem_mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    if getattr(error, "context", None) == "while scanning a quoted scalar" and context_mark:
        return context_mark.line + 1, _UNCLOSED_QUOTE_HINT
    mark = problem_mark or context_mark
    if mark is None:
        return 0, None
    opened = _runaway_quote_line(text, mark.line)
    if opened is not None:
        return opened + 1, _UNCLOSED_QUOTE_HINT
    return mark.line + 1, None


_UNCLOSED_QUOTE_HINT = "A quote opened on this line is not closed on it"


def _runaway_quote_line(text: str, problem_line: int) -> int | None:
    """The 0-based line where a quoted text that ends on `problem_line` began, if it began
    on an earlier line (a quote that ran on); None otherwise."""
    runaway: int | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            start, end = token.start_mark, token.end_mark
            if start.line > problem_line:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and start.line < end.line == problem_line
            ):
                runaway = start.line
    except yaml.YAMLError:
        pass  # the tokens up to the error are all that is needed
    return runaway
