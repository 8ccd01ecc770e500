"""Word lists of the stand-in model: stop words per language, a sentiment lexicon, category keywords.

Small on purpose: the stand-in must be deterministic and plausible, not accurate. Each list only
has to make the obvious cases come out right so pipeline tests can assert on real-looking values.
"""

from __future__ import annotations

STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and is you my to of it have for with this what how can i not please thanks hello",
        "de": "der die das und ist ich nicht sie mit ein eine zu auf für wie bitte danke mein habe hallo",
        "fr": "le la les et est je pas vous une des pour avec mon que merci bonjour sur ne",
        "es": "el la los las y es que yo no una para con por mi gracias hola pero cómo",
        "it": "il lo gli della e è che non sono una per con mio grazie ciao come perché",
        "pt": "o os as da do e é não um uma para com meu obrigado olá você como",
        "nl": "de het een en is ik niet van je met voor mijn dank hoe wat graag heb hallo",
        "sv": "och är jag inte det att en ett för med min tack hej hur vad har",
        "da": "og er jeg ikke det at en et for med min tak hej hvordan hvad har",
        "no": "og er jeg ikke det at en et for med min takk hei hvordan hva har",
        "fi": "ja on minä en ei se että kiitos hei miten mitä minun olen voi kanssa",
        "pl": "i jest nie się że na to jak mam proszę dziękuję moja mój czy dla",
        "cs": "a je se že na to jak mám prosím děkuji můj moje pro není jsem",
        "sk": "a je sa že na to ako mám prosím ďakujem môj moja pre nie som",
        "hu": "a az és nem hogy van egy én köszönöm kérem hogyan mi vagyok meg",
        "ro": "și este nu eu că un o pentru cu mulțumesc vă rog cum sunt meu",
        "bg": "и е не аз да на за с благодаря моля как съм моят това",
        "hr": "i je ne ja da na za s hvala molim kako sam moj što li",
        "sl": "in je ne jaz da na za z hvala prosim kako sem moj kaj",
        "et": "ja on ei mina see et aitäh palun kuidas mis olen minu tere",
        "lv": "un ir nav es ka uz par ar paldies lūdzu kā esmu mans kas",
        "lt": "ir yra ne aš kad į už su ačiū prašau kaip esu mano kas",
        "el": "και είναι δεν εγώ να το για με ευχαριστώ παρακαλώ πώς είμαι μου",
        "mt": "u huwa hija ma jien li ta għal grazzi jekk jogħġbok kif tiegħi",
    }.items()
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


POSITIVE_WORDS = _words(
    """
    thanks thank great good perfect helpful excellent happy glad awesome resolved love appreciate
    wonderful fantastic amazing solved works nice pleased brilliant
    danke super gut toll prima merci parfait génial gracias genial perfecto bedankt goed fijn
    grazie ottimo obrigado ótimo tack bra takk tak kiitos dziękuję děkuji hvala
    """
)

NEGATIVE_WORDS = _words(
    """
    bad terrible awful angry frustrated frustrating annoyed annoying wrong broken unacceptable
    disappointed disappointing hate useless complaint ridiculous worst horrible upset unfair
    schlecht ärgerlich enttäuscht furchtbar nervig mauvais nul énervé malo horrible
    slecht boos teleurgesteld pessimo dårlig huono źle špatně loše
    """
)

#: Keyword rules per category; a phrase with a space matches as a phrase. Most hits wins.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "SCHEDULE_HOURS": (
        "schedule", "shift", "shifts", "roster", "rota", "timetable", "dienstplan", "schicht",
        "rooster", "planning", "horaire", "horario", "working hours", "swap",
    ),
    "LEAVE_VACATION": (
        "vacation", "holiday", "holidays", "annual leave", "days off", "day off", "pto", "urlaub",
        "vakantie", "verlof", "congé", "vacaciones", "ferie", "semester",
    ),
    "SICK_LEAVE_RECOVERY": (
        "sick", "ill", "illness", "doctor", "recovery", "recovering", "sick leave", "krank",
        "krankmeldung", "ziek", "malade", "enfermo", "surgery", "injury",
    ),
    "SALARY_COMPENSATION": (
        "salary", "pay", "paid", "payslip", "payroll", "wage", "wages", "bonus", "compensation",
        "gehalt", "lohn", "salaris", "loon", "salaire", "sueldo", "reimbursement",
    ),
    "CONTRACT_HOURS": (
        "contract", "contract hours", "part-time", "full-time", "part time", "full time", "vertrag",
        "arbeitsvertrag", "contrat", "contrato", "hours per week", "fte",
    ),
    "ONBOARDING": (
        "onboarding", "first day", "new hire", "start date", "orientation", "induction",
        "einarbeitung", "inwerken", "new employee", "starting",
    ),
    "OFFBOARDING": (
        "resign", "resignation", "quit", "quitting", "notice period", "last day", "termination",
        "offboarding", "kündigung", "ontslag", "démission", "leaving the company",
    ),
    "WORKWEAR_STAFF_PASS": (
        "uniform", "workwear", "badge", "staff pass", "id card", "clothing", "shoes", "lanyard",
        "dienstkleidung", "werkkleding", "pass",
    ),
    "TEAM_CONTACTS": (
        "manager", "contact", "team lead", "colleague", "colleagues", "supervisor", "phone number",
        "email address", "who is", "kontakt", "leidinggevende", "teamleiter",
    ),
    "PERSONAL_QUESTIONS": (
        "address change", "new address", "personal details", "bank account", "name change",
        "marital", "personal data", "tax", "emergency contact", "moved",
    ),
    "ACCESS_LOGIN": (
        "login", "log in", "password", "locked", "access", "sign in", "2fa", "username", "reset",
        "passwort", "wachtwoord", "mot de passe", "contraseña", "account",
    ),
    "SOCIAL_QUESTIONS": (
        "party", "event", "team building", "social", "celebration", "birthday", "outing", "drinks",
        "feier", "feest", "fête", "christmas",
    ),
}  # fmt: skip
