"""The match run's parameter object: one line of ReuniteInputError per bad value, defaults once."""

from __future__ import annotations

import argparse
import json

import pytest

from kinship.app.parameters import MatchParameters, MutationParameters, add_arguments, allowed_range, from_arguments
from kinship.errors import ReuniteInputError
from kinship.genetics.mutation import MutationModel

#: The ``parameters`` of the demo run's provenance, recorded before the parameter object existed
#: (``silent_alleles`` added with provenance v3: false, the behaviour of every run before it;
#: provenance v4: ``prior`` an object, ``thresholds.single_parent_families``, ``y_str``, ``linkage``).
RECORDED_DEMO_PARAMETERS = {
    "silent_alleles": False,
    "frequency_floor": 0.001,
    "k": 10,
    "max_expected_unrelated": 0.01,
    "mutation": {"locus_rates": [], "model": "stepwise", "range": 0.1, "rate2": 1e-06, "rate_female": 0.001,
                 "rate_male": 0.002},
    "prior": {"family_not_on_file": 0.5, "child_not_on_file": 0.5},
    "y_str": {"use": True, "step_ratio": 0.1, "confidence": 0.95, "rates_file": ""},
    "linkage": {"use": True, "map_function": "haldane", "max_distance_cm": 30.0},
    "table_id": "norstr-2023/East Asia",
    "theta": 0.0,
    "threshold": 4.0,
    "thresholds": {
        "exclusion_cpi": 0.0001,
        "exclusion_n_inconsistent": 3,
        "families_without_a_parent": "support needs CPI >= 10,000 and at most 0.01 unrelated candidates "
                                     "expected at or above it; the inconsistent-loci exclusion rule does not apply",
        "rules": "GB/T 37223-2018 / SF/Z JD0105001-2016",
        "single_parent_families": "support needs CPI >= 10,000 and at most 0.01 unrelated candidates "
                                  "expected at or above it; 3 or more inconsistent loci exclude",
        "support_cpi": 10000.0,
    },
}


def _refused(match: str, **fields) -> str:
    with pytest.raises(ReuniteInputError, match=match) as info:
        MatchParameters(**fields)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no pydantic traceback
    return message


def test_a_negative_theta_is_refused():
    _refused(r"^match parameter theta = -0\.1 is out of range; allowed: 0 <= theta < 1$", theta=-0.1)


def test_theta_one_is_refused():
    _refused(r"^match parameter theta = 1 is out of range; allowed: 0 <= theta < 1$", theta=1)


def test_a_prior_above_one_is_refused():
    _refused(r"^match parameter prior\.family_not_on_file = 2\.0 is out of range; allowed: 0 < family_not_on_file < 1$",
             prior={"family_not_on_file": 2.0})


def test_a_prior_of_zero_is_refused():
    _refused(r"^match parameter prior\.child_not_on_file = 0 is out of range; allowed: 0 < child_not_on_file < 1$",
             prior={"child_not_on_file": 0})


def test_a_single_pair_prior_of_old_is_refused_with_the_new_shape():
    _refused(r"^match parameter prior = 0\.002 is one number \(the single-pair prior of provenance v3\); expected an "
             r"object \{family_not_on_file, child_not_on_file\}", prior=0.002)


def test_k_zero_is_refused():
    _refused(r"^match parameter k = 0 is out of range; allowed: k >= 1$", k=0)


def test_a_fractional_k_is_refused():
    _refused(r"^match parameter k = 1\.5 is not valid \(input should be a valid integer.*allowed: k >= 1$", k=1.5)


@pytest.mark.parametrize("field, value, kind", [
    ("k", True, "integer"), ("k", "3", "integer"), ("shard_size", False, "integer"),
    ("theta", "0.1", "number"), ("theta", True, "number"),
    ("threshold", False, "number"),
])
def test_a_bool_or_a_string_is_refused_not_coerced(field, value, kind):
    _refused(rf"^match parameter {field} = {value!r} is not valid \(input should be a valid {kind}\)", **{field: value})


def test_a_string_prior_is_refused_not_coerced():
    _refused(r"^match parameter prior\.family_not_on_file = '0\.5' is not valid \(input should be a valid number\)",
             prior={"family_not_on_file": "0.5"})


