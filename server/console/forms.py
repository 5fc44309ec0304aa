"""The console's forms. Every one carries a CSRF token (Flask-WTF); choices that
depend on the ledger are filled in by the view before validating."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from server.issues.departments import MAX_DEADLINE_DAYS, MAX_NAME_LENGTH, MAX_PHONE_LENGTH
from server.issues.services import CONSOLE_STATUSES
from shared.schemas import MAX_NOTE_LENGTH
from shared.vocab import LeaderRole

REQUIRED = "必填 / required"
CHOOSE = "请从列表中选择 / choose from the list"
DEADLINE_RANGE = (
    f"时限须为 1 至 {MAX_DEADLINE_DAYS} 天 / a deadline is 1 to {MAX_DEADLINE_DAYS} days"
)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("用户名 / username", validators=[DataRequired(REQUIRED)])
    password = PasswordField("密码 / password", validators=[DataRequired(REQUIRED)])


# Cadres and households are checked against the account's scope and the
# ledger by the view and services, not against the choices the page offered:
# a page read a while ago may offer what has changed since.


class ReassignForm(FlaskForm):  # type: ignore[misc]
    cadre = SelectField(validators=[InputRequired(CHOOSE)], validate_choice=False)
    # The cadre the household had when the page was read; empty if none.
    seen = HiddenField()


class FactsForm(FlaskForm):  # type: ignore[misc]
    """A household's facts; the shared HouseholdSchema checks the values (as on the wire)."""

    head_name = StringField()
    members = StringField()
    address = StringField()
    phones = StringField()
    tags = SelectMultipleField(validate_choice=False)
    notes = TextAreaField()
    # What the form was filled with, and the household's version then.
    seen = HiddenField(validators=[InputRequired()])
    base_seq = HiddenField(validators=[InputRequired()])


class TransferForm(FlaskForm):  # type: ignore[misc]
    households = SelectMultipleField(validate_choice=False)
    targets = SelectMultipleField(validate_choice=False)


class LeaderForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(
        choices=LeaderRole.codes(), validators=[InputRequired(CHOOSE)], validate_choice=False
    )
    cadre = SelectField(validators=[InputRequired(CHOOSE)], validate_choice=False)


class CadreActiveForm(FlaskForm):  # type: ignore[misc]
    active = HiddenField(validators=[InputRequired()])


class LostDeviceForm(FlaskForm):  # type: ignore[misc]
    device = HiddenField(validators=[InputRequired(CHOOSE)])


_NOTE = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE_LENGTH)])


class PassForm(FlaskForm):  # type: ignore[misc]
    department = SelectField(validators=[InputRequired(CHOOSE)], validate_choice=False)
    # Empty: the county's deadline for the issue's category.
    days = IntegerField(
        validators=[Optional(), NumberRange(1, MAX_DEADLINE_DAYS, DEADLINE_RANGE)],
    )
    note = _NOTE
    seen_status = HiddenField(validators=[InputRequired()])


class StatusForm(FlaskForm):  # type: ignore[misc]
    status = SelectField(
        choices=[status.value for status in CONSOLE_STATUSES],
        validators=[InputRequired(CHOOSE)],
        validate_choice=False,
    )
    note = _NOTE
    seen_status = HiddenField(validators=[InputRequired()])


class NoteForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField(validators=[DataRequired(REQUIRED), Length(max=MAX_NOTE_LENGTH)])


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


class DecideForm(FlaskForm):  # type: ignore[misc]
    choice = RadioField(
        choices=["keep", "overturn", "other"],
        validators=[InputRequired(CHOOSE)],
        validate_choice=False,
    )
    # The value the admin enters instead, for "other".
    value = StringField(validators=[Optional(), Length(max=MAX_NOTE_LENGTH)])


class ServiceNumbersForm(FlaskForm):  # type: ignore[misc]
    numbers = TextAreaField(validators=[Length(max=2000)])


class PhoneLockForm(FlaskForm):  # type: ignore[misc]
    """Checked by server/ledger/settings.py, whose refusal says the range in both languages."""

    minutes = StringField(validators=[Length(max=10)])


class DepartmentForm(FlaskForm):  # type: ignore[misc]
    name = StringField(validators=[DataRequired(REQUIRED), Length(max=MAX_NAME_LENGTH)])
    kind = SelectField(validators=[InputRequired(CHOOSE)], validate_choice=False)
    phone = StringField(validators=[Optional(), Length(max=MAX_PHONE_LENGTH)])


class DeadlinesForm(FlaskForm):  # type: ignore[misc]
    """Only its CSRF token: the days come one field per category (``days-<code>``)."""


class DuplicateForm(FlaskForm):  # type: ignore[misc]
    # The issue to link under; empty to unlink.
    main = StringField(validators=[Optional(), Length(max=36)])
