"""Serializers that document the analyst report payloads in the OpenAPI schema.

The views return the plain dicts of ``experiments.selectors.reports`` and
``experiments.selectors.program_report``; these classes only describe them for drf-spectacular.
Rates and probabilities are fractions (0.05 = 5%); uplift is relative (0.1 = +10%).
"""

from rest_framework import serializers

from experiments.domain.arm_summary import ARM_FIELDS, ArmField
from experiments.domain.experiment_state import STATE_LABELS
from experiments.models.experiments import Policy, RandomizationUnit, RewardMetric, Status


def _nullable_float(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _floats(help_text: str, *, nullable_items: bool = False) -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(allow_null=nullable_items), help_text=help_text)


class ExperimentSummarySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Experiment key.")
    slot = serializers.CharField(help_text="Key of the slot the experiment runs on.")
    status = serializers.ChoiceField(choices=Status.choices, help_text="Lifecycle state.")
    policy = serializers.ChoiceField(choices=Policy.choices, help_text="How traffic is allocated to arms.")
    reward_metric = serializers.ChoiceField(
        choices=RewardMetric.choices, help_text="The outcome the bandit optimises."
    )
    allocation_version = serializers.IntegerField(help_text="Number of allocations published so far.")
    started_at = serializers.DateTimeField(allow_null=True, help_text="When it started; null while a draft.")
    concluded_at = serializers.DateTimeField(allow_null=True, help_text="When it concluded; null until then.")
    winner = serializers.CharField(
        allow_null=True, help_text="Key of the winning arm, null until one is chosen."
    )
    id = serializers.IntegerField(help_text="Database id (the admin's change page).")
    leader = serializers.CharField(
        allow_null=True,
        help_text="Variant of the arm with the highest P(best); null before the first allocation.",
    )
    leader_arm = serializers.CharField(allow_null=True, help_text="Key of the leading arm.")
    leader_is_control = serializers.BooleanField(help_text="True when the control leads.")
    prob_best = _nullable_float("The leader's P(best).")
    uplift = _nullable_float("The leader's relative uplift vs control; null when the control leads.")
    uplift_ci_low = _nullable_float("Lower end of the uplift's 95% credible interval.")
    uplift_ci_high = _nullable_float("Upper end of the uplift's 95% credible interval.")
    traffic_share = _nullable_float(
        "Share of all the slot's shoppers the leader gets (its weight after the global holdout); "
        "0 unless running, since a draft, paused or concluded experiment serves nothing."
    )
    decisions = serializers.IntegerField(help_text="Decisions so far: the arms' trials summed.")
    state = serializers.ChoiceField(
        choices=list(STATE_LABELS), help_text="Machine state, to filter by (?state=)."
    )
    state_label = serializers.CharField(help_text="The state's name for people.")
    stopping_state = serializers.CharField(
        help_text='The stopping state in words, e.g. "keep going: needs 95%, has 56.0%".'
    )
    srm_mismatch = serializers.BooleanField(help_text="A fixed split's sample-ratio check failed.")
    guardrail_breaches = serializers.ListField(
        child=serializers.CharField(), help_text='Arms flagged by a guardrail, e.g. "als-v3 on click".'
    )
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="When the latest allocation snapshot, which every figure comes from, was taken.",
    )


class GuardrailBreachSerializer(serializers.Serializer):
    metric = serializers.CharField(help_text="The guardrail metric the arm breached first.")
    tolerance = serializers.FloatField(help_text="The rule's tolerance: relative drop vs control.")
    threshold = serializers.FloatField(help_text="The rule's breach probability.")
    prob_worse = serializers.FloatField(help_text="P(worse than control beyond the tolerance) at the breach.")
    allocation_version = serializers.IntegerField(help_text="First allocation version that held the arm.")
    since = serializers.DateTimeField(help_text="When the breach was recorded.")


