"""Every public name of the package faces hostile input (issue 24).

The rule: a public function or class checks its arguments before any
work, and either gives a right result or refuses with the package's own
``TypeError`` or ``ValueError`` naming the argument; a self-check of
``autodiff_book.check`` returns a verdict for any answer instead.

``SPECS`` describes one call per public name: a good value for each
argument, and which values that argument may take. Hypothesis replaces one
argument at a time by a hostile value (text, bytes, bools, None, complex
numbers, huge and tiny numbers, nan and inf, numpy scalars, lists, tensors
of the wrong shape, dtype or device) and checks the outcome:

- a value the argument may take: a result (checked against an
  independent computation where one is given) or a refusal that names an
  argument;
- any other value: a ``TypeError`` or ``ValueError`` raised by the
  package's own code (not by torch or numpy underneath) whose message
  names the argument.

``test_every_public_name_has_a_hostile_input_spec`` fails when a module
gains a public name that ``SPECS`` does not cover.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_book import (
    check,
    checks,
    data,
    engine,
    functions,
    graph,
    plotting,
    quadratic,
    regression,
    training,
)

MODULES = (
    check, checks, data, engine, functions, graph, plotting, quadratic,
    regression, training,
)
PACKAGE = Path(checks.__file__).resolve().parent

FAST = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Values a student can type that are not the number or tensor asked for.
SPECIAL_NUMBERS = (
    10**400, -(10**400), 2**64, 1e308, -1e308, 5e-324, 1e-310, math.nan,
    math.inf, -math.inf, 0, -1, 0.0, -0.0,
)
NUMPY_SCALARS = (
    np.float32(math.nan), np.float64(1e308), np.int64(-1), np.int64(3),
    np.float16(0.5), np.bool_(True), np.complex128(1j), np.float64(0.25),
)
DTYPES = (
    torch.float32, torch.float64, torch.float16, torch.bfloat16,
    torch.int64, torch.bool, torch.complex64,
)


@st.composite
def tensors(draw):
    """A tensor of a random shape, dtype and device, sparse sometimes."""
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(("dense", "meta", "sparse", "nan")))
    if kind == "meta":
        return torch.zeros(shape, dtype=dtype, device="meta")
    tensor = torch.ones(shape, dtype=dtype)
    if kind == "sparse" and tensor.ndim > 0:
        return tensor.to_sparse()
    if kind == "nan" and tensor.is_floating_point():
        return tensor * math.nan
    return tensor


HOSTILE = st.one_of(
    st.text(max_size=4),
    st.binary(max_size=4),
    st.booleans(),
    st.none(),
    st.complex_numbers(max_magnitude=1e6),
    st.sampled_from(SPECIAL_NUMBERS),
    st.floats(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(NUMPY_SCALARS),
    st.lists(st.floats(-10, 10), max_size=3),
    tensors(),
)


# Which values an argument may take.


def real(value) -> bool:
    """A finite real number (numpy's included), not a bool."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Real
    ):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def positive(value) -> bool:
    return real(value) and float(value) > 0


def count(low: int, high: float = math.inf) -> Callable[[object], bool]:
    def accepts(value) -> bool:
        return (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool | np.bool_)
            and low <= value <= high
        )

    return accepts


def never(value) -> bool:
    return False


def anything(value) -> bool:
    return True


def python_int(low: int, high: float) -> Callable[[object], bool]:
    return lambda v: type(v) is int and low <= v <= high


def real_tensor(value) -> bool:
    """A dense tensor with real numbers: bool and complex are not."""
    return (
        isinstance(value, torch.Tensor)
        and not value.is_meta
        and value.layout == torch.strided
        and value.dtype not in (torch.bool, torch.complex64)
    )


def float_tensor(value) -> bool:
    return real_tensor(value) and value.is_floating_point()


def scalar_input(value) -> bool:
    return real(value) or (real_tensor(value))


def text(value) -> bool:
    return isinstance(value, str)


def path(value) -> bool:
    return isinstance(value, str) and value.strip() != "" and (
        "\0" not in value
    )


def real_array(value) -> bool:
    """What ``checks.check_array`` takes: real numbers in any container."""
    if isinstance(value, torch.Tensor):
        return real_tensor(value)
    if isinstance(value, str | bytes):
        return False
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RuntimeError):
        return False
    if array.dtype.kind == "O":  # exact numbers: big ints, Fractions
        return all(floatable(item) and real(item) for item in array.flat)
    return array.dtype.kind in "iuf"


