"""Two table-level Great Expectations expectations of par-review: one expectation checks a
whole family of per-column checks of a table, with GX's own rules, and reports each column.

- `expect_columns_to_be_in_type_lists`: every listed column holds its types, as GX's
  `expect_column_values_to_be_in_type_list` decides it on pandas (a column of dtype `object`
  value by value, null cells ignored; any other column by its dtype);
- `expect_columns_to_not_be_null`: no listed column has an empty cell, as
  `expect_column_values_to_not_be_null` decides it (a column may carry a `row_condition`:
  only the rows of some years need a value);
- `expect_columns_values_to_be_between`: each listed column's values lie within its bounds,
  as `expect_column_values_to_be_between` decides it (null cells are not checked; a text
  among numbers is an error, with GX's words); a bound may be a suite parameter (its value
  comes in the `bounds` kwarg, itself the suite parameter `bounds`: the run's numbers) and a
  check may carry a `row_condition` (the tier bands: the scores of the units of one tier).

Why: GX 1.x spends most of a validation on bookkeeping per expectation (each one rebuilds
its configuration through pydantic many times), not on pandas; a table had one expectation
per column for each of these two families (105 of the 171 expectations of a year). One wide
expectation per family and table keeps every check: the suite generator
(`suites.widen()`) folds a run of per-column expectations into one, keeping each column's
check id, severity and bilingual texts in `meta.checks`, and the gate
(`gate.validate_tables`) reports each failed column as its own check, named as before
(`provincial.score.type`, `commune.unit_id.not_null`).

The result of either expectation: `success` (every column passed), `observed_value` (a short
English summary for the Data Docs) and `details.columns`: one entry per check, in the order
of the expectation's `columns`, with
`column`, `success`, and `observed_value` (a column checked by its dtype), or `unexpected_count` and
`unexpected_index_list` (the index columns and the value of each offending row), or `error`
(the column is missing).

Importing this module registers both with GX (the gate imports it before it reads a suite).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
from great_expectations.expectations.type_comparison import native_type_type_map
from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer

TYPES = "expect_columns_to_be_in_type_lists"
NOT_NULL = "expect_columns_to_not_be_null"


def _missing(column: str) -> dict:
    # the words of GX's own error for a column that is not there
    return {
        "success": False,
        "error": f'Error: The column "{column}" in BatchData does not exist.',
    }


def _rows(df: pd.DataFrame, bad: pd.Series, column: str, index_columns: list[str]) -> list[dict]:
    """What GX's COMPLETE result gives for a map check: the count and, per offending row,
    the index columns and the value."""
    if not bad.any():
        return {"success": True, "unexpected_count": 0, "unexpected_index_list": []}
    cols = [c for c in index_columns if c in df.columns]
    keep = [*cols, column] if column not in cols else cols
    rows = df.loc[bad.to_numpy(), keep]
    return {
        "success": not len(rows),
        "unexpected_count": int(len(rows)),
        "unexpected_index_list": rows.to_dict("records"),
    }


# -- types: GX's rules of expect_column_values_to_be_in_type_list (pandas) ----------------------
def _map_types(type_list: list[str]) -> tuple:
    """The Python/numpy types a value of an `object` column may have (GX's map metric
    `column_values.in_type_list`)."""
    comp: list = []
    for t in type_list:
        try:
            comp.append(np.dtype(t).type)
        except TypeError:
            for ns in (pd, pd.core.dtypes.dtypes):
                v = getattr(ns, t, None)
                if isinstance(v, type):
                    comp.append(v)
        native = native_type_type_map(t)
        if native is not None:
            comp.extend(native)
    if not comp:
        raise ValueError(f"No recognized numpy/python type in list: {type_list}")
    return tuple(comp)


def _dtype_types(type_list: list[str]) -> list:
    """The dtypes a column that is not `object` may have (GX's `_validate_pandas`)."""
    comp: list = []
    for t in type_list:
        try:
            comp.append(np.dtype(t).type)
            comp.append(np.dtype(t))
        except TypeError:
            v = getattr(pd, t, None)
            if isinstance(v, type):
                comp.append(v)
                try:
                    if isinstance(v(), pd.core.dtypes.base.ExtensionDtype):
                        comp.append(v())
                except TypeError:
                    pass
            w = getattr(pd.core.dtypes.dtypes, t, None)
            if isinstance(w, type):
                comp.append(w)
        native = native_type_type_map(t)
        if native is not None:
            comp.extend(native)
    return comp


def column_types(df: pd.DataFrame, columns: list[dict], index_columns: list[str]) -> list[dict]:
    """column -> its result (see the module's docstring)."""
    out: list[dict] = []
    for spec in columns:
        col, type_list = spec["column"], list(spec["type_list"])
        if col not in df.columns:
            out.append({"column": col, **_missing(col)})
            continue
        s = df[col]
        if s.dtype.type.__name__ == "object_":
            try:
                types = _map_types(type_list)
            except ValueError as exc:
                out.append({"column": col, "success": False, "error": str(exc)})
                continue
            ok = s.map(lambda v, types=types: isinstance(v, types))
            out.append(
                {"column": col, **_rows(df, s.notna() & ~ok.astype(bool), col, index_columns)}
            )
        else:
            out.append(
                {
                    "column": col,
                    "success": bool(s.dtype in _dtype_types(type_list)),
                    "observed_value": s.dtype.type.__name__,
                }
            )
    return out


# -- not null: GX's rule of expect_column_values_to_not_be_null --------------------------------
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _condition(df: pd.DataFrame, cond: dict | None) -> pd.Series:
    """The rows a row condition selects (GX's comparison condition: column, operator,
    parameter)."""
    if not cond:
        return pd.Series(True, index=df.index)
    col = (cond.get("column") or {}).get("name")
    op = _OPS.get(cond.get("operator"))
    if col not in df.columns or op is None or cond.get("type", "comparison") != "comparison":
        raise ValueError(f"unsupported row_condition: {cond}")
    # compared as GX compares (a text cell in a number column is an error, as there)
    return op(df[col], cond.get("parameter")).fillna(False).astype(bool)


def columns_not_null(df: pd.DataFrame, columns: list[dict], index_columns: list[str]) -> list[dict]:
    out: list[dict] = []
    for spec in columns:
        col = spec["column"]
        if col not in df.columns:
            out.append({"column": col, **_missing(col)})
            continue
        try:
            where = _condition(df, spec.get("row_condition"))
        except (TypeError, ValueError) as exc:
            out.append({"column": col, "success": False, "error": str(exc)})
            continue
        out.append({"column": col, **_rows(df, where & df[col].isna(), col, index_columns)})
    return out


# -- between: GX's rule of expect_column_values_to_be_between (pandas) ---------------------------
_SAME_TYPE = "Column values, min_value, and max_value must either be None or of the same type."


def _between(s: pd.Series, lo: Any, hi: Any, strict_min: Any, strict_max: Any) -> pd.Series:
    """Which of the (non-null) values lie within the bounds (GX's `column_values.between`)."""
    if lo is None and hi is None:
        raise ValueError("min_value and max_value cannot both be None")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("min_value cannot be greater than max_value")
    if s.dtype in [int, float]:
        above = s.gt(lo) if strict_min else s.ge(lo)
        below = s.lt(hi) if strict_max else s.le(hi)
        if lo is None:
            return below
        if hi is None:
            return above
        return above & below

    def one(v: Any) -> bool:
        for bound in (lo, hi):
            if bound is not None and isinstance(v, str) != isinstance(bound, str):
                raise TypeError(_SAME_TYPE)
        ok = True
        if lo is not None:
            ok = ok and (v > lo if strict_min else v >= lo)
        if hi is not None:
            ok = ok and (v < hi if strict_max else v <= hi)
        return bool(ok)

    return s.map(one).astype(bool)


def _bound(v: Any, bounds: dict) -> Any:
    """A bound: a constant, or a suite parameter's value (from `bounds`, the run's numbers)."""
    if isinstance(v, dict) and "$PARAMETER" in v:
        if v["$PARAMETER"] not in bounds:
            raise ValueError(f"No value found for $PARAMETER {v['$PARAMETER']}")
        return bounds[v["$PARAMETER"]]
    return v


def columns_between(
    df: pd.DataFrame, columns: list[dict], index_columns: list[str], bounds: dict | None = None
) -> list[dict]:
    out: list[dict] = []
    for spec in columns:
        col = spec["column"]
        if col not in df.columns:
            out.append({"column": col, **_missing(col)})
            continue
        s = df[col]
        try:
            filled = s.notna() & _condition(df, spec.get("row_condition"))
            ok = _between(
                s[filled],
                _bound(spec.get("min_value"), bounds or {}),
                _bound(spec.get("max_value"), bounds or {}),
                spec.get("strict_min"),
                spec.get("strict_max"),
            )
        except (TypeError, ValueError) as exc:
            out.append({"column": col, "success": False, "error": str(exc)})
            continue
        bad = pd.Series(False, index=df.index)
        bad[filled] = ~ok.to_numpy()
        out.append({"column": col, **_rows(df, bad, col, index_columns)})
    return out


# -- the metrics ----------------------------------------------------------------------------------
def _table(execution_engine, metric_domain_kwargs, metric_value_kwargs):
    """The table a metric reads, its columns and its index columns."""
    df, _, _ = execution_engine.get_compute_domain(
        domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
    )
    index = list(metric_value_kwargs["index_columns"] or [])
    return df, metric_value_kwargs["columns"], index


class ColumnsInTypeLists(TableMetricProvider):
    metric_name = "par_table.columns_in_type_lists"
    value_keys = ("columns", "index_columns")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kw):
        return column_types(*_table(execution_engine, metric_domain_kwargs, metric_value_kwargs))


