"""The parameters of a match run: one validated object, its defaults written once.

:class:`MatchParameters` holds everything a run's numbers depend on besides the stored profiles,
and how the work is cut into shards. It is built by the library's callers, the match and
pipeline flows (from a Prefect run form or ``prefect deployment run -p parameters=...``) and
the command line (:func:`add_arguments` / :func:`from_arguments` generate the options from the
fields), and it is validated once, at construction: every bad value raises
:class:`~kinship.errors.ReuniteInputError` with one line naming the field, the value and the
allowed range, before any profile is loaded or any pair scored. The steps of
:mod:`kinship.app.match_run` take their values from it and check nothing again.

Defaults come from the layer that owns them: the mutation model's from
:class:`kinship.genetics.mutation.MutationModel` (with their sources), the frequency floor from
:data:`kinship.genetics.frequencies.DEFAULT_FREQUENCY_FLOOR`, the reporting threshold from
:data:`kinship.matching.ranking.SUPPORT_LOG10_CPI`, the table from
:data:`kinship.io.frequencies.DEFAULT_TABLE`; the others are written here only.

Examples
--------
>>> p = MatchParameters(theta=0.01, mutation={"rate_male": 0.003})
>>> p.theta, p.mutation_model.describe()
(0.01, 'stepwise (male 0.003, female 0.001, range 0.1, rate2 1e-06)')
>>> MatchParameters(theta=1)
Traceback (most recent call last):
...
kinship.errors.ReuniteInputError: match parameter theta = 1 is out of range; allowed: 0 <= theta < 1
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from kinship.errors import ReuniteInputError
from kinship.genetics.frequencies import DEFAULT_FREQUENCY_FLOOR
from kinship.genetics.mutation import MODELS, MutationModel
from kinship.io.frequencies import BUNDLED_TABLES, DEFAULT_TABLE
from kinship.matching.ranking import EXCLUSION_LOG10_CPI, EXCLUSION_N_INCONSISTENT, SUPPORT_LOG10_CPI

__all__ = ["MutationParameters", "PriorParameters", "YstrParameters", "LinkageParameters", "MatchParameters", "allowed_range", "option_fields", "add_arguments", "from_arguments"]

_MUTATION_DEFAULTS = {f.name: f.default for f in dataclasses.fields(MutationModel)}


def allowed_range(model: type[BaseModel], name: str) -> str | None:
    """The allowed range of a numeric field, from its constraints (``"0 <= theta < 1"``).

    Examples
    --------
    >>> allowed_range(MatchParameters, "theta"), allowed_range(MatchParameters, "k")
    ('0 <= theta < 1', 'k >= 1')
    >>> allowed_range(MatchParameters, "threshold")
    'finite'
    """
    info = model.model_fields[name]
    low = high = None
    finite = False
    for c in info.metadata:
        for attr, op in (("ge", "<="), ("gt", "<")):
            if getattr(c, attr, None) is not None:
                low = f"{getattr(c, attr):g} {op} "
        for attr, op in (("le", "<="), ("lt", "<")):
            if getattr(c, attr, None) is not None:
                high = f" {op} {getattr(c, attr):g}"
        if getattr(c, "allow_inf_nan", None) is False:
            finite = True
    if low and high:
        return f"{low}{name}{high}"
    if low:  # "k >= 1" reads better than "1 <= k"
        op = {"<=": ">=", "<": ">"}[low.split()[1]]
        return f"{name} {op} {low.split()[0]}" + (", finite" if finite else "")
    if high:
        return f"{name}{high}"
    return "finite" if finite else None


def _flatten(errors: list[dict]) -> list[dict]:
    """pydantic's error records, a nested parameter model's own errors lifted to their full path.

    A nested model's constructor (:class:`MutationParameters` inside :class:`MatchParameters`)
    raises :class:`ReuniteInputError`, which pydantic records as one ``value_error`` at the
    nested field; its ``parameter_errors`` are the records with paths inside the nested model.
    """
    out = []
    for e in errors:
        nested = getattr((e.get("ctx") or {}).get("error"), "parameter_errors", None)
        if e["type"] == "value_error" and nested is not None:
            out += [{**n, "loc": (*e["loc"], *n["loc"])} for n in nested]
        else:
            out.append(e)
    return out


def _one_line(errors: list[dict], model: type[BaseModel]) -> str:
    """One line for the first of pydantic's error records: the field, the value, the allowed range."""
    first = errors[0]
    loc = [str(x) for x in first["loc"]]
    name = ".".join(loc) or model._name
    value = first.get("input")
    owner: type[BaseModel] = model
    for part in loc[:-1]:  # the model that declares the field (nested mutation fields)
        annotation = owner.model_fields[part].annotation if part in owner.model_fields else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            owner = annotation
    field = loc[-1] if loc else ""
    if first["type"] == "extra_forbidden":
        text = f"unknown match parameter {name} = {value!r}; expected one of {', '.join(owner.model_fields)}"
    elif first["type"] == "value_error":  # raised by a validator: its message names value and range
        error = str(first["ctx"]["error"])
        text = (f"match parameter {error}" if error.startswith(loc[-1] if loc else model._name)
                else f"match parameter {name}: {error}")
    else:
        allowed = allowed_range(owner, field) if field in owner.model_fields else None
        problem = ("is out of range" if first["type"] in ("greater_than", "greater_than_equal", "less_than",
                                                           "less_than_equal", "finite_number")
                   else f"is not valid ({first['msg'][0].lower() + first['msg'][1:]})")
        text = f"match parameter {name} = {value!r} {problem}"
        if allowed:
            text += f"; allowed: {allowed}"
    if len(errors) > 1:
        others = sorted({".".join(str(x) for x in e["loc"]) for e in errors[1:]})
        text += f" (also invalid: {', '.join(others)})"
    return " ".join(text.split())


