"""Forms of the experiment admin: configuration checks and the arms formset's lifecycle rules."""

from django import forms
from django.core.exceptions import ValidationError

from experiments.models import Arm, Experiment, Guardrail, Slot, Variant
from experiments.models.experiments import Status
from experiments.selectors.guardrail_rules import guardrail_rule_problem
from experiments.services.experiments import (
    GUARDRAIL_OVERRIDE_REASON_MAX,
    ArmSpec,
    ExperimentError,
    experiment_validate_arms,
)
from experiments.services.guardrail_breaches import guardrail_breach_words

from .history import arm_words

# Fields a merchandiser may still tune once traffic flows; everything else is fixed at start.
# The guardrail rows (GuardrailInline) stay editable too until the experiment concludes.
LIVE_EDITABLE_FIELDS = (
    "auto_conclude",
    "max_samples",
    "prob_best_threshold",
    "expected_loss_epsilon",
    "revenue_loss_epsilon",
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
            "revenue_loss_epsilon",
            "max_samples",
            "minimum_detectable_effect",
            "discount_half_life_epochs",
            "auto_conclude",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "minimum_detectable_effect" in self.fields:
            # Optional in the form: a blank (or an older form without the field) keeps the default.
            self.fields["minimum_detectable_effect"].required = False
        # Blank keeps the default: an experiment on a rate metric never uses it.
        if "revenue_loss_epsilon" in self.fields:
            self.fields["revenue_loss_epsilon"].required = False

    def clean_minimum_detectable_effect(self):
        value = self.cleaned_data.get("minimum_detectable_effect")
        if value is None:
            return Experiment._meta.get_field("minimum_detectable_effect").get_default()
        return value

    def clean_revenue_loss_epsilon(self):
        value = self.cleaned_data.get("revenue_loss_epsilon")
        if value is None:
            return (
                self.instance.revenue_loss_epsilon
                or Experiment._meta.get_field("revenue_loss_epsilon").default
            )
        if value <= 0:
            raise ValidationError("The stopping rule needs a revenue expected-loss epsilon above 0.")
        return value

    def clean_expected_loss_epsilon(self):
        value = self.cleaned_data["expected_loss_epsilon"]
        if value <= 0:
            raise ValidationError("The stopping rule needs an expected-loss epsilon above 0.")
        return value


def variant_choices_limit(field: forms.ModelChoiceField, slot: Slot | None) -> None:
    """Offer an arm only the variants of the experiment's slot.

    Before a slot is chosen (a fresh add page) every variant is offered, grouped under its slot's
    key, so the page still works without a reload or script and a merchandiser who picks the slot
    afterwards sees which variants go with it (the change form's script then hides the other
    slots' groups). Forcing a separate "pick the slot first" step would cost every new experiment
    a page for the rare case of a wrong pick, which the formset still catches with a sentence.
    Once the slot is known (a posted form, ``?slot=`` on the add page, a saved draft) only its
    variants are valid choices.
    """
    if slot is not None:
        field.queryset = Variant.objects.filter(slot=slot).order_by("key")
        field.error_messages["invalid_choice"] = (
            f"That variant does not belong to slot {slot.key}: pick one of its variants."
        )
        return
    groups: dict[str, list[tuple[int, str]]] = {}
    for variant in field.queryset.select_related("slot").order_by("slot__key", "key"):
        groups.setdefault(variant.slot.key, []).append((variant.pk, variant.key))
    field.choices = [("", field.empty_label or ""), *groups.items()]


class ArmFormSet(forms.BaseInlineFormSet):
    """Arms as a whole: at least two, one control, all of the experiment's slot; frozen after start.

    ``slot`` is the slot the arms are chosen for, set per request by the admin's inline (the posted
    or requested slot, else the experiment's); None before one is chosen.
    """

    slot: Slot | None = None

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "variant" in form.fields:  # absent when the arms are frozen (read-only)
            variant_choices_limit(form.fields["variant"], self.slot)

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


class GuardrailForm(forms.ModelForm):
    """One guardrail row; the bounds are the model's, with messages a merchandiser can act on."""

    tolerance = forms.FloatField(
        initial=0.05,
        min_value=0.0,
        max_value=0.99,
        help_text=Guardrail._meta.get_field("tolerance").help_text,
        error_messages={
            "min_value": "A tolerance is a relative drop of at least 0, e.g. 0.05 for 5%%.",
            "max_value": "A tolerance is a relative drop below 1 (at most 0.99), e.g. 0.05 for 5%%.",
            "invalid": "A tolerance is a number, e.g. 0.05 for 5%.",
            "required": "Give a tolerance, e.g. 0.05 for 5%.",
        },
    )
    breach_probability = forms.FloatField(
        initial=0.95,
        min_value=0.5,
        max_value=0.9999,
        help_text=Guardrail._meta.get_field("breach_probability").help_text,
        error_messages={
            "min_value": "A breach probability is at least 0.5: below that a breach is a coin toss.",
            "max_value": "A breach probability is at most 0.9999.",
            "invalid": "A breach probability is a number, e.g. 0.95.",
            "required": "Give a breach probability, e.g. 0.95.",
        },
    )

    class Meta:
        model = Guardrail
        fields = ("metric", "tolerance", "breach_probability")
        error_messages = {"metric": {"invalid_choice": "Pick a metric from the list."}}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problem = guardrail_rule_problem(Guardrail(**{k: data.get(k) for k in self.Meta.fields}))
        if problem:
            raise ValidationError(problem)
        return data


class GuardrailFormSet(forms.BaseInlineFormSet):
    """Guardrail rows: one per metric."""

    def rules(self) -> list[dict]:
        return [
            {k: f.cleaned_data[k] for k in GuardrailForm.Meta.fields}
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("metric")
        ]

    def clean(self):
        # Before the formset's own unique check, whose message names a field but not the rule.
        if not any(self.errors):
            metrics = [rule["metric"] for rule in self.rules()]
            repeated = sorted({m for m in metrics if metrics.count(m) > 1})
            if repeated:
                raise ValidationError(
                    f"Each metric takes one guardrail; {', '.join(repeated)} is listed more than once.",
                    code="guardrail_metric_repeated",
                )
        super().clean()


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

    guardrail_override = forms.BooleanField(
        required=False,
        label="Promote despite the breached guardrail",
        help_text="The winner breached a guardrail: tick this only if you have checked the metric.",
    )
    guardrail_override_reason = forms.CharField(
        required=False,
        max_length=GUARDRAIL_OVERRIDE_REASON_MAX,
        label="Why promote it anyway",
        help_text="Recorded in the audit history of the experiment, the arm and the slot.",
    )

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        arms = experiment.arms.select_related("variant").order_by("key")
        self.fields["winner"].queryset = arms
        self.fields["winner"].label_from_instance = arm_words
        self.guardrail_breaches = [guardrail_breach_words(a) for a in arms if a.guardrail_breached_at]
        if not self.guardrail_breaches:  # the override is offered only when there is something to override
            del self.fields["guardrail_override"], self.fields["guardrail_override_reason"]

    def clean(self):
        data = super().clean()
        winner = data.get("winner")
        if data.get("promote") and not winner:
            raise ValidationError("Pick a winner to promote, or untick promote.")
        if data.get("promote") and winner.guardrail_breached_at and "guardrail_override" in self.fields:
            if not data.get("guardrail_override"):
                raise ValidationError(
                    f"{guardrail_breach_words(winner)}: tick the override and give a reason to promote it "
                    "anyway, or untick promote."
                )
            if not (data.get("guardrail_override_reason") or "").strip():
                raise ValidationError("Give the reason for promoting past the breached guardrail.")
        return data

    def override_reason(self) -> str:
        """The reason to pass to ``experiment_conclude``: empty unless the override was ticked."""
        if not self.cleaned_data.get("guardrail_override"):
            return ""
        return self.cleaned_data.get("guardrail_override_reason", "").strip()