def test_a_bool_or_a_string_mutation_rate_is_refused_not_coerced():
    for value in (True, "0.003"):
        _refused(rf"^match parameter mutation\.rate_male = {value!r} is not valid", mutation={"rate_male": value})


def test_json_numbers_are_accepted_an_int_for_a_float_field():
    p = MatchParameters.of(json.loads('{"theta": 0, "k": 3, "threshold": 4, "mutation": {"rate_male": 0}}'))
    assert (p.theta, p.k, p.threshold, p.mutation.rate_male) == (0.0, 3, 4.0, 0.0)
    assert isinstance(p.theta, float) and isinstance(p.threshold, float) and isinstance(p.mutation.rate_male, float)


def test_shard_size_zero_is_refused():
    _refused(r"^match parameter shard_size = 0 is out of range; allowed: shard_size >= 1$", shard_size=0)


def test_an_unknown_table_id_is_refused(tmp_path):
    _refused(r"^match parameter table_id = 'norstr-2099/Mars' is neither a bundled table \(norstr-2023/East Asia, "
             r".*\) nor an existing file; give a bundled id or the path of a long CSV", table_id="norstr-2099/Mars")
    _refused(r"table_id = '.*absent\.csv' is neither", table_id=str(tmp_path / "absent.csv"))


def test_a_table_file_that_exists_is_accepted(tmp_path):
    path = tmp_path / "lab_table.csv"
    path.write_text("locus,allele,frequency\nTH01,6,1.0\n", encoding="utf-8")
    assert MatchParameters(table_id=str(path)).table_id == str(path)


def test_a_bad_mutation_rate_is_refused_by_the_mutation_models_own_check():
    # the message is MutationModel.__post_init__'s, prefixed: the check is reused, not rewritten
    _refused(r"^match parameter mutation rate_male = 2\.0; expected 0 <= rate_male < 1$", mutation={"rate_male": 2.0})
    with pytest.raises(ReuniteInputError, match=r"^mutation rate_female = -0\.1; expected 0 <= rate_female < 1$"):
        MutationModel(rate_female=-0.1)


def test_an_unknown_mutation_model_and_a_bad_step_range_are_refused():
    _refused(r"^match parameter mutation model 'stepwyse' is unknown; expected one of \('none', 'equal', "
             r"'proportional', 'stepwise'\)$", mutation={"model": "stepwyse"})
    _refused(r"^match parameter mutation: stepwise range = 1\.5; expected 0 < range < 1$", mutation={"range": 1.5})
    _refused(r"^match parameter mutation\.rate2 = 'x' is not valid", mutation={"rate2": "x"})


@pytest.mark.parametrize("value", [0, -1.0, float("inf")])
def test_max_expected_unrelated_must_be_positive_and_finite(value):
    _refused(rf"^match parameter max_expected_unrelated = {value!r} is out of range; allowed: "
             r"max_expected_unrelated > 0, finite$", max_expected_unrelated=value)


def test_a_frequency_floor_outside_zero_one_is_refused():
    _refused(r"^match parameter frequency_floor = 0 is out of range; allowed: 0 < frequency_floor < 1$",
             frequency_floor=0)


def test_an_infinite_threshold_is_refused():
    _refused(r"^match parameter threshold = inf is out of range; allowed: finite$", threshold=float("inf"))


def test_an_unknown_field_is_refused():
    _refused(r"^unknown match parameter colour = 'red'; expected one of table_id, mutation, prior, y_str, linkage, frequency_floor, "
             r"k, threshold, theta, max_expected_unrelated, silent_alleles, shard_size$", colour="red")
    _refused(r"^unknown match parameter mutation\.mutation_range = 0\.2; expected one of model, rate_male, "
             r"rate_female, range, rate2$", mutation={"mutation_range": 0.2})


def test_several_bad_values_name_the_first_field_and_list_the_others():
    _refused(r"^match parameter prior\.family_not_on_file = 2\.0 is out of range; allowed: 0 < family_not_on_file < 1 "
             r"\(also invalid: k, theta\)$",
             theta=2, k=0, prior={"family_not_on_file": 2.0})


def test_the_object_is_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        MatchParameters("norstr-2023/Europe")  # positional: refused
    p = MatchParameters()
    with pytest.raises(Exception, match="frozen"):
        p.theta = 0.5


