"""The console's forms for inspections: assigning a drawn sample to an inspector,
and withdrawing what an inspector has not checked yet. Both carry a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from server.console.forms import CHOOSE


class AssignForm(FlaskForm):  # type: ignore[misc]
    # The sample, as its page was drawn: drawn again from these, it is the same.
    town = HiddenField()
    village = HiddenField()
    size = IntegerField(validators=[InputRequired(CHOOSE), NumberRange(min=1)])
    seed = IntegerField(validators=[InputRequired(CHOOSE), NumberRange(min=0)])
    # Inspectors are checked against the sample by the service, not the choices offered.
    inspector = SelectField(validators=[InputRequired(CHOOSE)], validate_choice=False)


class WithdrawForm(FlaskForm):  # type: ignore[misc]
    inspector = HiddenField(validators=[InputRequired(CHOOSE)])
