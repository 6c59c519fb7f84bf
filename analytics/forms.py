"""Forms of the admin dashboard: confirming a change of a model version's stage."""

from django import forms


class StageChangeForm(forms.Form):
    """Promote or archive, confirmed. Archiving the production version (leaving production empty)
    also needs ``understand`` ticked: the second confirmation."""

    confirm = forms.BooleanField(required=True, error_messages={"required": "Confirm the change first."})
    understand = forms.BooleanField(
        required=False, label="I understand teachers will see no curves and the pricing API answers 503"
    )

    def __init__(self, *args, empties_production: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.empties_production = empties_production

    def clean(self):
        cleaned = super().clean()
        if self.empties_production and not cleaned.get("understand"):
            self.add_error(
                "understand",
                "This archives the production model and leaves none in production: tick the box to "
                "confirm that teachers will see no curves until another version is promoted.",
            )
        return cleaned
