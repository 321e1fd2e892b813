"""Event dates: the resolution rules, one row each, in both languages."""

import pytest

from qa.ingest.dates import EventDater, first_day, gap_days, last_day

dater = EventDater()

CASES = [
    # text, lang, article date, event date (None: undated)
    ("Blinken called Aliyev during the night of this Monday.", "en", "2022-09-13", "2022-09-12"),
    ("France announced on Tuesday that it would go to the UN.", "en", "2022-09-13", "2022-09-13"),  # the article's own weekday
    ("The pier has been closed since last Friday.", "en", "2024-05-10", "2024-05-03"),
    ("The regional government will meet next Monday.", "en", "2023-04-14", "2023-04-17"),
    ("A vaccination campaign begins on Monday.", "en", "2024-07-24", "2024-07-29"),  # a sentence about the future
    ("Blinken himself already said yesterday that he was concerned.", "en", "2022-09-13", "2022-09-12"),
    ("The council admitted two days ago that it was late.", "en", "2024-05-10", "2024-05-08"),
    ("Last week, divers found a crack.", "en", "2024-05-10", "2024-W18"),
    ("Last year the Congress also adopted a statement.", "en", "2024-02-28", "2023"),
    ("The shop will close for good on 31 August.", "en", "2022-08-25", "2022-08-31"),  # the nearest year
    ("On November 26th, the ambassador met the minister.", "en", "2020-11-27", "2020-11-26"),
    ("Work on the harbour wall started in March.", "en", "2024-05-10", "2024-03"),
    ("A ceasefire was introduced on Nov. 10, 2020.", "en", "2021-10-08", "2020-11-10"),
    ("The conflict began in 1988 when claims were made.", "en", None, "1988"),
    ("Although clashes have been frequent since the 2020 war ended, Tuesday's fighting was larger.", "en", "2022-09-13", "2022-09-13"),
    ("613 people were killed, including 106 women.", "en", "2024-02-28", None),
    ("The chairmanship was extended for another year.", "en", "2021-10-08", None),
    ("1275 people were taken hostage.", "en", "2024-02-28", None),
    ("It may rain, the mayor said.", "en", "2024-02-28", None),  # the verb, not the month
    ("Yesterday the mayor met the union.", "en", None, None),  # nothing to resolve against
    ("Los conductores iniciaron una huelga el lunes.", "es", "2024-03-08", "2024-03-04"),
    ("El sindicato anunció el paro el pasado 26 de febrero.", "es", "2024-03-08", "2024-02-26"),
    ("Hace dos semanas, la alcaldesa calificó la huelga de injustificada.", "es", "2024-03-15", "2024-W09"),  # as precise as its unit
    ("It was founded two years ago.", "en", "2024-03-15", "2022"),
    ("Hace tres meses cerró la fábrica.", "es", "2024-03-15", "2023-12"),
    ("Police said 2000 people marched.", "en", "2024-03-15", None),  # a count, not a year
    ("The 1994 ceasefire agreement held.", "en", None, "1994"),
    ("The vote was on 29 February.", "en", "2022-05-01", "2024-02-29"),  # the nearest leap year
    ("The vote was on 3 March.", "en", "2024-02-30", None),  # a date line naming no real day: undated, no crash
    ("Anteayer, el alcalde pidió ayuda.", "es", "2023-11-23", "2023-11-21"),
    ("El pasado viernes se celebró una asamblea.", "es", "2025-02-07", "2025-01-31"),
    ("La reparación empezará en enero de 2024.", "es", "2023-11-23", "2024-01"),
    ("El 9 de noviembre de 2020 firmaron un alto el fuego a partir del 10 de noviembre.", "es", None, "2020-11-09"),
    ("En 1992-1994, las tensiones estallaron.", "es", None, "1992"),
    ("La reunión duró casi cuatro horas.", "es", "2024-03-08", None),
]


@pytest.mark.parametrize("text, lang, article_date, expected", CASES)
def test_event_date(text: str, lang: str, article_date: str | None, expected: str | None) -> None:
    got = dater(text, lang, article_date)
    assert (got.value if got else None) == expected


def test_the_article_date_is_never_the_event_date_of_an_undated_sentence() -> None:
    assert dater("The statement was adopted by the Congress.", "en", "2024-02-28") is None


@pytest.mark.parametrize("value, day", [("1992", "1992-01-01"), ("2020-11", "2020-11-01"), ("2024-W18", "2024-04-29"),
                                        ("2020-11-10", "2020-11-10")])
def test_first_day(value: str, day: str) -> None:
    assert first_day(value).isoformat() == day


@pytest.mark.parametrize("value, day", [("1992", "1992-12-31"), ("2020-02", "2020-02-29"), ("2020-12", "2020-12-31"),
                                        ("2024-W18", "2024-05-05"), ("2020-11-10", "2020-11-10")])
def test_last_day(value: str, day: str) -> None:
    assert last_day(value).isoformat() == day


@pytest.mark.parametrize("a, b, days", [("2020-11-09", "2020-11-10", 1), ("2020-11", "2020-11-10", 0), ("2020", "2020-11-10", 0),
                                        ("2024-W18", "2024-05-01", 0), ("2020-09-27", "2020-11-09", 43), ("2021", "2020-12-30", 2)])
def test_gap_days(a: str, b: str, days: int) -> None:
    assert gap_days(a, b) == gap_days(b, a) == days