class ColumnsNotNull(TableMetricProvider):
    metric_name = "par_table.columns_not_null"
    value_keys = ("columns", "index_columns")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kw):
        return columns_not_null(
            *_table(execution_engine, metric_domain_kwargs, metric_value_kwargs)
        )


class ColumnsBetween(TableMetricProvider):
    metric_name = "par_table.columns_between"
    value_keys = ("columns", "index_columns", "bounds")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kw):
        bounds = dict(metric_value_kwargs.get("bounds") or {})
        return columns_between(
            *_table(execution_engine, metric_domain_kwargs, metric_value_kwargs), bounds
        )


# -- the expectations ----------------------------------------------------------------------------
SHOWN = 5  # offending rows named per column in the Data Docs' summary


def _cell(v: Any) -> str:
    return "(empty)" if v is None or (isinstance(v, float) and v != v) else str(v)


def _summary(per: list[dict], what: str) -> str:
    """The observed value on the Data Docs page: which columns fail, and for each its first
    offending rows (the first index column, then the value) or what GX found."""
    bad = [r for r in per if not r.get("success")]
    if not bad:
        return f"all {len(per)} checks {what}"
    parts = []
    for r in bad:
        c = r["column"]
        if r.get("error"):
            parts.append(f"{c}: {r['error']}")
        elif "observed_value" in r:
            parts.append(f"{c}: {r['observed_value']}")
        else:
            rows = r.get("unexpected_index_list") or []
            shown = [
                f"{_cell(next(iter(row.values())))} = {_cell(row.get(c))}" for row in rows[:SHOWN]
            ]
            more = r.get("unexpected_count", len(rows)) - len(shown)
            parts.append(f"{c}: " + "; ".join(shown) + (f"; +{more} more" if more > 0 else ""))
    return f"{len(bad)} of {len(per)} checks fail — " + " | ".join(parts)


