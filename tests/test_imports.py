"""`import chainrule` reaches every subpackage, loads each at its first use, and public modules
show only their public names."""
import importlib
import subprocess
import sys

import pytest

import chainrule

PUBLIC = ["nn", "losses", "regularizers", "grad", "optim", "training", "io", "registry", "grad_cases"]


def test_import_loads_no_subpackage_until_it_is_used():
    code = ("import sys, chainrule; heavy = [m for m in ('sklearn', 'matplotlib', 'scipy', 'chainrule.models', "
            "'chainrule.nn', 'numba') if m in sys.modules]; print(heavy); "
            "chainrule.models.MLPClassifier; print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"


@pytest.mark.parametrize("name", chainrule._SUBPACKAGES)
def test_every_subpackage_is_reachable_from_the_top(name):
    assert getattr(chainrule, name) is importlib.import_module(f"chainrule.{name}")


@pytest.mark.parametrize("name", PUBLIC)
def test_public_modules_show_only_their_public_names(name):
    module = importlib.import_module(f"chainrule.{name}")
    assert sorted(dir(module)) == sorted(module.__all__)
    assert all(hasattr(module, n) for n in module.__all__)
    assert not {"np", "numpy", "dataclass", "field", "annotations"} & set(dir(module))


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(AttributeError, match=r"module 'chainrule' has no attribute 'modles'"):
        chainrule.modles