class _Parameters(BaseModel):
    """Frozen, keyword-only, no unknown fields; a bad value raises one-line ReuniteInputError."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: The field (or object) named in error messages when the error is not a single field's.
    _name: ClassVar[str] = "parameters"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            errors = _flatten(exc.errors(include_url=False))
            error = ReuniteInputError(_one_line(errors, type(self)))
            error.parameter_errors = errors
            raise error from None


class MutationParameters(_Parameters):
    """The mutation model of a run: the fields of :class:`~kinship.genetics.mutation.MutationModel`.

    Validation is :class:`~kinship.genetics.mutation.MutationModel`'s own (``__post_init__``):
    the model built here is :attr:`MatchParameters.mutation_model`. Per-locus rates
    (``MutationModel.locus_rates``) are not a run parameter yet; every locus uses these rates.

    Raises
    ------
    ReuniteInputError
        An unknown model, a rate outside [0, 1), or a stepwise ``range`` outside (0, 1).
    """

    model_config = ConfigDict(json_schema_extra={"description": "Mutation model of the meioses between the "
                              "missing child and its typed relatives (checked by kinship.genetics.mutation.MutationModel)."})
    _name: ClassVar[str] = "mutation"

    model: str = Field(
        _MUTATION_DEFAULTS["model"],
        description=f"Mutation model, one of {', '.join(MODELS)} (Familias / pedmut definitions; "
                    "'none': an inconsistent locus gives LR 0).",
        json_schema_extra={"enum": list(MODELS)},
    )
    rate_male: float = Field(
        _MUTATION_DEFAULTS["rate_male"], strict=True,
        description="Mutation probability per meiosis of a father (or any male parent). Allowed: 0 <= rate_male < 1.",
    )
    rate_female: float = Field(
        _MUTATION_DEFAULTS["rate_female"], strict=True,
        description="Mutation probability per meiosis of a mother (or any female parent). "
                    "Allowed: 0 <= rate_female < 1.",
    )
    range: float = Field(  # noqa: A003 - the field's name (Familias, pedmut, mutation_matrix)
        _MUTATION_DEFAULTS["range"], strict=True,
        description="Stepwise only: ratio of the probability of a (k+1)-step to a k-step mutation "
                    "(dimensionless). Allowed: 0 < range < 1.",
    )
    rate2: float = Field(
        _MUTATION_DEFAULTS["rate2"], strict=True,
        description="Stepwise only: probability per meiosis of mutating into another microvariant "
                    "group (e.g. 9 -> 9.3). Allowed: 0 <= rate2 < 1.",
    )
    _model: MutationModel = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> "MutationParameters":
        self._model = MutationModel(self.model, self.rate_male, self.rate_female, self.range, self.rate2)
        return self


class PriorParameters(_Parameters):
    """The prior of the posteriors after database size (:mod:`kinship.matching.posterior`).

    Each side has one number, the prior mass of "not on file"; the rest is spread uniformly
    over what is on file (the families, for a candidate; the candidates, for a family). The
    default 0.5 for both states no knowledge either way: a rescued child's family is as likely
    to have filed a sample as not, and a family's child as likely to have been found and typed
    as not. A programme that knows its coverage (e.g. the share of rescued children later
    matched) should set it: the posterior of a hit depends on it, the LR does not.

    Raises
    ------
    ReuniteInputError
        A value outside (0, 1) or an unknown field.
    """

    model_config = ConfigDict(json_schema_extra={"description": "Prior of the posteriors after database "
                              "size: the prior mass of 'not on file' on each side, the rest uniform over "
                              "what is on file (kinship.matching.posterior)."})
    _name: ClassVar[str] = "prior"

    family_not_on_file: float = Field(
        0.5, strict=True, gt=0.0, lt=1.0,
        description="Prior probability that a candidate's family is not among the families on file "
                    "(candidate's side); the rest is uniform over the families. Allowed: 0 < "
                    "family_not_on_file < 1.",
    )
    child_not_on_file: float = Field(
        0.5, strict=True, gt=0.0, lt=1.0,
        description="Prior probability that a family's missing child is not among the candidates on "
                    "file (family's side); the rest is uniform over the candidates. Allowed: 0 < "
                    "child_not_on_file < 1.",
    )


class YstrParameters(_Parameters):
    """The Y-STR comparison of a run (:mod:`kinship.app.lineage`, :mod:`kinship.likelihood.lineage`).

    Raises
    ------
    ReuniteInputError
        A value outside its range, a rates file that does not exist, or an unknown field.
    """

    model_config = ConfigDict(json_schema_extra={"description": "Y-STR lineage comparison of male candidates "
                              "with the family's closest paternal-line man (kinship.app.lineage)."})
    _name: ClassVar[str] = "y_str"

    use: bool = Field(
        True, strict=True,
        description="Compare Y-STR haplotypes of male candidates with paternal-line relatives and multiply "
                    "the Y-STR LR into the combined LR. Allowed: true or false.",
    )
    step_ratio: float = Field(
        0.1, strict=True, ge=0.0, lt=1.0,
        description="Ratio of an (s+1)-step to an s-step Y-STR mutation (geometric step size; 0: single-step, "
                    "where a father and son two steps apart at a locus exclude). The default is the autosomal "
                    "stepwise range, not fitted to Y-STR data. Allowed: 0 <= step_ratio < 1.",
    )
    confidence: float = Field(
        0.95, strict=True, gt=0.0, lt=1.0,
        description="One-sided confidence level of the haplotype frequency's Clopper-Pearson upper bound "
                    "(the LR divides by it). Allowed: 0 < confidence < 1.",
    )
    rates_file: str = Field(
        "",
        description="Y-STR mutation-rate table (CSV of kinship/data/ystr_mutation_rates.csv's layout); "
                    "empty: the bundled YHRD counts.",
    )

    @field_validator("rates_file")
    @classmethod
    def _rates_file_exists(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"rates_file = {value!r} does not exist; give the path of a Y-STR rate CSV or leave it empty")
        return value


class LinkageParameters(_Parameters):
    """Linked loci of a run (:mod:`kinship.genetics.linkage`, :mod:`kinship.likelihood.linkage`).

    Two loci of the run on one chromosome within ``max_distance_cm`` of the bundled sex-averaged map
    (KLINK's 50-marker map) are scored as one joint super-locus for every family with a
    reference other than the child's parents (siblings, half siblings, grandparents, uncles and
    aunts): the exact two-locus likelihood at the map's recombination fraction. A parent-child
    LR does not depend on linkage, so parent-only families keep the independent loci.

    Raises
    ------
    ReuniteInputError
        A value outside its range or an unknown field.
    """

    model_config = ConfigDict(json_schema_extra={"description": "Linked loci scored jointly for families "
                              "with relatives other than the parents (kinship.likelihood.linkage)."})
    _name: ClassVar[str] = "linkage"

    use: bool = Field(
        True, strict=True,
        description="Score linked pairs of loci (e.g. vWA and D12S391, ~12 cM apart on chromosome 12) jointly "
                    "for families with relatives other than the parents. Off: every locus independent "
                    "(the peers' default). Allowed: true or false.",
    )
    map_function: Literal["haldane", "kosambi"] = Field(
        "haldane",
        description="Map function from centiMorgans to the recombination fraction: haldane (no "
                    "interference; KLINK's and pedprobr's) or kosambi. Allowed: haldane, kosambi.",
    )
    max_distance_cm: float = Field(
        30.0, strict=True, gt=0.0, le=200.0,
        description="Largest map distance (sex-averaged cM) at which two loci of the run are scored as a "
                    "linked pair; the default links vWA-D12S391 (11.9 cM) and D5S818-CSF1PO (27.8 cM). "
                    "Allowed: 0 < max_distance_cm <= 200.",
    )


class MatchParameters(_Parameters):
    """Everything a match run's numbers depend on besides the profiles, and its shard size.

    Keyword-only, frozen, unknown fields refused; validated once, at construction. Each field's
    unit and allowed range is in its description (``MatchParameters.model_fields[name]
    .description``; the same text is the Prefect run form's and ``--help``'s).

    Parameters
    ----------
    table_id : str
        Frequency table: a bundled id (:data:`kinship.io.frequencies.BUNDLED_TABLES`) or the
        path of an existing long CSV file.
    mutation : MutationParameters or dict
        Mutation model; a dict of its fields is accepted (``{"rate_male": 0.003}``).
    prior : PriorParameters or dict
        Prior of the posteriors after database size (``{"family_not_on_file": 0.5,
        "child_not_on_file": 0.5}``; :mod:`kinship.matching.posterior`).
    y_str : YstrParameters or dict
        Y-STR comparison (``{"use": true, "step_ratio": 0.1, "confidence": 0.95, "rates_file": ""}``).
    linkage : LinkageParameters or dict
        Linked loci (``{"use": true, "map_function": "haldane", "max_distance_cm": 30.0}``).
    frequency_floor : float
        Minimum allele frequency when the table gives no N, 0 < floor < 1.
    k : int
        Partners kept per candidate and per family, k >= 1.
    threshold : float
        log10 LR at or above which every pair is reported and calibrated (4: CPI 10,000); finite.
    theta : float
        Balding-Nichols coancestry coefficient of every LR, 0 <= theta < 1 (0: Hardy-Weinberg).
    max_expected_unrelated : float
        Families without a parent on file and single-parent families: "support" also needs at
        most this many unrelated candidates expected at or above the pair's LR; > 0, finite.
    silent_alleles : bool
        Use the frequency table's silent (null) alleles (default false: they are dropped and
        each locus renormalised, :func:`kinship.genetics.frequencies.effective_table`).
    shard_size : int
        Families compiled and scored together (memory per shard), >= 1. It changes how the work
        is cut, never a number, so it is not among :meth:`as_dict`'s recorded parameters.

    Raises
    ------
    ReuniteInputError
        Any value outside its range, an unknown table, an invalid mutation model or an unknown
        field; one line naming the field, the value and the allowed range.

    Notes
    -----
    **The prior.** ``prior`` was one number until the posteriors became database-aware (the
    prior of one pair; provenance v3); it is now a nested model of the prior mass of "not on
    file" on each side (:class:`PriorParameters`), recorded under the same key
    ``parameters.prior`` as an object (provenance v4), with CLI options ``--prior-<field>``.

    Examples
    --------
    >>> MatchParameters().as_dict()["mutation"]["model"], MatchParameters().k
    ('stepwise', 10)
    >>> MatchParameters(prior={"family_not_on_file": 2.0})
    Traceback (most recent call last):
    ...
    kinship.errors.ReuniteInputError: match parameter prior.family_not_on_file = 2.0 is out of range; allowed: 0 < family_not_on_file < 1
    """

    model_config = ConfigDict(json_schema_extra={"description": "Parameters of a match run (kinship.app.parameters"
                              ".MatchParameters); every field states its unit and allowed range."})

    table_id: str = Field(
        DEFAULT_TABLE,
        description=f"Allele frequency table: a bundled id ({', '.join(BUNDLED_TABLES)}) or the path "
                    "of an existing long CSV file (columns locus, allele, frequency).",
        json_schema_extra={"examples": list(BUNDLED_TABLES)},
    )
    mutation: MutationParameters = Field(
        MutationParameters(),
        description="Mutation model of the meioses between the missing child and its relatives.",
    )
    prior: PriorParameters = Field(
        PriorParameters(),
        description="Prior of the posteriors after database size: the prior mass of 'not on file' for "
                    "a candidate's family and for a family's child, the rest uniform over what is on file.",
    )
    y_str: YstrParameters = Field(
        YstrParameters(),
        description="Y-STR lineage comparison of male candidates with paternal-line relatives.",
    )
    linkage: LinkageParameters = Field(
        LinkageParameters(),
        description="Linked loci scored jointly for families with relatives other than the parents.",
    )
    frequency_floor: float = Field(
        DEFAULT_FREQUENCY_FLOOR, strict=True, gt=0.0, lt=1.0,
        description="Minimum allele frequency (a proportion) given to an allele the table lacks, "
                    "when the table gives no N (else 5/(2N)). Allowed: 0 < frequency_floor < 1.",
    )
    k: int = Field(
        10, strict=True, ge=1,
        description="Partners kept per candidate and per family (each candidate's best k families, "
                    "each family's best k candidates). Allowed: k >= 1.",
    )
    threshold: float = Field(
        SUPPORT_LOG10_CPI, strict=True, allow_inf_nan=False,
        description="log10 LR at or above which every pair is reported and calibrated "
                    "(4: CPI 10,000). Allowed: any finite number.",
    )
    theta: float = Field(
        0.0, strict=True, ge=0.0, lt=1.0,
        description="Balding-Nichols coancestry coefficient (F_ST) of every LR, dimensionless; 0 is "
                    "Hardy-Weinberg. Allowed: 0 <= theta < 1.",
    )
    max_expected_unrelated: float = Field(
        0.01, strict=True, gt=0.0, allow_inf_nan=False,
        description="Families without a parent on file, and single-parent families: 'support' also "
                    "needs at most this many unrelated candidates expected (by calibration, at the "
                    "store's size) at or above the pair's LR. "
                    "Allowed: max_expected_unrelated > 0, finite.",
    )
    silent_alleles: bool = Field(
        False, strict=True,
        description="Use the frequency table's silent (null) alleles: an apparent homozygote a/a may "
                    "then carry a silent allele (a/silent), and mutation to or from the silent allele "
                    "has probability 0 (Familias's convention). Off: the table's silent alleles are "
                    "dropped and each locus renormalised over its other alleles. Allowed: true or false.",
    )
    shard_size: int = Field(
        4096, strict=True, ge=1,
        description="Families compiled and scored together in one task (bounds the memory of a "
                    "shard; changes no number). Allowed: shard_size >= 1.",
    )

    @field_validator("prior", mode="before")
    @classmethod
    def _prior_is_an_object(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(
                f"prior = {value!r} is one number (the single-pair prior of provenance v3); expected an object "
                "{family_not_on_file, child_not_on_file}: the prior mass of 'not on file' on each side, each "
                "0 < p < 1; fix: e.g. {\"family_not_on_file\": 0.5}"
            )
        return value

    @field_validator("table_id")
    @classmethod
    def _known_table(cls, value: str) -> str:
        if value not in BUNDLED_TABLES and not Path(value).is_file():
            raise ValueError(
                f"table_id = {value!r} is neither a bundled table ({', '.join(BUNDLED_TABLES)}) nor an "
                "existing file; give a bundled id or the path of a long CSV (locus, allele, frequency)"
            )
        return value

    @classmethod
    def of(cls, value: "MatchParameters | Mapping[str, Any] | None") -> "MatchParameters":
        """``value`` itself, or the parameters built from a mapping of fields (None: defaults).

        The match flow takes its parameters as a mapping from a deployment run or the Prefect
        form, and as an object from Python callers; both end here.

        Raises
        ------
        ReuniteInputError
            As the constructor; also when ``value`` is neither.
        """
        if isinstance(value, cls):
            return value
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ReuniteInputError(
                f"match parameters {value!r}; expected a MatchParameters or a mapping of its fields "
                f"({', '.join(cls.model_fields)})"
            )
        return cls(**value)

    @property
    def mutation_model(self) -> MutationModel:
        """The run's :class:`~kinship.genetics.mutation.MutationModel` (built and checked once)."""
        return self.mutation._model

    def as_dict(self) -> dict:
        """The parameters a run's numbers depend on, for the provenance's ``parameters``.

        Every field but ``shard_size``; ``mutation`` as ``MutationModel.as_dict()``; and the
        conclusion thresholds and rules in force (``thresholds``).
        """
        d = self.model_dump(exclude={"shard_size"})
        d["mutation"] = self.mutation_model.as_dict()
        d["thresholds"] = {
            "support_cpi": 10.0**SUPPORT_LOG10_CPI,
            "exclusion_cpi": 10.0**EXCLUSION_LOG10_CPI,
            "exclusion_n_inconsistent": EXCLUSION_N_INCONSISTENT,
            "rules": "GB/T 37223-2018 / SF/Z JD0105001-2016",
            "families_without_a_parent": (
                f"support needs CPI >= 10,000 and at most {self.max_expected_unrelated:g} unrelated "
                "candidates expected at or above it; the inconsistent-loci exclusion rule does not apply"
            ),
            "single_parent_families": (
                f"support needs CPI >= 10,000 and at most {self.max_expected_unrelated:g} unrelated "
                "candidates expected at or above it; 3 or more inconsistent loci exclude"
            ),
        }
        return d

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, shard_size: int | None = None) -> "MatchParameters":
        """The parameters a run recorded (:meth:`as_dict`, the provenance's and the store's
        ``parameters``), to repeat its numbers (an on-demand search, a re-run).

        ``thresholds`` is what the code in force concludes with, not a parameter: it is dropped.
        ``shard_size`` is not recorded: the default unless given.

        Raises
        ------
        ReuniteInputError
            The record has per-locus mutation rates (not a run parameter here), or a field that
            is not a parameter, or a value out of range (as the constructor).

        Examples
        --------
        >>> p = MatchParameters(theta=0.01, k=5)
        >>> MatchParameters.from_record(p.as_dict()) == p
        True
        """
        fields = {name: value for name, value in record.items() if name != "thresholds"}
        mutation = dict(fields.get("mutation") or {})
        if mutation.pop("locus_rates", None):
            raise ReuniteInputError(
                "recorded match parameters have per-locus mutation rates; expected the rates of "
                "MutationParameters only (per-locus rates are not a run parameter); fix: give the parameters")
        if "mutation" in fields:
            fields["mutation"] = mutation
        if shard_size is not None:
            fields["shard_size"] = shard_size
        return cls(**fields)