def test_defaults_round_trip_to_what_the_demo_run_recorded():
    assert json.loads(json.dumps(MatchParameters().as_dict())) == RECORDED_DEMO_PARAMETERS
    assert "shard_size" not in MatchParameters().as_dict()  # it changes no number


def test_mutation_defaults_are_the_mutation_models():
    assert MatchParameters().mutation_model == MutationModel()
    built = MatchParameters(mutation={"model": "equal", "rate_male": 0.003}).mutation_model
    assert built == MutationModel("equal", 0.003)


def test_of_takes_an_object_a_mapping_or_nothing():
    p = MatchParameters(theta=0.01)
    assert MatchParameters.of(p) is p
    assert MatchParameters.of({"theta": 0.01}) == p
    assert MatchParameters.of(None) == MatchParameters()
    with pytest.raises(ReuniteInputError, match=r"^match parameters 0\.01; expected a MatchParameters or a mapping"):
        MatchParameters.of(0.01)
    with pytest.raises(ReuniteInputError, match=r"^match parameter theta = 1 is out of range"):
        MatchParameters.of({"theta": 1})


def test_every_field_is_described_with_its_allowed_range():
    for model in (MatchParameters, MutationParameters):
        for name, info in model.model_fields.items():
            assert info.description and len(info.description) > 40, name
            allowed = allowed_range(model, name)
            if allowed and allowed != "finite":
                assert allowed in info.description, (name, allowed)
    for name in ("rate_male", "rate_female", "rate2"):  # checked by MutationModel, stated for the reader
        assert f"0 <= {name} < 1" in MutationParameters.model_fields[name].description


def test_command_line_options_are_generated_from_the_fields():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help()
    for option in ("--table-id", "--mutation-model", "--mutation-rate-male", "--mutation-rate-female",
                   "--mutation-range", "--mutation-rate2", "--prior-family-not-on-file", "--prior-child-not-on-file", "--y-str-use", "--y-str-step-ratio",
                   "--y-str-confidence", "--y-str-rates-file", "--frequency-floor", "--k", "--threshold",
                   "--theta", "--max-expected-unrelated", "--silent-alleles", "--no-silent-alleles",
                   "--shard-size"):
        assert option in text, option
    assert from_arguments(parser.parse_args([])) == MatchParameters()
    p = from_arguments(parser.parse_args(["--theta", "0.01", "--mutation-rate-male", "0.003", "--k", "3"]))
    assert (p.theta, p.mutation.rate_male, p.k) == (0.01, 0.003, 3)
    with pytest.raises(ReuniteInputError, match=r"^match parameter theta = 1\.0 is out of range"):
        from_arguments(parser.parse_args(["--theta", "1"]))


def test_silent_alleles_is_a_flag_off_by_default_and_a_strict_bool():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert MatchParameters().silent_alleles is False
    assert from_arguments(parser.parse_args(["--silent-alleles"])).silent_alleles is True
    assert from_arguments(parser.parse_args(["--no-silent-alleles"])).silent_alleles is False
    assert "silent_alleles" not in vars(parser.parse_args([]))  # not given: the model's default
    with pytest.raises(SystemExit):  # a flag takes no value
        parser.parse_args(["--silent-alleles", "yes"])
    _refused(r"^match parameter silent_alleles = 'yes' is not valid \(input should be a valid boolean\)",
             silent_alleles="yes")
    assert MatchParameters(silent_alleles=True).as_dict()["silent_alleles"] is True


def test_linkage_parameters_are_checked_and_reach_the_command_line():
    _refused(r"^match parameter linkage\.max_distance_cm = 0 is out of range; allowed: 0 < max_distance_cm <= 200$",
             linkage={"max_distance_cm": 0})
    _refused(r"linkage\.map_function = 'morgan'", linkage={"map_function": "morgan"})
    p = argparse.ArgumentParser()
    add_arguments(p)
    got = from_arguments(p.parse_args(["--no-linkage-use", "--linkage-map-function", "kosambi",
                                       "--linkage-max-distance-cm", "15"]))
    assert got.linkage.model_dump() == {"use": False, "map_function": "kosambi", "max_distance_cm": 15.0}