def _arm_field(field: ArmField) -> serializers.Field:
    """The serializer field of one arm summary key (``experiments.domain.arm_summary.ARM_FIELDS``)."""
    options = {"help_text": field.help, "allow_null": field.nullable, "required": not field.optional}
    if field.key == "guardrail_breach":
        return GuardrailBreachSerializer(**options)
    kinds = {
        "text": serializers.CharField,
        "bool": serializers.BooleanField,
        "integer": serializers.IntegerField,
        "number": serializers.FloatField,
    }
    return kinds[field.kind](**options)


# Built from the arm summary's field list, so the schema documents exactly the row the report builds.
ReportArmSerializer = type(
    "ReportArmSerializer",
    (serializers.Serializer,),
    {f.key: _arm_field(f) for f in ARM_FIELDS},
)


class FiguresAsOfSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=["snapshot", "now"],
        help_text="snapshot: P(best), expected loss, uplift and the stopping verdict are those of the latest "
        "allocation, which set the current weights; now: no allocation has run yet, so they are drawn now.",
    )
    allocation_version = serializers.IntegerField(
        allow_null=True, help_text="The allocation version they come from; null when drawn now."
    )
    created_at = serializers.DateTimeField(
        allow_null=True, help_text="When that allocation ran; null when now."
    )
    impressions_since = serializers.IntegerField(
        help_text="Impressions over all arms since that allocation (0 when drawn now)."
    )
    text = serializers.CharField(help_text="The same in words, as the report page shows it.")


STOPPING_REASONS = ["confident", "max_samples", "continue"]


class StoppingSerializer(serializers.Serializer):
    stop = serializers.BooleanField(help_text="True when the stopping rule says stop.")
    reason = serializers.ChoiceField(
        choices=STOPPING_REASONS,
        help_text="confident: a clear winner; max_samples: cap reached, inconclusive; continue: keep going.",
    )
    winner = serializers.CharField(allow_null=True, help_text="Arm key of the confident winner, else null.")
    leader = serializers.CharField(
        allow_null=True,
        help_text="Arm key with the highest P(best) so far among the arms allowed to lead; null when "
        "none is (revenue: every arm is below the minimum number of purchases).",
    )
    inconclusive = serializers.BooleanField(help_text="True when stopped at the cap without a clear winner.")
    summary = serializers.CharField(
        help_text="The verdict in plain words, with P(best) and expected loss formatted as the report's arm "
        "table shows them; it says so when the experiment is paused or concluded."
    )
    threshold = serializers.FloatField(help_text="P(best) the rule needs.")
    epsilon = serializers.FloatField(
        help_text="Largest acceptable expected loss in the metric's own unit: a rate for click, "
        "add-to-cart and purchase; currency per impression for revenue."
    )
    epsilon_unit = serializers.ChoiceField(
        choices=["rate", "currency_per_impression"], help_text="The unit of epsilon."
    )
    epsilon_text = serializers.CharField(
        help_text="Epsilon in words: percentage points of a rate, or currency per impression."
    )
    min_purchases = serializers.IntegerField(
        help_text="Revenue: purchases an arm needs before it can lead, stop the test or be promoted; "
        "0 otherwise."
    )
    auto_conclude = serializers.BooleanField(help_text="Whether the experiment concludes itself on a stop.")
    guardrail_breached = serializers.BooleanField(
        help_text="True when the winner breached a guardrail: it is not concluded or promoted by itself."
    )


class GuardrailArmSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="Arm key.")
    prob_worse = serializers.FloatField(
        help_text="P(worse than control beyond the tolerance); 0 for control."
    )
    breach = serializers.BooleanField(help_text="True when prob_worse reaches the breach probability.")


