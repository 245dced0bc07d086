"""Python 2 ``.aurora`` files: recognise them and translate them to Python 3 in memory.

Aurora was Python 2 only, so many configurations in the wild use ``print "..."``,
``except E, e``, ``0755``, backticks, ``d.iteritems()``, ``basestring``, ``xrange``... Such a
file must load unchanged. It is recognised in two ways: it is not valid Python 3, or it is
valid Python 3 but refers to a name or method only Python 2 had (``unicode``, ``.has_key``)
without defining it. Either way fissix (the maintained lib2to3) translates it.

Only fixers that keep every statement on its line are used, so an error in the translation
names the line of the original file. Python 2's ``execfile(path)`` becomes ``include(path)``:
a configuration's ``execfile`` meant "the file next to me", which is what ``include`` does.
"""

from __future__ import annotations

import ast
import threading
from functools import cache
from types import CodeType
from typing import Any

from .errors import ConfigSyntaxError

# fissix's fixers that keep line numbers. Left out: those that add import lines (reduce,
# intern, operator, exitfunc...), remove lines (metaclass) or rewrite imports the configuration
# did not ask about (import, urllib); and the purely stylistic ones (idioms, ws_comma...).
FIXERS: tuple[str, ...] = tuple(f"fissix.fixes.fix_{name}" for name in (
    "apply", "asserts", "basestring", "dict", "except", "exec", "filter", "funcattrs",
    "getcwdu", "has_key", "imports", "input", "isinstance", "itertools", "long", "map",
    "methodattrs", "ne", "next", "nonzero", "numliterals", "paren", "print", "raise",
    "raw_input", "renames", "repr", "standarderror", "sys_exc", "throw", "types", "unicode",
    "xrange", "xreadlines", "zip",
))

# Names and methods that exist only in Python 2: a file that compiles as Python 3 but uses
# one of them (and does not define it) is a Python 2 file.
PYTHON2_NAMES = frozenset({
    "apply", "basestring", "execfile", "long", "raw_input", "StandardError", "unichr",
    "unicode", "xrange",
})
PYTHON2_METHODS = frozenset({
    "has_key", "iteritems", "iterkeys", "itervalues", "viewitems", "viewkeys", "viewvalues",
    "xreadlines", "getcwdu",
})


def note(name: str) -> str:
    """The line shown when ``name`` was translated."""
    return (f"note: {name} is Python 2; translated in memory "
            f"(aurora config upgrade {name} --output {name} writes it out)")


def python3_source(source: str, name: str) -> str | None:
    """``source`` translated to Python 3, or None when there is nothing to translate: it is
    Python 3 already, or it is no Python at all (then compiling it gives the error to show)."""
    try:
        tree = ast.parse(source, name)
    except SyntaxError:
        return _translate(source, name)
    if not _uses_python2_names(tree):
        return None
    translated = _translate(source, name)
    return None if translated == source else translated


def upgrade(source: str, name: str) -> str | None:
    """What ``aurora config upgrade`` writes: the translation, or None when ``source`` is
    Python 3 already; a file that is neither is a :class:`ConfigSyntaxError` naming file:line."""
    translated = python3_source(source, name)
    if translated is None:
        compile_config(source, name)
    return translated


def compile_config(source: str, name: str) -> CodeType:
    """``source`` compiled as Python 3, or a :class:`ConfigSyntaxError` naming file:line:col."""
    try:
        return compile(source, name, "exec")
    except SyntaxError as e:
        where = f"{e.filename or name}:{e.lineno}:{e.offset or 0}"
        raise ConfigSyntaxError(f"{where}: syntax error: {e.msg}") from e


def _uses_python2_names(tree: ast.AST) -> bool:
    loaded: set[str] = set()
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.alias):
            defined.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Attribute) and node.attr in PYTHON2_METHODS:
            return True
    return bool((loaded - defined) & PYTHON2_NAMES)


def _translate(source: str, name: str) -> str | None:
    from fissix.pgen2.parse import ParseError
    from fissix.pgen2.tokenize import TokenError

    # lib2to3's tokenizer needs a final newline; give one and take it back.
    missing_newline = not source.endswith("\n")
    text = source + "\n" if missing_newline else source
    with _LOCK:
        for print_function in (False, True):
            try:
                translated = str(_tool(print_function=print_function).refactor_string(text, name))
            except (ParseError, TokenError, IndentationError, SyntaxError):
                continue
            return translated[:-1] if missing_newline else translated
    return None


# A RefactoringTool keeps parser state between calls: one translation at a time.
_LOCK = threading.Lock()


@cache
def _tool(*, print_function: bool) -> Any:
    """The translator. fissix is imported only when a Python 2 file shows up, and building a
    tool compiles every fixer's pattern, so it is built once. The second tool reads
    ``print(x, file=f)`` as a call, for files that mix it with other Python 2 syntax."""
    from fissix import fixer_base, pygram
    from fissix.fixer_util import Name
    from fissix.refactor import RefactoringTool

    class FixExecfileAsInclude(fixer_base.BaseFix):  # type: ignore[misc]  # fissix is untyped
        """``execfile('common.aurora')`` -> ``include('common.aurora')``; a call with globals
        or locals is left alone (it then fails as an undefined name, on its own line)."""

        BM_compatible = True
        PATTERN = "power< name='execfile' trailer< '(' filename=any ')' > >"

        def transform(self, node: Any, results: dict[str, Any]) -> None:
            if results["filename"].type == pygram.python_symbols.arglist:
                return
            old = results["name"]
            old.replace(Name("include", prefix=old.prefix))

    class Translator(RefactoringTool):  # type: ignore[misc]  # fissix is untyped
        def get_fixers(self) -> tuple[list[Any], list[Any]]:
            pre_order, post_order = super().get_fixers()
            return pre_order, [*post_order, FixExecfileAsInclude(self.options, self.fixer_log)]

    return Translator(list(FIXERS), {"print_function": print_function})


__all__ = ["FIXERS", "note", "python3_source", "upgrade"]
