"""Python 2 ``.aurora`` files load unchanged, and ``aurora config upgrade`` writes them out.

The Python 2 file below is dags_examples/hello_world.aurora as an Aurora user of the Python 2
days could have written it; it must load to the very same job as its Python 3 twin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aurora_provider.config import job_to_wire, load
from aurora_provider.config.errors import ConfigExecutionError, ConfigSyntaxError
from tests.config.conftest import EXAMPLES, Run

pytestmark = pytest.mark.unit

KEY = "devcluster/www-data/prod/hello"

PY2_HELLO = """\
# Hello world, Python 2 style.
execfile('resources.aurora')

SITE_MODE = 0755
if SITE_MODE <> 493:
  raise ValueError, "0755 is not an octal literal any more"

def page(role, environment):
  if not isinstance(role, basestring):
    raise TypeError, "role must be a string"
  return unicode('Hello from {{%s}}/{{%s}}') % (role, environment)

stage = Process(
  name='stage',
  cmdline='mkdir -p site && '
          'echo "' + page('role', 'environment') + ', instance {{mesos.instance}}" '
          '> site/index.html',
)

ports = {'http': 'thermos.ports[http]'}
try:
  http = ports['http']
except KeyError, e:
  raise ValueError, "no port named %s" % e

serve = Process(
  name='serve',
  cmdline='cd site && exec python3 -m http.server {{%s}} --bind 127.0.0.1' % http,
)

order = {1: stage, 0: serve}
processes = [order[(i + 1) % 2] for i in xrange(len(order))]
for name, process in order.iteritems():
  assert order.has_key(name)

hello_task = SequentialTask(
  name='hello',
  processes=processes,
  resources=RESOURCES,
)

