"""The slot admin's "Change baseline…" page: pick the new baseline, read what it does, give a reason.

The change itself is ``slot_baseline_change``; this module describes it (with the program report's
real arithmetic, see ``selectors.program_report``), asks for confirmation and a reason, and checks
the change permission on slots.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from experiments.models import ProgramSettings, Slot, Variant
from experiments.selectors.program_report import SESSION_MAX_ROWS
from experiments.services.slots import BASELINE_REASON_MAX_CHARS, SlotError, slot_baseline_change


class BaselineChangeForm(forms.Form):
    variant = forms.ModelChoiceField(queryset=Variant.objects.none(), label="New baseline")
    reason = forms.CharField(
        max_length=BASELINE_REASON_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why the baseline changes; kept in the slot's history with your name.",
    )

    def __init__(self, *args, slot: Slot, **kwargs):
        super().__init__(*args, **kwargs)
        variants = Variant.objects.filter(slot=slot).order_by("key")
        if slot.baseline_variant_id is not None:
            variants = variants.exclude(pk=slot.baseline_variant_id)
        self.fields["variant"].queryset = variants


def baseline_change_effects(slot: Slot, new: Variant) -> list[str]:
    """What replacing the slot's baseline with ``new`` does, in words, for the confirmation page."""
    old = slot.baseline_variant.key if slot.baseline_variant else "no variant (no items)"
    holdout = ProgramSettings.load().holdout_share
    lines = [
        f"From the next serving refresh, the global holdout ({holdout:.0%} of shoppers) is served {new.key} "
        f"on slot {slot.key} instead of {old}.",
    ]
    lines.append(
        "An experiment running on this slot keeps serving its own arms, its control included; only "
        "the holdout's share of the slot moves to the new baseline."
    )
    if slot.default_variant is None:
        lines.append(
            f"The slot's default is blank (= the baseline), so shoppers outside the holdout also get "
            f"{new.key} whenever no experiment runs on {slot.key}. Set a default first to keep them on {old}."
        )
    else:
        lines.append(f"Shoppers outside the holdout keep the default {slot.default_variant.key}.")
    if slot.fallback_variant is None:
        lines.append(f"The fallback is blank (= the baseline), so a failed slot is served {new.key} too.")
    else:
        lines.append(f"A failed slot keeps its fallback {slot.fallback_variant.key}.")
    lines += [
        f"Program report: from now on the holdout's decisions on {slot.key} come from {new.key}, so program "
        f"uplift on this slot compares against {new.key}.",
        f"Exposures logged before the change keep {old}, so the holdout figures mix the two baselines: "
        "decisions and CTR count every exposure ever logged, so they stay mixed; conversion, average order "
        f"value and revenue per session read the most recent {SESSION_MAX_ROWS:,} exposures, so they mix "
        f"until {SESSION_MAX_ROWS:,} exposures have been logged after the change. The report names this "
        "change and its date.",
        "The change is kept in the slot's history with your name and reason.",
    ]
    return lines


class BaselineChangeAdminMixin:
    """Adds /<id>/baseline/ to the slot admin."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.baseline_change_view)
        extra = [path("<path:object_id>/baseline/", view, name="experiments_slot_baseline_change")]
        return extra + super().get_urls()

    def baseline_change_view(self, request, object_id: str):
        roles = ("baseline_variant", "default_variant", "fallback_variant")
        slot = get_object_or_404(Slot.objects.select_related(*roles), pk=object_id)
        if not self.has_change_permission(request, slot):
            raise PermissionDenied("Only users who may change slots can change a slot's baseline.")
        change_url = reverse("admin:experiments_slot_change", args=[slot.pk])
        picked = request.GET if "variant" in request.GET else None
        data = request.POST if request.method == "POST" else picked
        form = BaselineChangeForm(data, slot=slot)
        chosen = form.is_valid()
        if chosen and request.method == "POST" and "confirm" in request.POST:
            if not form.cleaned_data["reason"].strip():
                form.add_error("reason", "Write why the baseline changes.")
            else:
                try:
                    slot_baseline_change(
                        slot=slot,
                        variant=form.cleaned_data["variant"],
                        user=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except SlotError as exc:
                    form.add_error(None, exc)
                else:
                    new = form.cleaned_data["variant"].key
                    self.message_user(request, f"Slot {slot.key}: baseline is now {new}.", messages.SUCCESS)
                    return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Change the baseline of slot {slot.key}?",
            "slot": slot,
            "form": form,
            "new_variant": form.cleaned_data["variant"] if chosen else None,
            "effects": baseline_change_effects(slot, form.cleaned_data["variant"]) if chosen else [],
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/experiments/slot/baseline_change.html", context)
