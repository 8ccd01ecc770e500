"""The deterministic stand-in model: schema-valid answers, plausible judgements, usage numbers."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from emulator.model import (
    analyse,
    answer,
    chat_completion,
    first_sentence,
    guess_category,
    guess_language,
    guess_sentiment,
    processing_type,
)
from shared.analysis import ANSWER_MODELS, ProcessingType, chat_body, response_format


def _words(text: str) -> list[str]:
    return text.lower().split()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hello, I have a question about my schedule for the next week, thanks", "en"),
        ("Hallo, ich habe eine Frage zu meinem Dienstplan und bitte um Hilfe", "de"),
        ("Bonjour, je ne trouve pas mon contrat, merci pour votre aide", "fr"),
        ("Hola, tengo una pregunta sobre mi contrato, gracias por la ayuda", "es"),
        ("Ciao, non trovo il mio contratto, grazie per l'aiuto e sono qui", "it"),
        ("Hallo, ik heb een vraag over mijn rooster, dank voor het antwoord", "nl"),
        ("Hej, jag har en fråga om min lön och det är inte klart, tack", "sv"),
        ("Dzień dobry, mam pytanie, czy jest to możliwe, dziękuję", "pl"),
        ("Καλημέρα, έχω μια ερώτηση για το πρόγραμμα και δεν είναι σαφές, ευχαριστώ", "el"),
        ("Здравейте, аз имам въпрос за моя график и не е ясно, благодаря", "bg"),
        ("Hei, minä en ymmärrä miten tämä toimii, kiitos", "fi"),
        ("Jó napot, nem értem hogy van ez, köszönöm", "hu"),
    ],
)
def test_language_guess(text: str, lang: str) -> None:
    assert guess_language(_words(text)) == lang


def test_language_defaults_to_english() -> None:
    assert guess_language([]) == "en"
    assert guess_language(["xyzzy"]) == "en"


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("thanks, that was really helpful and great", "POSITIVE"),
        ("this is terrible and i am very frustrated", "NEGATIVE"),
        ("i would like to know my schedule", "NEUTRAL"),
        ("that is not good", "NEGATIVE"),
    ],
)
def test_sentiment(text: str, sentiment: str) -> None:
    assert guess_sentiment(_words(text)) == sentiment


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("can i swap my shift on friday", "SCHEDULE_HOURS"),
        ("i want to book annual leave in july for my holiday", "LEAVE_VACATION"),
        ("i am sick and need to see a doctor", "SICK_LEAVE_RECOVERY"),
        ("my payslip shows the wrong salary", "SALARY_COMPENSATION"),
        ("can i change my contract to part-time", "CONTRACT_HOURS"),
        ("what happens on my first day, is there an onboarding", "ONBOARDING"),
        ("i want to resign, what is my notice period", "OFFBOARDING"),
        ("where do i get a new uniform", "WORKWEAR_STAFF_PASS"),
        ("who is my manager and what is the phone number", "TEAM_CONTACTS"),
        ("i moved and need an address change", "PERSONAL_QUESTIONS"),
        ("i forgot my password and cannot log in", "ACCESS_LOGIN"),
        ("when is the christmas party", "SOCIAL_QUESTIONS"),
        ("what is the meaning of life", "UNRECOGNIZED_OTHER"),
    ],
)
def test_category(text: str, category: str) -> None:
    assert guess_category(text, _words(text)) == category


#: Own wording (not the sample generator's phrases): the lexicons must cover ordinary HR language.
@pytest.mark.parametrize(
    ("lang", "text", "category"),
    [
        ("en", "I hurt my back at work and need to stay home.", "SICK_LEAVE_RECOVERY"),
        ("en", "Where do I update my emergency contact details?", "PERSONAL_QUESTIONS"),
        ("de", "Wie beantrage ich Sonderurlaub für meine Hochzeit?", "LEAVE_VACATION"),
        (
            "de",
            "Der Reißverschluss meiner Arbeitsjacke ist kaputt, bekomme ich neue Dienstkleidung?",
            "WORKWEAR_STAFF_PASS",
        ),
        ("fr", "Mon contrat indique 20 heures mais je travaille 30 heures par semaine.", "CONTRACT_HOURS"),
        ("es", "¿Quién organiza la cena de Navidad este año?", "SOCIAL_QUESTIONS"),
        ("it", "Il mio ultimo giorno è venerdì, cosa succede alle ferie residue?", "OFFBOARDING"),
        ("pt", "Quem é o meu chefe e como o contacto?", "TEAM_CONTACTS"),
        ("nl", "Ik kan niet inloggen op het portaal, mijn wachtwoord wordt geweigerd.", "ACCESS_LOGIN"),
        ("sv", "Jag vill säga upp mig, hur lång är uppsägningstiden?", "OFFBOARDING"),
        ("da", "Hvornår bliver min løn udbetalt?", "SALARY_COMPENSATION"),
        ("no", "Kan jeg få fri to uker i juli? Jeg vil ta ut ferie.", "LEAVE_VACATION"),
        ("fi", "Olen sairastunut enkä pääse huomenna töihin.", "SICK_LEAVE_RECOVERY"),
        ("et", "Ma unustasin oma parooli ära.", "ACCESS_LOGIN"),
        ("lv", "Kurš ir mans tiešais vadītājs?", "TEAM_CONTACTS"),
        ("lt", "Noriu pasikeisti pamainą su kolega.", "SCHEDULE_HOURS"),
        ("pl", "To mój pierwszy tydzień, czy jest szkolenie wstępne?", "ONBOARDING"),
        ("cs", "Chci přejít na částečný úvazek.", "CONTRACT_HOURS"),
        ("sk", "Kedy dostanem výplatu za tento mesiac?", "SALARY_COMPENSATION"),
        ("hu", "Ki szervezi idén a karácsonyi bulit?", "SOCIAL_QUESTIONS"),
        ("sl", "Želim vzeti dopust v juliju.", "LEAVE_VACATION"),
        ("hr", "Zaboravio sam lozinku za portal.", "ACCESS_LOGIN"),
        ("ro", "Unde îmi actualizez persoana de contact pentru urgențe?", "PERSONAL_QUESTIONS"),
        ("bg", "Кога ще получа заплатата си?", "SALARY_COMPENSATION"),
        ("el", "Ξέχασα τον κωδικό πρόσβασης.", "ACCESS_LOGIN"),
        ("mt", "Nixtieq nieħu vaganza f'Lulju.", "LEAVE_VACATION"),
        ("en", "Can you book me a taxi to the airport?", "UNRECOGNIZED_OTHER"),
    ],
)
def test_language_and_category_in_own_wording(lang: str, text: str, category: str) -> None:
    got = analyse(f"user: {text}\nassistant: Let me check.")
    assert (got.language, got.category) == (lang, category)


def test_sentiment_is_the_employees_not_the_assistants() -> None:
    polite = "user: When is my shift?\nassistant: Happy to help, have a great day!\nuser: OK."
    assert analyse(polite).sentiment == "NEUTRAL"
    angry = "user: Good morning. When is my shift?\nassistant: Thanks!\nuser: This is unacceptable."
    assert analyse(angry).sentiment == "NEGATIVE"
    assert (
        analyse("user: Wann ist meine Schicht?\nassistant: ok\nuser: Super, danke!").sentiment == "POSITIVE"
    )


def test_a_passing_follow_up_does_not_make_an_off_topic_chat_a_category() -> None:
    chat = (
        "user: What will the weather be like tomorrow?\n"
        "assistant: I can only help with questions about your work.\n"
        "user: Does this also apply to part-time employees?\n"
        "assistant: A colleague from HR will contact you."
    )
    assert analyse(chat).category == "UNRECOGNIZED_OTHER"
    assert analyse(chat.replace("weather be like", "shift schedule be")).category == "SCHEDULE_HOURS"


def test_long_conversation_is_judged_on_its_opening_and_ending() -> None:
    middle = "\n".join(["assistant: Let me check that.", "user: And where can I find that?"] * 200)
    text = f"user: I forgot my password and cannot log in.\n{middle}\nuser: This is frustrating."
    got = analyse(text)
    assert (got.category, got.sentiment, got.language) == ("ACCESS_LOGIN", "NEGATIVE", "en")


def test_summary_is_the_first_sentence_without_the_role() -> None:
    text = "user: I need my payslip. It is late again!\nassistant: I will check."
    assert first_sentence(text) == "I need my payslip."
    assert len(first_sentence("user: " + "x" * 5000)) <= 200
    assert first_sentence("") == "Empty conversation."


@pytest.mark.parametrize("ptype", list(ProcessingType))
def test_answers_validate_against_the_processing_types_model(ptype: ProcessingType) -> None:
    body = chat_body(ptype, "gpt-4o-mini", "user: Hallo, mein Gehalt ist falsch. Das ist ärgerlich!")
    assert processing_type(body) is ptype
    content = chat_completion(body, completion_id="c", created=1)["choices"][0]["message"]["content"]
    parsed = ANSWER_MODELS[ptype].model_validate_json(content)
    if ptype is ProcessingType.FULL_ANALYSIS:
        assert parsed.model_dump() == {
            "sentiment": "NEGATIVE",
            "category": "SALARY_COMPENSATION",
            "summary": "Hallo, mein Gehalt ist falsch.",
            "language": "de",
        }


def test_processing_type_from_the_system_prompt_alone() -> None:
    body = chat_body(ProcessingType.CATEGORIZATION, "m", "user: hi")
    del body["response_format"]
    assert processing_type(body) is ProcessingType.CATEGORIZATION
    assert set(answer(body)) == {"category"}


def test_honours_any_json_schema() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "thanks, great"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "custom",
                "schema": {
                    "type": "object",
                    "properties": {
                        "sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE"]},
                        "mood": {"type": "string", "enum": ["calm", "angry"]},
                        "score": {"type": "number"},
                        "note": {"type": "string"},
                    },
                },
            },
        },
    }
    assert answer(body) == {"sentiment": "POSITIVE", "mood": "calm", "score": 0, "note": "n/a"}


@pytest.mark.parametrize("how", ["not_json", "off_schema"])
@pytest.mark.parametrize("ptype", list(ProcessingType))
def test_malformed_answers_fail_validation(ptype: ProcessingType, how: str) -> None:
    body = chat_body(ptype, "m", "user: hello there. thanks")
    content = chat_completion(body, completion_id="c", created=1, malformed=how)["choices"][0]["message"][
        "content"
    ]  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ANSWER_MODELS[ptype].model_validate_json(content)


def test_completion_object_shape_and_usage() -> None:
    body = chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", "user: " + "word " * 400)
    out = chat_completion(body, completion_id="chatcmpl-1", created=123)
    assert out["object"] == "chat.completion"
    assert out["model"] == "gpt-4o-mini"
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"]["refusal"] is None
    usage = out["usage"]
    chars = sum(len(m["content"]) for m in body["messages"])
    assert chars / 4 <= usage["prompt_tokens"] <= chars / 4 + 10
    assert usage["completion_tokens"] >= len(out["choices"][0]["message"]["content"]) / 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_deterministic() -> None:
    """Every computation of one conversation gives the same bytes, with or without the cache."""
    expected = (
        b'{"sentiment":"POSITIVE","category":"LEAVE_VACATION",'
        b'"summary":"je voudrais des vacances.","language":"fr"}'
    )
    for _ in range(2):
        analyse.cache_clear()  # computed afresh, not the cached object of the previous round
        body = chat_body(ProcessingType.FULL_ANALYSIS, "m", "user: je voudrais des vacances. merci")
        assert orjson.dumps(answer(body)) == expected
        assert orjson.dumps(answer(body)) == expected  # and again, from the cache


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=400), ptype=st.sampled_from(list(ProcessingType)))
def test_any_conversation_gets_a_valid_answer(text: str, ptype: ProcessingType) -> None:
    analyse.cache_clear()
    content = orjson.dumps(answer(chat_body(ptype, "m", text)))
    ANSWER_MODELS[ptype].model_validate_json(content)
    assert response_format(ptype)["json_schema"]["name"] == f"{ptype.value}_result"


@pytest.mark.parametrize("ptype", list(ProcessingType))
def test_fast_answer_mode_is_one_fixed_valid_answer_whatever_the_conversation(ptype: ProcessingType) -> None:
    """Benchmarks answer with ``fast``: the conversation is not read, the answer still validates."""
    fixed = {
        "sentiment": "NEUTRAL",
        "category": "UNRECOGNIZED_OTHER",
        "summary": "Conversation answered in fast mode.",
        "language": "en",
    }
    for conversation in ("user: Hallo, mein Gehalt ist falsch. Das ist ärgerlich!", "user: thanks, great!"):
        body = chat_body(ptype, "gpt-4o-mini", conversation)
        obj = answer(body, fast=True)
        assert obj == {k: fixed[k] for k in obj}
        assert obj, "the fast answer fills the schema's properties"
        content = chat_completion(body, completion_id="c", created=1, fast=True)["choices"][0]["message"]
        ANSWER_MODELS[ptype].model_validate_json(content["content"])
    # the model mode does read the conversation (it is not the fixed answer)
    assert answer(chat_body(ProcessingType.SENTIMENT_ANALYSIS, "m", "user: this is terrible, I am angry")) == {
        "sentiment": "NEGATIVE"
    }