class GuardrailSerializer(serializers.Serializer):
    metric = serializers.CharField(help_text="Guarded metric, as configured on the experiment.")
    breach = serializers.BooleanField(
        help_text="True when any arm breaches on today's data; false for an unchecked rule. An arm's"
        " sticky flag is its guardrail_breach."
    )
    tolerance = serializers.FloatField(
        required=False, help_text="Relative drop vs control counted as worse; absent for an unchecked rule."
    )
    breach_probability = serializers.FloatField(
        required=False, help_text="Certainty needed to call a breach; absent for an unchecked rule."
    )
    arms = GuardrailArmSerializer(many=True, required=False, help_text="Per arm; absent if unchecked.")
    note = serializers.CharField(
        required=False, help_text="Present only for a rule that was not checked: why it was not."
    )


class EpochArmSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="Arm key.")
    stratified_rate = _nullable_float("Rate averaged over allocation epochs; null when undefined.")
    pooled_rate = _nullable_float("All trials pooled; null when undefined.")
    stratified_uplift = _nullable_float(
        "Epoch-stratified uplift vs control; null for the control or an arm without data."
    )
    stratified_uplift_ci_low = _nullable_float("Lower end of its 95% interval; null as stratified_uplift.")
    stratified_uplift_ci_high = _nullable_float("Upper end of its 95% interval; null as stratified_uplift.")
    pooled_uplift = _nullable_float("Pooled uplift vs control; null for the control or an arm without data.")
    pooled_uplift_ci_low = _nullable_float("Lower end of its 95% interval; null as pooled_uplift.")
    pooled_uplift_ci_high = _nullable_float("Upper end of its 95% interval; null as pooled_uplift.")


class EpochsSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="False when no epoch supports the estimates yet.")
    note = serializers.CharField(
        help_text="Why it is unavailable; else that pooled and stratified agree (each uplift within the "
        "other's 95% interval), or one sentence on which arms differ and why."
    )
    epochs = serializers.IntegerField(
        required=False, help_text="Allocation epochs with traffic; when available."
    )
    arms = EpochArmSerializer(many=True, required=False, help_text="Per arm; when available.")
    disagree = serializers.BooleanField(
        required=False,
        help_text="True when an arm's pooled and stratified uplift are not each within the other's 95% "
        "interval; when available.",
    )


class SampleRatioSerializer(serializers.Serializer):
    p_value = _nullable_float("Chi-square p-value of the observed split against the intended one.")
    mismatch = serializers.BooleanField(
        help_text="True when p_value < alpha: assignment or logging is broken."
    )
    alpha = serializers.FloatField(help_text="Alarm level of the check.")
    observed_share = _floats("Observed share of trials per arm, in arm order.")
    intended_share = _floats("Intended share per arm, in arm order.")


class SequentialTestSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="Arm key (the control has no row).")
    difference = _nullable_float("Rate difference arm - control.")
    ci_low = _nullable_float("Lower end of the always-valid (mSPRT) interval of the difference.")
    ci_high = _nullable_float("Upper end of the always-valid (mSPRT) interval of the difference.")
    p_value = _nullable_float("Always-valid p-value.")
    reject = serializers.BooleanField(help_text="True when the difference is significant.")


class FixedSplitSerializer(serializers.Serializer):
    srm = SampleRatioSerializer(allow_null=True, help_text="Sample-ratio check; null when it cannot run.")
    srm_note = serializers.CharField(required=False, help_text="Why the sample-ratio check could not run.")
    sequential = SequentialTestSerializer(many=True, help_text="Per non-control arm; empty for revenue.")
    mde = serializers.FloatField(
        required=False, help_text="Minimum detectable effect (absolute difference of rates); the mSPRT's tau."
    )
    mde_note = serializers.CharField(
        required=False, help_text="The power trade-off of that setting, in words."
    )


class OffPolicyArmSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="Arm key.")
    decisions = serializers.IntegerField(help_text="Logged decisions that served this arm.")
    naive = _nullable_float("Mean reward of the arm's decisions; null without any.")
    ips = _nullable_float("IPS value of always serving the arm; null without decisions.")
    snips = _nullable_float("SNIPS value of always serving the arm; null without decisions.")
    snips_ci_low = _nullable_float("Lower end of the bootstrap 95% interval of SNIPS; null if unavailable.")
    snips_ci_high = _nullable_float("Upper end of the bootstrap 95% interval of SNIPS; null if unavailable.")


