"""The console's forms. Every one carries a CSRF token (Flask-WTF); choices that
depend on the ledger are filled in by the view before validating."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from server.issues.services import CONSOLE_STATUSES, MAX_DEPARTMENT_LENGTH
from shared.schemas import MAX_NOTE_LENGTH
from shared.vocab import LeaderRole

REQUIRED = "必填 / required"
CHOOSE = "请从列表中选择 / choose from the list"


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
    department = StringField(validators=[DataRequired(REQUIRED), Length(max=MAX_DEPARTMENT_LENGTH)])
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