def samples(value) -> bool:
    """Never: one hostile value never pairs with the other's 8 samples."""
    return False


# The calls.


@dataclass
class Spec:
    """How to call one public name, and what each argument may take."""

    call: Callable
    arguments: dict[str, tuple[Callable[[], object], Callable]]
    oracle: Callable | None = None
    # How the message names an argument, when not by its own name.
    labels: dict[str, str] = field(default_factory=dict)
    # Functions that touch files may also raise the package's own
    # OSError (MissingDataError for a file that is not there).
    files: bool = False


def good_stats():
    return quadratic.SufficientStatistics(2.0, 1.0, 3.5, 1.5, 7.0)


def good_tensor(*shape, dtype=torch.float32):
    return torch.linspace(-1, 2, math.prod(shape), dtype=dtype).reshape(
        shape
    )


def good_x():
    return good_tensor(8, 1)


def good_y():
    return 2.5 * good_tensor(8, 1) - 1 + 0.1 * torch.cos(
        torch.arange(8.0)
    ).reshape(8, 1)


def good_graph():
    x = torch.tensor(2.0, requires_grad=True)
    return graph.walk_graph(x * x + 1, {"x": x})


def good_node():
    return (torch.tensor(2.0, requires_grad=True) * 3).grad_fn


def trained_history():
    history = training.History(
        epoch_train_losses=[3.0, 2.0, 2.5],
        epoch_val_losses=[3.5, 2.5, 2.0],
        snapshots=[torch.zeros(2), torch.ones(2), torch.full((2,), 2.0)],
    )
    return history


def stepped(rule, parameters):
    """``rule.step`` after a backward pass that fills ``parameters.grad``."""
    if float_tensor(parameters):
        parameters = parameters.detach().clone().requires_grad_(True)
        (parameters * parameters).sum().backward()
    rule.step(parameters)
    return parameters


def parameters():
    return torch.tensor([0.5, -0.5], requires_grad=True)


def is_sigmoid(arguments, result):
    x = arguments["x"]
    expected = torch.sigmoid(x.double() if not x.is_floating_point() else x)
    torch.testing.assert_close(
        result.double(), expected.double(), atol=1e-2, rtol=1e-2,
        equal_nan=True,
    )


def is_float_of(argument):
    def oracle(arguments, result):
        assert result == float(arguments[argument])

    return oracle


def is_array_of(arguments, result):
    value = arguments["value"]
    if isinstance(value, torch.Tensor):
        value = value.double().numpy()
    np.testing.assert_array_equal(result, np.asarray(value, np.float64))


def in_temporary_folder(function):
    """Run ``function`` in a fresh folder: it writes files.

    Three levels deep, so that ``..`` (hostile text is at most four
    characters) stays inside the temporary folder; an absolute path is
    made relative, so that nothing is written outside it.
    """

    def call(**arguments):
        arguments = {
            name: "." + value if isinstance(value, str) and value.startswith(
                "/") else value
            for name, value in arguments.items()
        }
        with tempfile.TemporaryDirectory() as folder:
            previous = os.getcwd()
            os.makedirs(os.path.join(folder, "a", "b", "c"))
            os.chdir(os.path.join(folder, "a", "b", "c"))
            try:
                return function(**arguments)
            finally:
                os.chdir(previous)
                plt.close("all")

    return call


def pair(value) -> bool:
    """A finite [slope, bias] pair."""
    if not real_array(value) or np.shape(value) != (2,):
        return False
    return bool(np.all(np.isfinite(checks.check_array("pair", value))))


def with_data_dir(folder):
    """find_data_dir with the environment variable set to ``folder``."""
    if not isinstance(folder, str) or "\0" in folder:
        return data.find_data_dir()
    previous = os.environ.get(data.DATA_DIR_ENV)
    os.environ[data.DATA_DIR_ENV] = folder
    try:
        found = data.find_data_dir()
    finally:
        if previous is None:
            del os.environ[data.DATA_DIR_ENV]
        else:
            os.environ[data.DATA_DIR_ENV] = previous
    # The variable wins when it is set to something.
    assert found == Path(folder) if folder else found.name == "data"
    return found


def todo_text(task):
    try:
        check.todo(task)
    except check.NotDone as not_done:
        return str(not_done)
    raise AssertionError("todo returned")