class OffPolicySerializer(serializers.Serializer):
    decisions = serializers.IntegerField(help_text="Logged decisions read (the most recent ones, capped).")
    explanation = serializers.CharField(help_text="How to read naive, IPS and SNIPS.")
    arms = OffPolicyArmSerializer(many=True, help_text="Per arm.")


class HistorySeriesSerializer(serializers.Serializer):
    allocation_version = serializers.ListField(
        child=serializers.IntegerField(), help_text="Allocation version of each snapshot."
    )
    created_at = serializers.ListField(child=serializers.DateTimeField(), help_text="Time of each snapshot.")
    weight = serializers.DictField(
        child=_floats("Weight at each snapshot."), help_text="Free-form: keyed by arm key, one list per arm."
    )
    prob_best = serializers.DictField(
        child=_floats("P(best) at each snapshot."), help_text="Free-form: keyed by arm key, one list per arm."
    )
    cumulative_trials = serializers.ListField(
        child=serializers.IntegerField(), help_text="Trials over all arms at each snapshot."
    )
    cumulative_reward = serializers.ListField(
        child=serializers.IntegerField(), help_text="Successes over all arms at each snapshot."
    )
    even_split_reward = _floats("Successes an even split would have earned at each snapshot.")


class HistorySerializer(serializers.Serializer):
    series = HistorySeriesSerializer(help_text="Time series, one entry per snapshot, oldest first.")
    cumulative_reward = serializers.IntegerField(help_text="Successes over all arms now.")
    even_split_reward = serializers.FloatField(help_text="Successes an even split would have earned now.")
    saved_vs_even_split = serializers.FloatField(help_text="cumulative_reward - even_split_reward.")
    saved_in_words = serializers.CharField(help_text="saved_vs_even_split in plain words.")


class DensityArmSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="Arm key.")
    density = _floats("Density at each x; null where not finite.", nullable_items=True)


class DensitiesSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["rate", "revenue_per_impression"],
        help_text="rate: exact Beta pdf; revenue_per_impression: histogram of posterior draws.",
    )
    x = _floats("Points where each density is given.")
    arms = DensityArmSerializer(many=True, help_text="Per arm.")


_NEEDS_POSTERIORS = " Absent while an arm has no posterior."