class _Wide(BatchExpectation):
    columns: list[dict[str, Any]]
    index_columns: list[str] = []

    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id",)
    success_keys: ClassVar[tuple[str, ...]] = ("columns", "index_columns")
    args_keys: ClassVar[tuple[str, ...]] = ("columns",)
    _what: ClassVar[str] = ""
    _template: ClassVar[str] = ""

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ):
        per = metrics[self.metric_dependencies[0]]
        return {
            "success": all(r.get("success") for r in per),
            "result": {
                "observed_value": _summary(per, self._what),
                "details": {"columns": per},
            },
        }

    @classmethod
    def _prescriptive_template(cls, renderer_configuration):
        renderer_configuration.template_str = cls._template
        return renderer_configuration

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration=None, result=None, runtime_configuration=None):
        cols = (configuration.kwargs.get("columns") if configuration else None) or []
        parts = []
        for spec in cols:
            extra = spec.get("type_list")
            if extra:
                parts.append(f"{spec['column']} ({' / '.join(extra)})")
            elif "min_value" in spec or "max_value" in spec:
                lo = spec.get("min_value")
                hi = spec.get("max_value")
                low = "" if lo is None else f"{lo} {'<' if spec.get('strict_min') else '≤'} "
                high = "" if hi is None else f" {'<' if spec.get('strict_max') else '≤'} {hi}"
                parts.append(f"{low}{spec['column']}{high}")
            else:
                parts.append(spec["column"])
        styling = (runtime_configuration or {}).get("styling", {})
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={
                    "template": cls._template + " $columns",
                    "params": {"columns": ", ".join(parts)},
                    "styling": styling,
                },
            )
        ]


class ExpectColumnsToBeInTypeLists(_Wide):
    """Every listed column holds values of its type list (per column: GX's rule of
    expect_column_values_to_be_in_type_list on pandas)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (ColumnsInTypeLists.metric_name,)
    _what: ClassVar[str] = "have their types"
    _template: ClassVar[str] = "Each column holds values of its types:"


class ExpectColumnsToNotBeNull(_Wide):
    """No listed column has an empty cell (per column: GX's rule of
    expect_column_values_to_not_be_null; a column's `row_condition` limits the rows)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (ColumnsNotNull.metric_name,)
    _what: ClassVar[str] = "have no empty cell"
    _template: ClassVar[str] = "These columns have no empty cell:"


class ExpectColumnsValuesToBeBetween(_Wide):
    """The values of each listed column lie within its bounds (per column: GX's rule of
    expect_column_values_to_be_between; null cells are not checked)."""

    bounds: dict[str, Any] = {}  # the run's numbers, for bounds that are suite parameters

    success_keys: ClassVar[tuple[str, ...]] = ("columns", "index_columns", "bounds")
    metric_dependencies: ClassVar[tuple[str, ...]] = (ColumnsBetween.metric_name,)
    _what: ClassVar[str] = "lie within their bounds"
    _template: ClassVar[str] = "Each column's values lie within its bounds:"