def short_training(**arguments):
    """train_linear_model with at most 3 epochs: more are refused."""
    limit = training.MAX_EPOCHS
    training.MAX_EPOCHS = 3
    try:
        return training.train_linear_model(**arguments)
    finally:
        training.MAX_EPOCHS = limit


def floatable(value) -> bool:
    """A real number a float can hold: inf and nan too, as in torch."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Real
    ):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def value_program(data, other, exponent):
    """Every operation of the engine, ``other`` always beside a Value."""
    x = engine.Value(data)
    out = ((x + other) * other - other) / (1 + (x * other) * (x * other))
    out = (other - out) ** exponent
    out = (other / out.exp() + other * out).sigmoid()
    out.backward()
    return out


def main_with_argv(argv):
    """data.main; for ``argv=None`` it reads sys.argv: give it a folder."""
    if argv is not None:
        return data.main(argv)
    previous = sys.argv
    sys.argv = ["autodiff_book.data", "out"]
    try:
        return data.main(None)
    finally:
        sys.argv = previous


def closing(function):
    def call(**arguments):
        try:
            return function(**arguments)
        finally:
            plt.close("all")

    return call


def saved_tensor(name):
    """load_tensor on a file holding a good tensor, path relative."""
    def call(path, sha256):
        torch.save(good_x(), "X.pt")
        return data.load_tensor(path, sha256)

    return call


X = ("x", (good_x, never))
Y = ("y", (good_y, never))
STATS = ("stats", (good_stats, never))
RATES = {
    "learning_rate": (lambda: 0.1, positive),
    "momentum": (lambda: 0.5, real),
    "curvature": (lambda: 2.0, positive),
}

SPECS: dict[str, Spec] = {
    # checks: the shared checks check their own arguments too.
    "checks.shown": Spec(
        lambda value: checks.shown(value), {"value": (lambda: 1, anything)},
        oracle=lambda a, r: isinstance(r, str) and len(r) <= 120,
    ),
    "checks.check_tensor": Spec(
        lambda name, value: checks.check_tensor(name, value),
        {"name": (lambda: "value", text), "value": (good_x, real_tensor)},
    ),
    "checks.check_finite": Spec(
        lambda name, values: checks.check_finite(name, values),
        {"name": (lambda: "values", text),
         "values": (good_x, lambda v: real_tensor(v) and bool(
             torch.isfinite(v).all()))},
    ),
    "checks.check_real": Spec(
        lambda name, value: checks.check_real(name, value),
        {"name": (lambda: "value", text), "value": (lambda: 0.5, real)},
        oracle=lambda a, r: r == float(a["value"]),
    ),
    "checks.check_count": Spec(
        lambda name, value, minimum, maximum: checks.check_count(
            name, value, minimum, maximum),
        {"name": (lambda: "value", text), "value": (lambda: 3, count(1, 9)),
         "minimum": (lambda: 1, count(-(2**63), 3)),
         "maximum": (lambda: 9, lambda v: v is None or count(3, 2**63)(v))},
    ),
    "checks.check_seed": Spec(
        lambda name, value: checks.check_seed(name, value),
        {"name": (lambda: "seed", text),
         "value": (lambda: 3, count(*checks.SEED_RANGE))},
        labels={"value": "seed"},
    ),
    "checks.check_bool": Spec(
        lambda name, value: checks.check_bool(name, value),
        {"name": (lambda: "flag", text),
         "value": (lambda: True, lambda v: isinstance(v, bool | np.bool_))},
        labels={"value": "flag"},
    ),
    "checks.check_name": Spec(
        checks.check_name, {"name": (lambda: "x", text)},
    ),
    "checks.check_array": Spec(
        lambda name, value: checks.check_array(name, value),
        {"name": (lambda: "values", text), "value": (lambda: [1.0],
                                                     real_array)},
        oracle=is_array_of,
    ),
    "checks.check_path": Spec(
        lambda name, value: checks.check_path(name, value),
        {"name": (lambda: "path", text), "value": (lambda: "data", path)},
        labels={"value": "path"},
    ),
    # functions
    "functions.sigmoid": Spec(
        functions.sigmoid, {"x": (good_x, real_tensor)}, oracle=is_sigmoid,
    ),
    "functions.sigmoid_derivative": Spec(
        functions.sigmoid_derivative, {"x": (good_x, real_tensor)},
    ),
    "functions.sigmoid_second_derivative": Spec(
        functions.sigmoid_second_derivative, {"x": (good_x, real_tensor)},
    ),
    "functions.bump": Spec(
        functions.bump, {"x": (lambda: 2.0, scalar_input)},
        oracle=lambda a, r: np.testing.assert_allclose(
            torch.as_tensor(r, dtype=torch.float64).numpy(),
            2 / ((5 - torch.as_tensor(a["x"]).double().numpy()) ** 2 + 4),
            rtol=1e-2,
        ),
    ),
    "functions.bump_derivative": Spec(
        functions.bump_derivative, {"x": (lambda: 2.0, scalar_input)},
    ),
    "functions.vector_function": Spec(
        functions.vector_function,
        {"x": (lambda: torch.tensor(1.0), lambda v: real_tensor(v) and
               v.ndim == 0),
         "y": (lambda: torch.tensor(2.0), lambda v: real_tensor(v) and
               v.ndim == 0)},
    ),
    "functions.trace_of_square": Spec(
        lambda A: functions.trace_of_square(A),
        {"A": (lambda: good_tensor(2, 2), lambda v: real_tensor(v) and
               v.ndim == 2 and v.shape[0] == v.shape[1])},
    ),
    # engine
    "engine.Value": Spec(
        lambda data, other, exponent: value_program(data, other, exponent),
        {"data": (lambda: 1.5, floatable),
         "other": (lambda: 0.5, floatable),
         "exponent": (lambda: 2, real)},
        labels={"other": "Value"},
    ),
    # regression
    "regression.least_squares_fit": Spec(
        regression.least_squares_fit, dict([X, Y]),
    ),
    "regression.mse_surface": Spec(
        regression.mse_surface,
        {**dict([X, Y]),
         "slopes": (lambda: [1.0, 2.0], lambda v: real_array(v)
                    and np.ndim(v) == 1 and np.size(v) > 0 and np.all(
                        np.abs(np.asarray(v, np.float64)) < 1e100)),
         "biases": (lambda: [0.0], lambda v: real_array(v)
                    and np.ndim(v) == 1 and np.size(v) > 0 and np.all(
                        np.abs(np.asarray(v, np.float64)) < 1e100))},
    ),
    # quadratic
    "quadratic.SufficientStatistics": Spec(
        lambda mean_xx, mean_x, mean_xy, mean_y, mean_yy:
        quadratic.SufficientStatistics(
            mean_xx, mean_x, mean_xy, mean_y, mean_yy),
        {name: (lambda v=v: v, real) for name, v in (
            ("mean_xx", 2.0), ("mean_x", 1.0), ("mean_xy", 3.5),
            ("mean_y", 1.5), ("mean_yy", 7.0))},
    ),
    "quadratic.sufficient_statistics": Spec(
        quadratic.sufficient_statistics, dict([X, Y]),
    ),
    "quadratic.hessian": Spec(quadratic.hessian, dict([STATS])),
    "quadratic.gradient": Spec(
        quadratic.gradient,
        {**dict([STATS]), "theta": (lambda: [1.0, 0.0], pair)},
    ),
    "quadratic.loss": Spec(
        quadratic.loss,
        {**dict([STATS]), "theta": (lambda: [1.0, 0.0], pair)},
    ),
    "quadratic.minimiser": Spec(quadratic.minimiser, dict([STATS])),
    "quadratic.EigenDecomposition": Spec(
        lambda curvature_small, curvature_large, direction_small,
        direction_large: quadratic.EigenDecomposition(
            curvature_small, curvature_large, direction_small,
            direction_large).condition_number,
        {"curvature_small": (lambda: 1.0, positive),
         "curvature_large": (lambda: 4.0, positive),
         "direction_small": (lambda: (1.0, 0.0), pair),
         "direction_large": (lambda: (0.0, 1.0), pair)},
    ),
    "quadratic.eigen_decomposition": Spec(
        quadratic.eigen_decomposition, dict([STATS]),
    ),
    "quadratic.quadratic_summary": Spec(
        quadratic.quadratic_summary, dict([X, Y]),
    ),
    "quadratic.recurrence_matrix": Spec(quadratic.recurrence_matrix, RATES),
    "quadratic.characteristic_roots": Spec(
        quadratic.characteristic_roots, RATES,
    ),
    "quadratic.convergence_rate": Spec(quadratic.convergence_rate, RATES),
    "quadratic.regime": Spec(
        quadratic.regime,
        {**RATES, "tolerance": (lambda: 1e-9, lambda v: real(v) and v >= 0)},
    ),
    "quadratic.largest_stable_learning_rate": Spec(
        quadratic.largest_stable_learning_rate,
        {"curvature": (lambda: 2.0, positive),
         "momentum": (lambda: 0.5, lambda v: real(v) and -1 < v < 1)},
    ),
    "quadratic.critical_momentum": Spec(
        quadratic.critical_momentum,
        {k: RATES[k] for k in ("learning_rate", "curvature")},
    ),
    "quadratic.heavy_ball": Spec(
        quadratic.heavy_ball,
        {**dict([STATS]), "learning_rate": RATES["learning_rate"],
         "momentum": RATES["momentum"],
         "steps": (lambda: 3, count(0, quadratic.MAX_STEPS)),
         "start": (lambda: (0.0, 0.0), pair)},
    ),
    # training
    "training.DivergenceError": Spec(
        lambda message, history: training.DivergenceError(message, history),
        {"message": (lambda: "diverged", anything),
         "history": (training.History, never)},
    ),
    "training.linear_model": Spec(
        training.linear_model,
        {"x": (good_x, lambda v: float_tensor(v)),
         "parameters": (lambda: torch.tensor([2.0, 1.0]),
                        lambda v: float_tensor(v) and v.shape == (2,))},
    ),
    "training.mean_squared_error": Spec(
        training.mean_squared_error,
        {"predictions": (good_x, never), "targets": (good_y, never)},
    ),
    "training.check_rule": Spec(
        training.check_rule, {"rule": (lambda: training.SGD(0.1), never)},
    ),
    "training.UpdateRule": Spec(
        # A protocol has no constructor: check_rule is its gate.
        training.check_rule, {"rule": (lambda: training.SGD(0.1), never)},
    ),
    "training.SGD": Spec(
        lambda learning_rate, parameters: stepped(
            training.SGD(learning_rate), parameters),
        {"learning_rate": (lambda: 0.1, positive),
         "parameters": (parameters, float_tensor)},
    ),
    "training.Momentum": Spec(
        lambda learning_rate, momentum, parameters: stepped(
            training.Momentum(learning_rate, momentum), parameters),
        {"learning_rate": (lambda: 0.1, positive),
         "momentum": (lambda: 0.9, real),
         "parameters": (parameters, float_tensor)},
    ),
    "training.History": Spec(
        lambda split, epoch, losses: (
            training.History(epoch_val_losses=losses).best_epoch(split),
            trained_history().parameters_at(epoch),
        ),
        {"split": (lambda: "validation", lambda v: v == "validation"),
         "epoch": (lambda: 1, count(0, 2)),
         "losses": (lambda: [2.0, 1.0], lambda v: isinstance(v, list)
                    and len(v) > 0 and all(real(e) for e in v))},
        labels={"losses": "validation loss"},
    ),
    "training.train_linear_model": Spec(
        lambda x, y, rule, epochs, batch_size, seed, initial,
        on_divergence: short_training(
            x=x, y=y, rule=rule, epochs=epochs, batch_size=batch_size,
            seed=seed, initial=initial, on_divergence=on_divergence),
        {**dict([X, Y]), "rule": (lambda: training.SGD(0.1), never),
         "epochs": (lambda: 2, count(1, 3)),
         "batch_size": (lambda: 4, count(1, 2**70)),
         "seed": (lambda: 0, count(*checks.SEED_RANGE)),
         "initial": (lambda: None, lambda v: v is None or (
             float_tensor(v) and v.shape == (2,) and bool(
                 torch.isfinite(v).all()))),
         "on_divergence": (lambda: "raise", lambda v: isinstance(v, str)
                           and v in ("raise", "stop"))},
    ),
    "training.PathRecorder": Spec(
        lambda rule, parameters: stepped(
            training.PathRecorder(rule), parameters),
        {"rule": (lambda: training.SGD(0.1), never),
         "parameters": (parameters, float_tensor)},
    ),
    "training.EpochError": Spec(
        lambda message: str(training.EpochError(message)),
        {"message": (lambda: "bad", anything)},
    ),
    # graph
    "graph.GraphNode": Spec(
        graph.GraphNode,
        {"index": (lambda: 0, count(0)), "kind": (lambda: "MulBackward0",
                                                  text),
         "label": (lambda: "mul", text), "layer": (lambda: 1, count(0))},
    ),
    "graph.Graph": Spec(
        lambda nodes, edges: graph.Graph(nodes, edges),
        {"nodes": (lambda: good_graph().nodes, never),
         "edges": (lambda: good_graph().edges, never)},
    ),
    "graph.operation_name": Spec(
        graph.operation_name, {"node": (good_node, never)},
    ),
    "graph.leaf_label": Spec(
        graph.leaf_label,
        {"tensor": (lambda: torch.tensor(2.0), real_tensor),
         "names": (dict, never)},
    ),
    "graph.walk_graph": Spec(
        graph.walk_graph,
        {"output": (lambda: good_graph and (torch.tensor(
            2.0, requires_grad=True) * 3), never),
         "names": (lambda: None, lambda v: v is None)},
    ),
    "graph.describe_graph": Spec(
        graph.describe_graph,
        {"graph": (good_graph, never),
         "max_operations": (lambda: 5, lambda v: v is None or count(1)(v))},
    ),
    "graph.layout_graph": Spec(
        graph.layout_graph, {"graph": (good_graph, never)},
    ),
    "graph.draw_graph": Spec(
        closing(lambda output, width: graph.draw_graph(output, width=width)),
        {"output": (good_graph, never),
         "width": (lambda: 3.0, lambda v: v is None or (
             positive(v) and v <= graph.MAX_WIDTH))},
    ),
    # plotting
    "plotting.new_figure": Spec(
        closing(lambda nrows, ncols, width, height: plotting.new_figure(
            nrows, ncols, width=width, height=height)),
        {"nrows": (lambda: 1, python_int(1, plotting.MAX_PANELS)),
         "ncols": (lambda: 1, python_int(1, plotting.MAX_PANELS)),
         "width": (lambda: 4.0, lambda v: positive(v) and (
             v <= plotting.MAX_INCHES)),
         "height": (lambda: None, lambda v: v is None or (
             positive(v) and v <= plotting.MAX_INCHES))},
    ),
    "plotting.viridis_colours": Spec(
        plotting.viridis_colours, {"count": (lambda: 3, python_int(1, 256))},
    ),
    "plotting.momentum_colour": Spec(
        plotting.momentum_colour, {"momentum": (lambda: 0.5, real)},
        oracle=lambda a, r: len(r) == 4 and all(0 <= c <= 1 for c in r),
    ),
    "plotting.plot_loss_curves": Spec(
        closing(lambda curves, legend, ylabel: plotting.plot_loss_curves(
            curves, legend=legend, ylabel=ylabel)),
        {"curves": (lambda: {0.5: [2.0, 1.0]}, never),
         "legend": (lambda: True, lambda v: isinstance(v, bool | np.bool_)),
         "ylabel": (lambda: "MSE", text)},
    ),
    "plotting.plot_trajectories": Spec(
        closing(lambda x, y, paths, levels, mark_every, slopes:
                plotting.plot_trajectories(
                    x, y, paths, levels=levels, mark_every=mark_every,
                    slopes=slopes)),
        {**dict([X, Y]),
         "paths": (lambda: {0.5: [[0.0, 0.0], [1.0, 0.5]]}, never),
         "levels": (lambda: 4, python_int(2, plotting.MAX_LEVELS)),
         "mark_every": (lambda: 2, python_int(1, 2**70)),
         "slopes": (lambda: None, lambda v: v is None)},
    ),
    # data
    "data.DataSetError": Spec(
        lambda message: str(data.DataSetError(message)),
        {"message": (lambda: "bad", anything)},
    ),
    "data.MissingDataError": Spec(
        lambda message: str(data.MissingDataError(message)),
        {"message": (lambda: "bad", anything)},
    ),
    "data.ChecksumError": Spec(
        lambda message: str(data.ChecksumError(message)),
        {"message": (lambda: "bad", anything)},
    ),
    "data.DataFormatError": Spec(
        lambda message: str(data.DataFormatError(message)),
        {"message": (lambda: "bad", anything)},
    ),
    "data.make_dataset": Spec(
        data.make_dataset, {"seed": (lambda: 9, count(*checks.SEED_RANGE))},
    ),
    "data.tensor_bytes": Spec(
        data.tensor_bytes, {"tensor": (good_x, real_tensor)},
    ),
    "data.sha256_of": Spec(
        in_temporary_folder(lambda path: data.sha256_of(path)),
        {"path": (lambda: os.devnull, never)},
        files=True,
    ),
    "data.write_dataset": Spec(
        in_temporary_folder(lambda directory, seed, force:
                            data.write_dataset(directory, seed, force=force)),
        {"directory": (lambda: "out", path),
         "seed": (lambda: 9, count(*checks.SEED_RANGE)),
         "force": (lambda: False, lambda v: isinstance(v, bool | np.bool_))},
        files=True,
    ),
    "data.find_data_dir": Spec(
        # No argument; the environment variable is its input.
        with_data_dir, {"folder": (lambda: None, anything)},
    ),
    "data.load_tensor": Spec(
        in_temporary_folder(saved_tensor("X.pt")),
        {"path": (lambda: "X.pt", never),
         "sha256": (lambda: None, lambda v: v is None)},
        files=True,
    ),
    "data.check_tensor": Spec(
        lambda name, tensor: data.check_tensor(name, tensor),
        {"name": (lambda: "X.pt", text), "tensor": (good_x, never)},
        labels={"tensor": "X.pt"},
    ),
    "data.load_dataset": Spec(
        lambda directory, checksums: data.load_dataset(
            directory, checksums=checksums),
        {"directory": (lambda: None, lambda v: v is None),
         "checksums": (lambda: data.SHA256, lambda v: v is None)},
        files=True,
    ),
    "data.main": Spec(
        in_temporary_folder(main_with_argv),
        {"argv": (lambda: ["out"], lambda v: v is None)},
        files=True,
    ),
    # check: the self-checks answer with verdicts.
    "check.NotDone": Spec(
        lambda message: str(check.NotDone(message)),
        {"message": (lambda: "bad", anything)},
    ),
    "check.todo": Spec(
        todo_text, {"task": (lambda: "x", text)},
    ),
    "check.Verdict": Spec(
        lambda problem, status, hint: str(
            check.Verdict(problem, status, hint)),
        {"problem": (lambda: "1.1", text),
         "status": (lambda: "wrong", lambda v: v in check.STATUSES),
         "hint": (lambda: "", text)},
    ),
    "check.three_way_split": Spec(
        check.three_way_split,
        {"x": (lambda: good_tensor(20, 1), never),
         "y": (lambda: good_tensor(20, 1), never)},
    ),
    "check.problem_2_5_momenta": Spec(
        lambda unused: check.problem_2_5_momenta(),
        {"unused": (lambda: None, anything)},
        oracle=lambda a, r: r in check.PROBLEM_2_5_OPTIONS,
    ),
}

CURVATURE_POINT = torch.tensor(check.HESSIAN_POINT, dtype=torch.float64)


def curvature_by_hand(w: torch.Tensor) -> float:
    """logsumexp(B w) + |w|^2 / 2 in plain Python floats."""
    rows = [sum(b * x for b, x in zip(row, w.tolist(), strict=True))
            for row in check.HESSIAN_B]
    top = max(rows)
    return top + math.log(sum(math.exp(r - top) for r in rows)) + 0.5 * sum(
        x * x for x in w.tolist())


SPECS["check.curvature_function"] = Spec(
    check.curvature_function,
    {"w": (lambda: CURVATURE_POINT.clone(), lambda v: float_tensor(v) and
           tuple(v.shape) == (len(check.HESSIAN_POINT),))},
    oracle=lambda a, r: not bool(torch.isfinite(a["w"]).all()) or math.isclose(
        r.item(), curvature_by_hand(a["w"]), rel_tol=1e-5, abs_tol=1e-5),
)

ANSWERS = {
    "check.problem_1_1": (check.problem_1_1, ("derivative",)),
    "check.problem_1_2": (check.problem_1_2, ("x", "derivative")),
    "check.problem_1_3": (check.problem_1_3, ("df1_dx", "df2_dy")),
    "check.problem_1_4": (check.problem_1_4, ("gradient",)),
    "check.problem_1_5": (check.problem_1_5, ("first", "second")),
    "check.problem_2_1": (check.problem_2_1, ("slope", "bias")),
    "check.problem_2_2": (check.problem_2_2, ("losses",)),
    "check.problem_2_3": (check.problem_2_3, ("train_epoch",
                                              "validation_epoch")),
    "check.problem_2_4": (check.problem_2_4, ("final_test_mse",
                                              "best_test_mse")),
    "check.problem_2_5": (check.problem_2_5, ("momenta",)),
    # The derive-then-verify exercises of Part I.
    "check.gradient_in_pieces": (check.gradient_in_pieces, ("gradient",)),
    "check.least_squares_gradient": (check.least_squares_gradient,
                                     ("gradient",)),
    "check.softmax_jacobian": (check.softmax_jacobian, ("jacobian",)),
    "check.largest_hessian_eigenvalue": (check.largest_hessian_eigenvalue,
                                         ("eigenvalue",)),
    "check.x_log_x_function": (check.x_log_x_function, ("function",)),
}


def public_names() -> set[str]:
    """Every function and class a module of the package defines."""
    found = set()
    for module in MODULES:
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            if (inspect.isfunction(value) or inspect.isclass(value)) and (
                value.__module__ == module.__name__
            ):
                found.add(f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    return found


def test_every_public_name_has_a_hostile_input_spec():
    # A new public name fails here until it gets a spec below.
    assert public_names() == set(SPECS) | set(ANSWERS)


def raised_by_the_package(error: BaseException) -> bool:
    """Whether the innermost frame of ``error`` is the package's code."""
    frames = inspect.getinnerframes(error.__traceback__, context=0)
    return Path(frames[-1].filename).resolve().is_relative_to(PACKAGE)