def _options(model: type[BaseModel] = MatchParameters, path: tuple[str, ...] = ()):
    """``(option, path, field)`` of every leaf field: ``--theta``, ``--mutation-rate-male``, ..."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _options(annotation, (*path, name))
        else:
            yield "--" + "-".join((*path, name)).replace("_", "-"), (*path, name), info


def option_fields():
    """``(option, path, field)`` of every leaf field of :class:`MatchParameters`, in order: the
    command-line option (``--theta``, ``--mutation-rate-male``), the field's path in the model
    (``("mutation", "rate_male")``) and its pydantic ``FieldInfo`` (annotation, default,
    description). The one list a command-line front end generates its options from.

    Returns
    -------
    list of (str, tuple of str, pydantic.fields.FieldInfo)
        One entry per leaf field (nested models flattened), in the model's field order.

    Examples
    --------
    >>> [(o, p) for o, p, _ in option_fields()][:3]
    [('--table-id', ('table_id',)), ('--mutation-model', ('mutation', 'model')), ('--mutation-rate-male', ('mutation', 'rate_male'))]
    """
    return list(_options())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one option per field of :class:`MatchParameters` to ``parser`` (nested fields as
    ``--mutation-<field>``), with the field's description and default as help. A bool field is
    a flag pair (``--silent-alleles`` / ``--no-silent-alleles``).

    An option not given is left out of the namespace, so the model's default applies.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> from_arguments(p.parse_args(["--theta", "0.01", "--mutation-rate-male", "0.003"])).theta
    0.01
    >>> from_arguments(p.parse_args(["--silent-alleles"])).silent_alleles
    True
    """
    group = parser.add_argument_group("match parameters (kinship.app.parameters.MatchParameters)")
    for option, _, info in _options():
        default = info.default
        help_text = f"{info.description} Default: {default}.".replace("%", "%%")
        if info.annotation is bool:  # a flag: --silent-alleles / --no-silent-alleles
            group.add_argument(option, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
            continue
        kind = info.annotation if info.annotation in (int, float) else str
        group.add_argument(option, type=kind, default=argparse.SUPPRESS, metavar=kind.__name__.upper(),
                           help=help_text)


def from_arguments(namespace: argparse.Namespace) -> MatchParameters:
    """The :class:`MatchParameters` of the options given on a command line (see :func:`add_arguments`).

    Raises
    ------
    ReuniteInputError
        As the constructor.
    """
    given = vars(namespace)
    fields: dict[str, Any] = {}
    for _, path, _ in _options():
        dest = "_".join(path)
        if dest in given:
            slot = fields
            for part in path[:-1]:
                slot = slot.setdefault(part, {})
            slot[path[-1]] = given[dest]
    return MatchParameters(**fields)

