"""Forms of the experiment admin: configuration checks and the arms formset's lifecycle rules."""

from django import forms
from django.core.exceptions import ValidationError

from experiments.models import Arm, Experiment
from experiments.models.experiments import Status
from experiments.services.experiments import ArmSpec, ExperimentError, experiment_validate_arms
from experiments.services.guardrail_rules import guardrail_rule_problem

# Fields a merchandiser may still tune once traffic flows; everything else is fixed at start.
LIVE_EDITABLE_FIELDS = (
    "auto_conclude",
    "guardrails",
    "max_samples",
    "prob_best_threshold",
    "expected_loss_epsilon",
)


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = (
            "key",
            "slot",
            "policy",
            "reward_metric",
            "randomization_unit",
            "exploration_floor",
            "burn_in",
            "prior_alpha",
            "prior_beta",
            "prob_best_threshold",
            "expected_loss_epsilon",
            "max_samples",
            "discount_half_life_epochs",
            "guardrails",
            "auto_conclude",
        )

    def clean_expected_loss_epsilon(self):
        value = self.cleaned_data["expected_loss_epsilon"]
        if value <= 0:
            raise ValidationError("The stopping rule needs an expected-loss epsilon above 0.")
        return value

    def clean_guardrails(self):
        rules = self.cleaned_data.get("guardrails") or []
        if not isinstance(rules, list):
            raise ValidationError('Guardrails are a list, e.g. [{"metric": "revenue", "tolerance": 0.05}].')
        for rule in rules:
            problem = guardrail_rule_problem(rule)
            if problem:
                raise ValidationError(problem)
        return rules


class ArmFormSet(forms.BaseInlineFormSet):
    """Arms as a whole: at least two, one control, all of the experiment's slot; frozen after start."""

    def arm_specs(self) -> list[ArmSpec]:
        return [
            ArmSpec(
                key=f.cleaned_data["key"],
                variant=f.cleaned_data["variant"],
                is_control=f.cleaned_data.get("is_control", False),
                fixed_weight=f.cleaned_data.get("fixed_weight"),
            )
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("variant")
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        experiment = self.instance
        if experiment.pk and experiment.status != Status.DRAFT and self.has_changed():
            raise ValidationError(
                "The arms of a started experiment cannot change: start a new experiment instead.",
                code="arms_frozen",
            )
        if experiment.pk and experiment.status != Status.DRAFT:
            return  # frozen arms were validated when the experiment started
        if experiment.slot_id is None:
            return
        try:
            experiment_validate_arms(slot=experiment.slot, policy=experiment.policy, arms=self.arm_specs())
        except ExperimentError as exc:
            raise ValidationError(exc.messages, code=exc.code) from exc


class ConcludeForm(forms.Form):
    winner = forms.ModelChoiceField(
        queryset=Arm.objects.none(), required=False, empty_label="No winner (inconclusive)"
    )
    promote = forms.BooleanField(
        required=False,
        help_text="Make the winner's variant the slot's default: what shoppers outside the global holdout "
        "get when no experiment runs. The slot's baseline (what the holdout is served and what program "
        "uplift compares against) and its fallback do not change.",
    )

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["winner"].queryset = experiment.arms.select_related("variant").order_by("key")
        self.fields["winner"].label_from_instance = lambda arm: f"{arm.key}: {arm.variant.key}"

    def clean(self):
        data = super().clean()
        if data.get("promote") and not data.get("winner"):
            raise ValidationError("Pick a winner to promote, or untick promote.")
        return data
