"""Evidence: page furniture is never an answer candidate (the Boilerplate filter's table)."""

import pytest

from qa.answer.evidence import is_boilerplate


@pytest.mark.parametrize("sentence, furniture", [
    ("Armenian Defense Ministry/Handout via REUTERS ATTENTION EDITORS - THIS IMAGE HAS BEEN SUPPLIED BY A THIRD PARTY.", True),
    ("Photo: J. Smith/Reuters", True),
    ("Foto: EFE/Archivo", True),
    ("By Anna Kell", True),
    ("Por María Ruiz", True),
    ("Subscribe to our newsletter for the morning briefing.", True),
    ("Suscríbete a nuestro boletín.", True),
    ("We use cookies to improve your experience.", True),
    ("© 2026 Coastal Herald. All rights reserved.", True),
    ("By Tuesday, 40 people had been evacuated.", False),
    ("Por la tarde llegaron los bomberos.", False),
    ("The bakery sold 3,000 cookies at the fair.", False),
    ("The barrier was completed in 2011 at a cost of 38 million pounds.", False),
    ("Reuters reported that the talks ended without a deal.", False),
])
def test_boilerplate(sentence, furniture):
    assert is_boilerplate(sentence) is furniture
