"""The estimators' Parameters sections, assembled by ``models._docs.document`` (issue 14.1).

The sections are written from each ``__init__`` signature and the shared tables of
``models/_docs.py``; these tests check what that promises: every parameter in signature order
with the signature's default, formulas in ``...`` kept on one line, and a parameter nobody
described refused at import instead of left undocumented.
"""
from __future__ import annotations

import inspect

import pytest

pytest.importorskip("sklearn")
docscrape = pytest.importorskip("numpydoc.docscrape")

from chainrule import models  # noqa: E402
from chainrule.models._docs import COMMON, document  # noqa: E402

ESTIMATORS = [models.LinearClassifier, models.LinearRegression, models.PolynomialRegression,
              models.MLPClassifier, models.MLPRegressor, models.CNNClassifier]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameters_follow_the_signature_with_its_defaults(cls):
    documented = docscrape.NumpyDocString(inspect.getdoc(cls))["Parameters"]
    signature = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    assert [p.name for p in documented] == [p.name for p in signature]
    for entry, param in zip(documented, signature):
        assert entry.type.endswith(f", default={param.default!r}"), (entry.name, entry.type)
        assert " ".join(entry.desc).strip(), entry.name


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_formulas_are_not_broken_across_lines(cls):
    """An inline literal (a formula such as ``W <- W - eta v``) opens and closes on one line."""
    broken = [line for line in cls.__doc__.splitlines() if line.count("``") % 2]
    assert not broken, broken


def test_an_undescribed_parameter_stops_the_import():
    def fit(self, X):
        """Fit.

        {parameters}
        """

    with pytest.raises(KeyError, match="'X'"):
        document(COMMON)(fit)

    def no_marker(self, tol=0.0):
        """Fit."""

    with pytest.raises(ValueError, match=r"no \{parameters\} line"):
        document(COMMON)(no_marker)


def test_a_section_is_indented_as_its_marker():
    def fit(self, tol=0.5, *, verbose=0):
        """Fit.

        {parameters}
        """

    doc = document(COMMON)(fit).__doc__
    assert "\n        Parameters\n        ----------\n        tol : float >= 0, default=0.5\n" in doc
    assert "\n        verbose : int or bool, default=0\n            0 / False: silent." in doc