jobs = [
  Service(
    cluster='devcluster',
    role='www-data',
    environment='prod',
    name='hello',
    task=hello_task,
  ),
]
print "defined", `len(jobs)`, "job"
"""

# What execfile() reads, next to the file that names it: Python 2 as well.
PY2_RESOURCES = """\
RESOURCES = Resources(cpu=0.1, ram=64L*MB, disk=long(64)*MB)
print "resources defined"
"""


def _note(name: Path) -> str:
    return (f"note: {name} is Python 2; translated in memory "
            f"(aurora config upgrade {name} --output {name} writes it out)\n")


@pytest.fixture
def py2_hello(tmp_path: Path) -> Path:
    (tmp_path / "resources.aurora").write_text(PY2_RESOURCES)
    config = tmp_path / "hello.aurora"
    config.write_text(PY2_HELLO)
    return config


def test_a_python2_file_loads_to_the_same_job_as_its_python3_twin(
        py2_hello: Path, capsys: pytest.CaptureFixture[str]) -> None:
    translated = load(py2_hello).pick(KEY)
    twin = load(EXAMPLES / "hello_world.aurora").pick(KEY)
    assert job_to_wire(translated) == job_to_wire(twin)
    captured = capsys.readouterr()
    # Its print statements ran, as they did under Python 2.
    assert captured.out == "resources defined\ndefined 1 job\n"
    # One note per translated file: the file itself, and the one its execfile() read.
    assert captured.err == _note(py2_hello) + _note(py2_hello.parent / "resources.aurora")


def test_a_python3_file_gets_no_note(capsys: pytest.CaptureFixture[str]) -> None:
    load(EXAMPLES / "hello_world.aurora")
    assert capsys.readouterr().err == ""


def test_a_python3_file_that_defines_a_python2_name_is_left_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "py3.aurora"
    config.write_text(
        "unicode = 'task'\n"
        "jobs = [Job(cluster='c', role='r', environment='prod', name=unicode,\n"
        "  task=SimpleTask('t', 'echo hi'))]\n"
    )
    assert [str(k) for k in load(config).job_keys()] == ["c/r/prod/task"]
    assert capsys.readouterr().err == ""


def test_python2_names_in_valid_python3_syntax_are_translated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Compiles as Python 3, but would fail there: xrange, unicode and iteritems are gone.
    config = tmp_path / "names.aurora"
    config.write_text(
        "names = dict((unicode(i), i) for i in xrange(2))\n"
        "jobs = [Job(cluster='c', role='r', environment='prod', name='n' + key,\n"
        "  task=SimpleTask('t', 'echo hi')) for key, _ in sorted(names.iteritems())]\n"
    )
    assert [str(k) for k in load(config).job_keys()] == ["c/r/prod/n0", "c/r/prod/n1"]
    assert capsys.readouterr().err == _note(config)


def test_print_function_calls_mixed_with_python2_syntax(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mixed.aurora"
    config.write_text(
        "import sys\n"
        "print('octal', 0o10 + 010, file=sys.stdout)\n"
        "jobs = []\n"
    )
    assert load(config).jobs == []
    captured = capsys.readouterr()
    assert captured.out == "octal 16\n"
    assert captured.err == _note(config)


def test_an_error_in_a_translated_file_names_the_original_line(
        py2_hello: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = PY2_HELLO.splitlines(keepends=True)
    broken = lines.index("hello_task = SequentialTask(\n")
    lines[broken] = "hello_task = SequentailTask(\n"
    py2_hello.write_text("".join(lines))
    with pytest.raises(ConfigExecutionError) as raised:
        load(py2_hello)
    assert str(raised.value) == (
        f"{py2_hello}:{broken + 1}: name 'SequentailTask' is not defined: "
        "define it, or include() the file that does"
    )
    assert _note(py2_hello) in capsys.readouterr().err


def test_an_error_in_an_included_python2_file_names_that_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "part.aurora").write_text("print 'part'\nPORT = undefined_port\n")
    config = tmp_path / "main.aurora"
    config.write_text("include('part.aurora')\njobs = []\n")
    with pytest.raises(ConfigExecutionError, match=r"part\.aurora:2: name 'undefined_port'"):
        load(config)


def test_include_of_a_python2_file_is_translated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "resources.aurora").write_text(PY2_RESOURCES)
    config = tmp_path / "main.aurora"
    config.write_text(
        "include('resources.aurora')\n"
        "jobs = [Job(cluster='c', role='r', environment='prod', name='n',\n"
        "  task=SimpleTask('t', 'echo hi').bind(resources=RESOURCES))]\n"
    )
    assert len(load(config).jobs) == 1
    assert capsys.readouterr().err == _note(tmp_path / "resources.aurora")


def test_a_file_that_is_no_python_keeps_its_syntax_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "broken.aurora"
    config.write_text("jobs = []\njobs = [Job(\n")
    with pytest.raises(ConfigSyntaxError) as raised:
        load(config)
    assert str(raised.value) == f"{config}:2:12: syntax error: '(' was never closed"
    assert capsys.readouterr().err == ""


def test_upgrade_writes_a_python3_file_that_loads_without_a_note(
        aurora: Callable[..., Run], py2_hello: Path) -> None:
    upgraded = py2_hello.parent / "hello3.aurora"
    result = aurora("config", "upgrade", py2_hello, "--output", upgraded)
    assert result.code == 0, result.err
    assert result.err == f"wrote {upgraded}: {py2_hello} in Python 3\n"
    text = upgraded.read_text()
    assert "except KeyError as e:" in text and "0o755" in text
    assert len(text.splitlines()) == len(PY2_HELLO.splitlines())

    (py2_hello.parent / "resources.aurora").write_text(
        "RESOURCES = Resources(cpu=0.1, ram=64*MB, disk=64*MB)\n")
    listed = aurora("config", "list", upgraded)
    assert (listed.code, listed.out, listed.err) == (0, f"defined 1 job\n{KEY}\n", "")


def test_upgrade_prints_the_translation_without_output(
        aurora: Callable[..., Run], py2_hello: Path) -> None:
    result = aurora("config", "upgrade", py2_hello)
    assert result.code == 0, result.err
    assert result.out.startswith("# Hello world, Python 2 style.\ninclude('resources.aurora')\n")
    assert py2_hello.read_text() == PY2_HELLO


def test_upgrade_of_a_python3_file_has_nothing_to_do(aurora: Callable[..., Run]) -> None:
    hello = EXAMPLES / "hello_world.aurora"
    result = aurora("config", "upgrade", hello)
    assert (result.code, result.out) == (0, "")
    assert result.err == f"{hello} is already Python 3: nothing to upgrade\n"


@pytest.mark.parametrize(("text", "expected"), [
    (None, ": cannot read the configuration: No such file or directory"),
    ("x = (\n", ":1:5: syntax error: '(' was never closed"),
])
def test_upgrade_refuses_in_one_line(aurora: Callable[..., Run], tmp_path: Path,
                                     text: str | None, expected: str) -> None:
    config = tmp_path / "config.aurora"
    if text is not None:
        config.write_text(text)
    result = aurora("config", "upgrade", config)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"aurora: {config}{expected}\n"