def run(spec: Spec, argument: str, value) -> None:
    arguments = {name: make() for name, (make, _) in spec.arguments.items()}
    arguments[argument] = value
    accepts = spec.arguments[argument][1]
    try:
        valid = bool(accepts(value))
    except (TypeError, ValueError, RuntimeError):
        valid = False
    try:
        result = spec.call(**arguments)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert raised_by_the_package(error), (argument, value, error)
        if valid:  # a refusal of a valid value must still say why
            assert any(
                spec.labels.get(name, name) in message
                for name in spec.arguments
            ), (argument, value, message)
        else:
            assert spec.labels.get(argument, argument) in message, (
                argument, value, message)
    except OSError as error:
        assert spec.files and raised_by_the_package(error), (
            argument, value, error)
    except SystemExit as exit_:
        assert exit_.code != 0, (argument, value)
    else:
        assert valid, f"{argument}={value!r} was accepted"
        if spec.oracle is not None:
            assert spec.oracle(arguments, result) is not False


@pytest.mark.parametrize("public", sorted(SPECS))
def test_each_public_name_refuses_hostile_input_by_name(public):
    spec = SPECS[public]

    @FAST
    @given(argument=st.sampled_from(sorted(spec.arguments)), value=HOSTILE)
    def hostile(argument, value):
        run(spec, argument, value)

    hostile()