class ExperimentReportSerializer(serializers.Serializer):
    experiment = serializers.CharField(help_text="Experiment key.")
    slot = serializers.CharField(help_text="Key of the slot the experiment runs on.")
    status = serializers.ChoiceField(choices=Status.choices, help_text="Lifecycle state.")
    policy = serializers.ChoiceField(choices=Policy.choices, help_text="How traffic is allocated to arms.")
    reward_metric = serializers.ChoiceField(
        choices=RewardMetric.choices, help_text="The outcome the bandit optimises."
    )
    randomization_unit = serializers.ChoiceField(
        choices=RandomizationUnit.choices,
        help_text="What is randomized; session and user units are analysed per unit (cluster-robust).",
    )
    allocation_version = serializers.IntegerField(help_text="Number of allocations published so far.")
    winner = serializers.CharField(
        allow_null=True, help_text="Key of the winning arm, null until one is chosen."
    )
    winner_variant = serializers.CharField(
        allow_null=True, help_text="The winning arm's variant, null as winner."
    )
    concluded_at = serializers.DateTimeField(allow_null=True, help_text="When it concluded; null until then.")
    currency = serializers.CharField(help_text="The shop's currency (SHOP_CURRENCY) of every money figure.")
    arms = ReportArmSerializer(many=True, help_text="Per arm, by key; empty while an arm has no posterior.")
    figures_as_of = FiguresAsOfSerializer(
        required=False, help_text="Where P(best), expected loss and uplift come from." + _NEEDS_POSTERIORS
    )
    control_arm = serializers.CharField(
        required=False,
        help_text="Key of the arm uplift is measured against: the control, or the first arm by key"
        " when none is marked control." + _NEEDS_POSTERIORS,
    )
    allocation_draws = serializers.IntegerField(
        required=False, help_text="Monte Carlo draws per allocation." + _NEEDS_POSTERIORS
    )
    report_draws = serializers.IntegerField(
        required=False, help_text="Monte Carlo draws behind this report." + _NEEDS_POSTERIORS
    )
    holdout_share = serializers.FloatField(
        required=False, help_text="Share of shoppers in the global holdout." + _NEEDS_POSTERIORS
    )
    order_value_cap = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Revenue experiments: order values above this (REVENUE_VALUE_CAP_QUANTILE of the shop's"
        " orders) count at it in every decision figure; null when there is no order history.",
    )
    order_value_cap_quantile = serializers.FloatField(
        required=False, help_text="Revenue experiments: the quantile of the shop's orders the cap is at."
    )
    stopping = StoppingSerializer(required=False, help_text="Stopping rule verdict." + _NEEDS_POSTERIORS)
    guardrails = GuardrailSerializer(
        many=True, required=False, help_text="One entry per configured guardrail." + _NEEDS_POSTERIORS
    )
    epochs = EpochsSerializer(
        required=False, help_text="Epoch-stratified vs pooled estimates." + _NEEDS_POSTERIORS
    )
    fixed_split = FixedSplitSerializer(
        required=False,
        allow_null=True,
        help_text="Fixed-split checks; null unless the policy is fixed." + _NEEDS_POSTERIORS,
    )
    off_policy = OffPolicySerializer(
        required=False, help_text="Off-policy value of always serving each arm." + _NEEDS_POSTERIORS
    )
    history = HistorySerializer(
        required=False, help_text="The experiment over its allocation snapshots." + _NEEDS_POSTERIORS
    )
    densities = DensitiesSerializer(
        required=False, help_text="Posterior density curves for charts." + _NEEDS_POSTERIORS
    )


class GroupCountsSerializer(serializers.Serializer):
    holdout = serializers.IntegerField(help_text="In the global holdout.")
    program = serializers.IntegerField(help_text="Served by the program (experiments and default serving).")


class RateMetricSerializer(serializers.Serializer):
    holdout = _nullable_float("Holdout rate; null without trials.")
    program = _nullable_float("Program rate; null without trials.")
    uplift = _nullable_float("Posterior mean uplift of program vs holdout; null without data in both.")
    ci_low = _nullable_float("Lower end of the 95% credible interval of the uplift.")
    ci_high = _nullable_float("Upper end of the 95% credible interval of the uplift.")
    prob_better = serializers.FloatField(
        required=False, help_text="P(program beats holdout); present only with an uplift."
    )
    label = serializers.CharField(help_text="The metric in words, with its unit.")
    unit = serializers.ChoiceField(choices=["rate", "currency"], help_text="rate (a share) or currency.")
    measurable = serializers.BooleanField(
        help_text="False when the holdout has fewer of the outcomes it counts than min_holdout_outcomes."
    )
    holdout_outcomes = serializers.IntegerField(
        help_text="The holdout's clicks (CTR) or purchasing sessions (the other metrics)."
    )


class ValueMetricSerializer(serializers.Serializer):
    holdout = _nullable_float("Holdout mean per session; null without sessions.")
    program = _nullable_float("Program mean per session; null without sessions.")
    uplift = _nullable_float("program / holdout - 1; null without data in both or a zero holdout.")
    ci_low = _nullable_float("Lower end of the bootstrap 95% interval of the uplift.")
    ci_high = _nullable_float("Upper end of the bootstrap 95% interval of the uplift.")
    label = serializers.CharField(help_text="The metric in words, with its unit.")
    unit = serializers.ChoiceField(choices=["rate", "currency"], help_text="rate (a share) or currency.")
    measurable = serializers.BooleanField(
        help_text="False when the holdout has fewer of the outcomes it counts than min_holdout_outcomes."
    )
    holdout_outcomes = serializers.IntegerField(
        help_text="The holdout's clicks (CTR) or purchasing sessions (the other metrics)."
    )


