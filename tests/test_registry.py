import pytest

from nnbench.core.errors import NNBenchError, UnknownNameError, check_int, check_range
from nnbench.core.registry import Registry


def test_unknown_name_lists_valid_and_closest():
    reg = Registry("optimizer")
    for name in ("sgd", "adam", "adamw"):
        reg.add(name, dict, f"the {name} rule")
    with pytest.raises(UnknownNameError) as info:
        reg.get("adma")
    msg = str(info.value)
    assert "unknown optimizer 'adma'" in msg and "did you mean 'adam'" in msg
    assert "adam, adamw, sgd" in msg
    assert isinstance(info.value, ValueError)


def test_register_twice_is_a_bug():
    reg = Registry("thing")
    reg.add("a", dict, "a")
    with pytest.raises(KeyError):
        reg.add("a", dict, "again")


def test_create_passes_kwargs():
    reg = Registry("thing")
    reg.add("d", dict, "a dict")
    assert reg.create("d", x=1) == {"x": 1}
    assert reg.names() == ["d"] and "d" in reg and len(reg) == 1


@pytest.mark.parametrize(
    "kwargs, value, ok",
    [
        (dict(low=0, low_open=True), 1e-9, True),
        (dict(low=0, low_open=True), 0.0, False),
        (dict(low=0, high=1, high_open=True), 1.0, False),
        (dict(low=0, high=1, high_open=True), [0.0, 0.5], True),
        (dict(low=0, high=1, high_open=True), [0.5, float("nan")], False),
    ],
)
def test_check_range(kwargs, value, ok):
    if ok:
        check_range("beta", value, **kwargs)
    else:
        with pytest.raises(NNBenchError, match="beta must be in"):
            check_range("beta", value, **kwargs)


def test_check_int():
    assert check_int("steps", 3) == 3
    for bad in (0, -1, 2.5, True):
        with pytest.raises(NNBenchError, match="steps must be an integer"):
            check_int("steps", bad)


def test_build_accepts_only_listed_parameters():
    reg = Registry("init")
    reg.add("normal", dict, "N(0, std^2)", {"std": 1.0})
    assert reg.build("normal", std=0.5) == {"std": 0.5}
    with pytest.raises(NNBenchError, match="init 'normal' has no parameter 'sd'; valid: std"):
        reg.build("normal", sd=0.5)