GOOD_ANSWERS = {
    "x": torch.linspace(-5, 5, 11), "derivative": 0.07,
    "gradient": [[2.0, 6.0], [4.0, 8.0]], "losses": [1.0] * 320,
    "momenta": (0.0, 0.5, 0.9, 1.0),
}


@pytest.fixture
def small_runs(monkeypatch):
    """The self-checks of Part II train on 40 samples instead of 1000.

    Their verdicts are judged here, not their reference runs (test_check
    does that): the same code on less data keeps this file fast.
    """
    x, y = data.load_dataset()
    monkeypatch.setattr(data, "load_dataset", lambda: (x[:40], y[:40]))
    check._sgd_run.cache_clear()
    yield
    check._sgd_run.cache_clear()


@pytest.mark.parametrize("public", sorted(ANSWERS))
def test_each_self_check_gives_a_verdict_for_any_answer(public, small_runs):
    function, names = ANSWERS[public]

    @FAST
    @given(argument=st.sampled_from(names), value=HOSTILE)
    def hostile(argument, value):
        answers = [GOOD_ANSWERS.get(name, 0.25) for name in names]
        answers[names.index(argument)] = value
        verdict = function(*answers)
        assert isinstance(verdict, check.Verdict)
        if value is None:
            assert verdict.status == "not done"
            return
        # None of the hostile values is a right answer.
        assert verdict.status == "wrong", (argument, value, verdict)
        # A value that is no number at all is named as such.
        if isinstance(value, str | bytes | complex | np.complexfloating):
            assert "should be" in verdict.hint, verdict

    hostile()


@pytest.mark.parametrize("public", sorted(
    name for name in ANSWERS if name.startswith("check.problem_2_")
    and name != "check.problem_2_5"
))
def test_each_training_check_refuses_a_hostile_seed_by_name(public):
    function, names = ANSWERS[public]

    @FAST
    @given(seed=HOSTILE)
    def hostile(seed):
        if count(0, 2**64 - 1)(seed):
            return  # a seed: it would train a model, tested elsewhere
        with pytest.raises(ValueError, match="^seed must be") as caught:
            function(*[None] * len(names), seed=seed)
        assert raised_by_the_package(caught.value)

    hostile()
