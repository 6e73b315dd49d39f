"""Forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp


class LoginForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class LogoutForm(FlaskForm):
    pass


class PatientForm(FlaskForm):
    pseudonym = StringField(
        "Pseudonym", validators=[DataRequired(), Length(max=40),
                                 Regexp(r"^[A-Za-z0-9._-]+$",
                                        message="letters, digits, dot, dash and underscore only")])
    year_of_birth = IntegerField("Year of birth", validators=[Optional(),
                                                              NumberRange(1900, 2100)])
    sex = SelectField("Sex", choices=["unknown", "female", "male", "other"])
    handedness = SelectField("Handedness", choices=["unknown", "right", "left", "ambidextrous"])
    affected_side = SelectField("Affected side (if known)",
                                choices=["unknown", "right", "left", "both", "none"])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])


class SessionForm(FlaskForm):
    protocol = SelectField("Protocol", choices=[("quick", "Quick screen (tasks 1, 3, 4, 7)"),
                                                ("full", "Full protocol (11 tasks)")])


class StepForm(FlaskForm):
    """Start, stop, retake: buttons whose only field is the CSRF token."""


class SetupForm(FlaskForm):
    code = StringField("One-time code", validators=[DataRequired(), Length(max=20)])
    name = StringField("Your name (for signing in)", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password (at least 10 characters)",
                             validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("The same password again", validators=[DataRequired()])
