"""The admin index's "Needs attention" panel reads its experiments through this tag."""

from django import template

from experiments.selectors.experiment_overview import experiments_needing_attention

register = template.Library()


@register.simple_tag
def needing_attention() -> list[dict]:
    return experiments_needing_attention()