class ProgramMetricsSerializer(serializers.Serializer):
    ctr = RateMetricSerializer(help_text="Clicks per decision.")
    conversion = RateMetricSerializer(help_text="Sessions with a purchase.")
    average_order_value = ValueMetricSerializer(help_text="Revenue per purchasing session.")
    revenue_per_session = ValueMetricSerializer(help_text="Attributed revenue per session.")


class SlotBaselineSerializer(serializers.Serializer):
    slot = serializers.CharField(help_text="Slot key.")
    variant = serializers.CharField(
        allow_null=True, help_text="The slot's baseline variant; null = none set, the holdout gets no items."
    )


class BaselineChangeSerializer(serializers.Serializer):
    slot = serializers.CharField(help_text="Slot key.")
    # "from" is a Python keyword, so these two are declared by name below.
    to = serializers.CharField(allow_null=True, help_text="The new baseline variant.")
    at = serializers.DateTimeField(help_text="When the baseline changed.")
    by = serializers.CharField(allow_null=True, help_text="Who changed it.")
    reason = serializers.CharField(allow_null=True, help_text="The reason given.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            allow_null=True, help_text="The baseline before; null = the slot had none."
        )
        return fields


class ProgramWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable code, e.g. holdout_too_small.")
    metric = serializers.CharField(allow_null=True, help_text="The metric it is about.")
    message = serializers.CharField(help_text="What it means, in words.")


class CtrOverTimeSerializer(serializers.Serializer):
    time = serializers.ListField(child=serializers.DateTimeField(), help_text="End of each time slice.")
    holdout = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="Cumulative CTR."
    )
    program = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="Cumulative CTR."
    )


class SlotCtrSerializer(serializers.Serializer):
    slot = serializers.CharField(help_text="Slot key.")
    baseline = serializers.CharField(allow_null=True, help_text="The slot's baseline variant.")
    holdout_decisions = serializers.IntegerField(required=False)
    holdout_ctr = serializers.FloatField(required=False, allow_null=True)
    program_decisions = serializers.IntegerField(required=False)
    program_ctr = serializers.FloatField(required=False, allow_null=True)


class ProgramReportSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(help_text="When these figures were computed.")
    data_from = serializers.DateTimeField(allow_null=True, help_text="Oldest decision the report reads.")
    data_to = serializers.DateTimeField(allow_null=True, help_text="Newest decision the report reads.")
    currency = serializers.CharField(help_text="The shop's currency (ISO 4217).")
    min_holdout_outcomes = serializers.IntegerField(
        help_text="Outcomes the holdout needs before a metric counts as measurable."
    )
    warnings = ProgramWarningSerializer(many=True, help_text="What the report cannot say, and why.")
    ctr_over_time = CtrOverTimeSerializer(help_text="Cumulative CTR of each group over the logged time.")
    slots = SlotCtrSerializer(many=True, help_text="Per slot, decisions and CTR of each group.")
    holdout_share = serializers.FloatField(help_text="Share of shoppers in the global holdout.")
    baselines = SlotBaselineSerializer(
        many=True, help_text="Per slot, the baseline variant the holdout is always served."
    )
    baseline_changes = BaselineChangeSerializer(
        many=True,
        help_text="Baseline changes since the oldest exposure the report reads: the holdout figures "
        "mix the old and new baseline of those slots.",
    )
    decisions = GroupCountsSerializer(help_text="Logged decisions per group.")
    default_serving_decisions = serializers.IntegerField(
        help_text="Program decisions served outside any experiment."
    )
    sessions = GroupCountsSerializer(help_text="Sessions per group (the most recent decisions, capped).")
    metrics = ProgramMetricsSerializer(help_text="Program vs holdout, with uplift.")
