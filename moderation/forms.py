"""Forms for the moderation screens and for users' reports and appeals."""

from django import forms
from django.core.exceptions import ValidationError

from .classifiers.rules import validate_pattern
from .models import AccountActionKind, Action, Category, Rule, RuleKind

DECISION_CHOICES = [
    ("approve", "Approve"),
    ("remove", "Remove"),
    ("escalate", "Escalate"),
    ("dismiss", "Dismiss"),
]


class ReportForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        required=False,
        help_text="Optional: what should moderators know?",
    )


class AppealForm(forms.Form):
    text = forms.CharField(
        label="Why was this decision wrong?", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISION_CHOICES)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
        help_text="Required for removals: the author is told.",
    )


class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("uphold", "Uphold the decision"), ("reverse", "Reverse it")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AccountActionForm(forms.Form):
    kind = forms.ChoiceField(label="Action", choices=AccountActionKind.choices)
    days = forms.IntegerField(min_value=0, max_value=3650, initial=7, help_text="0 means until lifted.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RuleForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)
    kind = forms.ChoiceField(choices=RuleKind.choices)
    pattern = forms.CharField(
        max_length=300,
        help_text="Keyword or phrase (matched on normalised text), a regular expression, "
        "or a domain such as spam.example (subdomains included).",
    )
    action = forms.ChoiceField(choices=[(Action.REVIEW, "Hold for review"), (Action.REMOVE, "Remove")])
    enabled = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(max_length=200, required=False)

    @classmethod
    def for_rule(cls, rule: Rule) -> "RuleForm":
        return cls(
            initial={
                f: getattr(rule, f) for f in ("category", "kind", "pattern", "action", "enabled", "note")
            }
        )

    def clean(self):
        data = super().clean()
        kind, pattern = data.get("kind"), data.get("pattern")
        if kind in RuleKind.values and pattern is not None:
            try:
                data["pattern"] = validate_pattern(kind, pattern)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


RULE_ACTIONS = [(Action.REVIEW, "Hold for review"), (Action.REMOVE, "Remove")]


class PolicyChangeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False,
        help_text="Optional: why (kept in the audit log).",
    )
