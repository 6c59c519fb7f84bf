"""Numbers typed into forms and the API accept ASCII digits only (issue 14, defect 9): Python's
int() and float() read every script's digits, so "１００" (full-width) would be 100 tokens."""

import pytest
from django.urls import reverse
from rest_framework import serializers

from learners.forms_payments import CardForm
from tests.factories import LearnerFactory, TopUpOrderFactory
from tests.helpers import signed_in
from tokenecon.api.fields import AsciiFloatField, AsciiIntegerField
from tokenecon.forms_fields import AsciiIntegerField as AsciiIntegerFormField
from tokenecon.services.accounts import wallet_of

NOT_ASCII = ["１００", "١٠٠", "१००", "1００"]
TOKEN = "a" * 32


FULL_WIDTH_CARD = "４２４２４２４２４２４２４２４２"


@pytest.mark.parametrize("text", [FULL_WIDTH_CARD, "４２４２ 4242 4242 4242", "٤٢٤٢424242424242"])
def test_the_card_form_refuses_digits_that_are_not_ascii(text):
    form = CardForm(data={"card_number": text})
    assert not form.is_valid()
    assert form.errors["card_number"] == ["Enter the card's 16 digits, like 4242 4242 4242 4242."]


def test_the_card_form_still_reads_ascii_digits_with_spaces_and_dashes():
    form = CardForm(data={"card_number": " 4242 4242-4242 4242 "})
    assert form.is_valid() and form.cleaned_data["card_number"] == "4242424242424242"


@pytest.mark.django_db
def test_a_full_width_card_number_pays_nothing_and_credits_nothing(client):
    learner = LearnerFactory()
    order = TopUpOrderFactory(learner=learner)
    response = signed_in(client, learner.user).post(
        reverse("learners:pay_order", args=[order.pk]), {"card_number": FULL_WIDTH_CARD}
    )
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == "pending" and wallet_of(learner).balance_tokens == 0


@pytest.mark.parametrize("text", NOT_ASCII)
def test_the_form_field_refuses_digits_that_are_not_ascii(text):
    with pytest.raises(Exception, match="Enter a whole number"):
        AsciiIntegerFormField().clean(text)


@pytest.mark.parametrize("text", NOT_ASCII)
def test_the_api_integer_field_refuses_digits_that_are_not_ascii(text):
    with pytest.raises(serializers.ValidationError, match="A valid integer is required"):
        AsciiIntegerField().run_validation(text)


@pytest.mark.parametrize("text", [*NOT_ASCII, "１.５"])
def test_the_api_float_field_refuses_digits_that_are_not_ascii(text):
    with pytest.raises(serializers.ValidationError, match="A valid number is required"):
        AsciiFloatField().run_validation(text)


def test_the_api_fields_still_read_json_numbers_and_ascii_strings():
    assert AsciiIntegerField().run_validation(7) == 7
    assert AsciiIntegerField().run_validation("7") == 7
    assert AsciiIntegerField().run_validation("7.0") == 7
    assert AsciiFloatField().run_validation("2.5") == 2.5
    assert AsciiFloatField().run_validation("-1e3") == -1000.0
    assert AsciiFloatField().run_validation(1.5) == 1.5
