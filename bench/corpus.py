"""A seeded corpus of realistic news items for the benchmarks.

Items are built from sentence templates filled with names, places, numbers
and days, in English, Spanish, German, French, Portuguese, Italian, Polish and
Ukrainian (the default mix: 70% English, 20% Spanish, 10% the other six
alike), and in Russian and Swahili (a language with no Apertium pair here) on
request; headline about 12 words, body 300-1,500 words drawn from a lognormal
distribution like real wire copy. Each language has its own forms of the
names: the template's slot says which (``{c_loc}`` is the place in the
locative), so Polish and Ukrainian names are inflected as the sentence needs
and the German, French, Italian and Portuguese organisations carry the
article the preposition takes ("vom", "du", "dalla", "pela"); verbs that
agree with the person's gender come from ``VERBS``. ``rss()`` serialises a
list of items as an RSS 2.0 feed. The same seed always gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["DEFAULT_MIX", "BenchItem", "make_items", "rss"]

# 70% English, 20% Spanish, 10% the six other languages the pipeline reads,
# each by a different route (services/enrich/entities.py, translate.py).
DEFAULT_MIX = {"en": 0.7, "es": 0.2, **dict.fromkeys(("de", "fr", "pt", "it", "pl", "uk"),
                                                     0.1 / 6)}

PEOPLE = ["Volodymyr Zelensky", "Emmanuel Macron", "Olaf Scholz", "Pedro Sánchez",
          "Ursula von der Leyen", "Antonio Guterres", "Keir Starmer", "Lula da Silva"]
PLACES = ["Kyiv", "Paris", "Berlin", "Madrid", "Brussels", "New York", "London", "Brasília",
          "Nairobi", "Warsaw", "Rome", "Lisbon"]
ORGS = ["the European Commission", "the United Nations", "NATO", "the central bank",
        "the health ministry", "the port authority", "the national rail operator"]
EN = [
    "{p} said on {d} that talks with {o} would continue in {c} next week.",
    "Officials in {c} reported {n} new cases, the highest figure since the spring.",
    "The agreement, reached after {n} hours of negotiations, still needs approval from {o}.",
    "Critics argued that the plan would cost at least {n} million euros over five years.",
    "{p} met representatives of {o} in {c} to discuss energy prices and trade.",
    "Markets in {c} rose {n} percent after the announcement by {o}.",
    "Thousands of people gathered in central {c} on {d} to protest against the reform.",
    "A spokesperson for {o} declined to comment on the report.",
]
ES = [
    "{p} dijo el {d} que las conversaciones con {o} continuarán en {c} la próxima semana.",
    "Las autoridades de {c} informaron de {n} nuevos casos, la cifra más alta desde la primavera.",
    "El acuerdo, alcanzado tras {n} horas de negociaciones, aún necesita la aprobación de {o}.",
    "Los críticos sostienen que el plan costará al menos {n} millones de euros en cinco años.",
    "{p} se reunió con representantes de {o} en {c} para hablar de energía y comercio.",
    "Miles de personas se concentraron en el centro de {c} el {d} contra la reforma.",
]
RU = [
    "{p} заявил в {d}, что переговоры с {o} продолжатся в {c} на следующей неделе.",
    "Власти {c} сообщили о {n} новых случаях, это самый высокий показатель с весны.",
    "Соглашение, достигнутое после {n} часов переговоров, ещё должно одобрить {o}.",
    "Критики утверждают, что план обойдётся как минимум в {n} миллионов евро за пять лет.",
    "Тысячи людей собрались в центре {c} в {d}, чтобы выступить против реформы.",
]
SW = [
    "{p} alisema siku ya {d} kwamba mazungumzo na {o} yataendelea {c} wiki ijayo.",
    "Maafisa wa {c} waliripoti visa vipya {n}, idadi kubwa zaidi tangu msimu uliopita.",
    "Makubaliano hayo, yaliyofikiwa baada ya saa {n} za mazungumzo, bado yanahitaji idhini.",
    "Maelfu ya watu walikusanyika katikati ya {c} siku ya {d} kupinga mageuzi hayo.",
]
# German: {o_dat} after "mit", {o_gen} after a noun, {o_von} the agent of a
# passive ("von der", "vom").
DE = [
    "{p} sagte am {d}, die Gespräche mit {o_dat} würden nächste Woche in {c} fortgesetzt.",
    "Die Behörden in {c} meldeten {n} neue Fälle, den höchsten Wert seit dem Frühjahr.",
    "Die Einigung, die nach {n} Stunden Verhandlungen erzielt wurde, muss noch {o_von} "
    "gebilligt werden.",
    "Kritiker bemängelten, der Plan werde in fünf Jahren mindestens {n} Millionen Euro kosten.",
    "{p} traf in {c} Vertreter {o_gen}, um über Energiepreise und Handel zu sprechen.",
    "Die Börse in {c} legte nach der Ankündigung {o_gen} um {n} Prozent zu.",
    "Tausende Menschen versammelten sich am {d} in der Innenstadt von {c}, um gegen die "
    "Reform zu protestieren.",
    "Ein Sprecher {o_gen} lehnte eine Stellungnahme zu dem Bericht ab.",
]
FR = [
    "{p} a déclaré {d} que les discussions avec {o} se poursuivraient à {c} la semaine "
    "prochaine.",
    "Les autorités de {c} ont fait état de {n} nouveaux cas, le chiffre le plus élevé depuis "
    "le printemps.",
    "L'accord, conclu après {n} heures de négociations, doit encore être approuvé par {o}.",
    "Selon ses détracteurs, le plan coûtera au moins {n} millions d'euros sur cinq ans.",
    "{p} a rencontré à {c} des représentants {o_de} pour évoquer les prix de l'énergie et le "
    "commerce.",
    "La Bourse de {c} a gagné {n} % après l'annonce {o_de}.",
    "Des milliers de personnes se sont rassemblées {d} dans le centre de {c} pour protester "
    "contre la réforme.",
    "Un porte-parole {o_de} s'est refusé à tout commentaire sur le rapport.",
]
IT = [
    "{p} ha detto {d} che i colloqui con {o} proseguiranno a {c} la prossima settimana.",
    "Le autorità di {c} hanno segnalato {n} nuovi casi, il dato più alto dalla primavera.",
    "L'accordo, raggiunto dopo {n} ore di trattative, deve ancora essere approvato {o_da}.",
    "Secondo i critici il piano costerà almeno {n} milioni di euro in cinque anni.",
    "{p} ha incontrato a {c} i rappresentanti {o_di} per discutere di prezzi dell'energia e "
    "di commercio.",
    "Migliaia di persone si sono radunate {d} nel centro di {c} per protestare contro la "
    "riforma.",
    "Un portavoce {o_di} ha rifiutato di commentare il rapporto.",
]
PT = [
    "{p} afirmou na {d} que as conversações com {o} vão continuar em {c} na próxima semana.",
    "As autoridades de {c} registaram {n} novos casos, o número mais alto desde a primavera.",
    "O acordo, alcançado após {n} horas de negociações, ainda precisa de ser aprovado {o_por}.",
    "Os críticos argumentam que o plano vai custar pelo menos {n} milhões de euros em cinco "
    "anos.",
    "{p} reuniu-se em {c} com representantes {o_de} para discutir os preços da energia e o "
    "comércio.",
    "Milhares de pessoas concentraram-se na {d} no centro de {c} em protesto contra a reforma.",
    "Um porta-voz {o_de} recusou comentar o relatório.",
]
# Polish and Ukrainian: the case is in the slot ({c_loc} after "in",
# {o_ins} after "with", {*_gen} after a noun or "according to"); numbers
# stand where the noun's form does not depend on them (locative plural,
# "mln", an adjective).
PL = [
    "{p} {said} {d}, że rozmowy z {o_ins} będą kontynuowane w {c_loc} w przyszłym tygodniu.",
    "Władze {c_gen} poinformowały o {n} nowych przypadkach, najwyższej liczbie od wiosny.",
    "Porozumienie, osiągnięte po {n} godzinach negocjacji, wciąż wymaga zgody {o_gen}.",
    "Krytycy twierdzą, że plan będzie kosztował co najmniej {n} mln euro w ciągu pięciu lat.",
    "{p} {met} w {c_loc} z przedstawicielami {o_gen}, by rozmawiać o cenach energii i handlu.",
    "Tysiące ludzi zebrały się {d} w centrum {c_gen}, by zaprotestować przeciwko reformie.",
    "Według {p_gen} porozumienie z {o_ins} jest już bliskie.",
    "Rzecznik {o_gen} odmówił komentarza w sprawie raportu.",
]
UK = [
    "{p} {said} {d}, що переговори з {o_ins} продовжаться у {c_loc} наступного тижня.",
    "Влада {c_gen} повідомила, що кількість нових випадків зросла до {n}, це найвищий "
    "показник від весни.",
    "Угоду, досягнуту після {n}-годинних переговорів, ще має схвалити {o}.",
    "Критики стверджують, що план коштуватиме щонайменше {n} млн євро за п’ять років.",
    "{p} {met} у {c_loc} з представниками {o_gen}, щоб обговорити ціни на енергоносії та "
    "торгівлю.",
    "Тисячі людей зібралися {d} у центрі {c_gen}, щоб протестувати проти реформи.",
    "За словами {p_gen}, угода з {o_ins} вже близька.",
    "Речник {o_gen} відмовився коментувати звіт.",
]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "es": ["lunes", "martes", "miércoles", "jueves", "viernes"],
        "ru": ["понедельник", "вторник", "среду", "четверг", "пятницу"],
        "sw": ["Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa"],
        "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"],
        "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
        "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì"],
        "pt": ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira"],
        # with their preposition, which changes with the day ("we wtorek")
        "pl": ["w poniedziałek", "we wtorek", "w środę", "w czwartek", "w piątek"],
        "uk": ["у понеділок", "у вівторок", "у середу", "у четвер", "у п’ятницю"]}
TEMPLATES = {"en": EN, "es": ES, "ru": RU, "sw": SW, "de": DE, "fr": FR, "it": IT, "pt": PT,
             "pl": PL, "uk": UK}

# One entry per name of PEOPLE, PLACES and ORGS, in the same order: the
# forms a language's templates ask for, by slot name. "female" picks the
# verb forms of VERBS.
_Forms = dict[str, str]


def _plain(slot: str, names: list[str]) -> list[_Forms]:
    return [{slot: name} for name in names]


_PEOPLE_PL = [
    {"p": "Wołodymyr Zełenski", "p_gen": "Wołodymyra Zełenskiego"},
    {"p": "Emmanuel Macron", "p_gen": "Emmanuela Macrona"},
    {"p": "Olaf Scholz", "p_gen": "Olafa Scholza"},
    {"p": "Pedro Sánchez", "p_gen": "Pedra Sáncheza"},
    {"p": "Ursula von der Leyen", "p_gen": "Ursuli von der Leyen", "female": "1"},
    {"p": "António Guterres", "p_gen": "Antónia Guterresa"},
    {"p": "Keir Starmer", "p_gen": "Keira Starmera"},
    {"p": "Lula da Silva", "p_gen": "Luli da Silvy"},
]
_PEOPLE_UK = [
    {"p": "Володимир Зеленський", "p_gen": "Володимира Зеленського"},
    {"p": "Емманюель Макрон", "p_gen": "Емманюеля Макрона"},
    {"p": "Олаф Шольц", "p_gen": "Олафа Шольца"},
    {"p": "Педро Санчес", "p_gen": "Педро Санчеса"},
    {"p": "Урсула фон дер Ляєн", "p_gen": "Урсули фон дер Ляєн", "female": "1"},
    {"p": "Антоніу Гутерреш", "p_gen": "Антоніу Гутерреша"},
    {"p": "Кір Стармер", "p_gen": "Кіра Стармера"},
    {"p": "Лула да Сілва", "p_gen": "Лули да Сілви"},
]
_PLACES = {
    "de": ["Kiew", "Paris", "Berlin", "Madrid", "Brüssel", "New York", "London", "Brasília",
           "Nairobi", "Warschau", "Rom", "Lissabon"],
    "fr": ["Kiev", "Paris", "Berlin", "Madrid", "Bruxelles", "New York", "Londres", "Brasília",
           "Nairobi", "Varsovie", "Rome", "Lisbonne"],
    "it": ["Kiev", "Parigi", "Berlino", "Madrid", "Bruxelles", "New York", "Londra", "Brasília",
           "Nairobi", "Varsavia", "Roma", "Lisbona"],
    "pt": ["Kiev", "Paris", "Berlim", "Madrid", "Bruxelas", "Nova Iorque", "Londres",
           "Brasília", "Nairóbi", "Varsóvia", "Roma", "Lisboa"],
}
# nominative, genitive, locative
_PLACES_PL = [("Kijów", "Kijowa", "Kijowie"), ("Paryż", "Paryża", "Paryżu"),
              ("Berlin", "Berlina", "Berlinie"), ("Madryt", "Madrytu", "Madrycie"),
              ("Bruksela", "Brukseli", "Brukseli"), ("Nowy Jork", "Nowego Jorku", "Nowym Jorku"),
              ("Londyn", "Londynu", "Londynie"), ("Brasília", "Brasílii", "Brasílii"),
              ("Nairobi", "Nairobi", "Nairobi"), ("Warszawa", "Warszawy", "Warszawie"),
              ("Rzym", "Rzymu", "Rzymie"), ("Lizbona", "Lizbony", "Lizbonie")]
_PLACES_UK = [("Київ", "Києва", "Києві"), ("Париж", "Парижа", "Парижі"),
              ("Берлін", "Берліна", "Берліні"), ("Мадрид", "Мадрида", "Мадриді"),
              ("Брюссель", "Брюсселя", "Брюсселі"), ("Нью-Йорк", "Нью-Йорка", "Нью-Йорку"),
              ("Лондон", "Лондона", "Лондоні"), ("Бразиліа", "Бразиліа", "Бразиліа"),
              ("Найробі", "Найробі", "Найробі"), ("Варшава", "Варшави", "Варшаві"),
              ("Рим", "Рима", "Римі"), ("Лісабон", "Лісабона", "Лісабоні")]
_ORGS = {
    "de": [
        {"o_dat": "der Europäischen Kommission", "o_gen": "der Europäischen Kommission",
         "o_von": "von der Europäischen Kommission"},
        {"o_dat": "den Vereinten Nationen", "o_gen": "der Vereinten Nationen",
         "o_von": "von den Vereinten Nationen"},
        {"o_dat": "der NATO", "o_gen": "der NATO", "o_von": "von der NATO"},
        {"o_dat": "der Zentralbank", "o_gen": "der Zentralbank", "o_von": "von der Zentralbank"},
        {"o_dat": "dem Gesundheitsministerium", "o_gen": "des Gesundheitsministeriums",
         "o_von": "vom Gesundheitsministerium"},
        {"o_dat": "der Hafenbehörde", "o_gen": "der Hafenbehörde",
         "o_von": "von der Hafenbehörde"},
        {"o_dat": "der staatlichen Eisenbahngesellschaft",
         "o_gen": "der staatlichen Eisenbahngesellschaft",
         "o_von": "von der staatlichen Eisenbahngesellschaft"},
    ],
    "fr": [
        {"o": "la Commission européenne", "o_de": "de la Commission européenne"},
        {"o": "les Nations unies", "o_de": "des Nations unies"},
        {"o": "l'OTAN", "o_de": "de l'OTAN"},
        {"o": "la banque centrale", "o_de": "de la banque centrale"},
        {"o": "le ministère de la Santé", "o_de": "du ministère de la Santé"},
        {"o": "l'autorité portuaire", "o_de": "de l'autorité portuaire"},
        {"o": "la compagnie ferroviaire nationale",
         "o_de": "de la compagnie ferroviaire nationale"},
    ],
    "it": [
        {"o": "la Commissione europea", "o_di": "della Commissione europea",
         "o_da": "dalla Commissione europea"},
        {"o": "le Nazioni Unite", "o_di": "delle Nazioni Unite", "o_da": "dalle Nazioni Unite"},
        {"o": "la NATO", "o_di": "della NATO", "o_da": "dalla NATO"},
        {"o": "la banca centrale", "o_di": "della banca centrale", "o_da": "dalla banca centrale"},
        {"o": "il ministero della Salute", "o_di": "del ministero della Salute",
         "o_da": "dal ministero della Salute"},
        {"o": "l'autorità portuale", "o_di": "dell'autorità portuale",
         "o_da": "dall'autorità portuale"},
        {"o": "la società ferroviaria nazionale", "o_di": "della società ferroviaria nazionale",
         "o_da": "dalla società ferroviaria nazionale"},
    ],
    "pt": [
        {"o": "a Comissão Europeia", "o_de": "da Comissão Europeia",
         "o_por": "pela Comissão Europeia"},
        {"o": "as Nações Unidas", "o_de": "das Nações Unidas", "o_por": "pelas Nações Unidas"},
        {"o": "a NATO", "o_de": "da NATO", "o_por": "pela NATO"},
        {"o": "o banco central", "o_de": "do banco central", "o_por": "pelo banco central"},
        {"o": "o Ministério da Saúde", "o_de": "do Ministério da Saúde",
         "o_por": "pelo Ministério da Saúde"},
        {"o": "a autoridade portuária", "o_de": "da autoridade portuária",
         "o_por": "pela autoridade portuária"},
        {"o": "a companhia ferroviária nacional", "o_de": "da companhia ferroviária nacional",
         "o_por": "pela companhia ferroviária nacional"},
    ],
}
# nominative, genitive, instrumental
_ORGS_PL = [("Komisja Europejska", "Komisji Europejskiej", "Komisją Europejską"),
            ("Organizacja Narodów Zjednoczonych", "Organizacji Narodów Zjednoczonych",
             "Organizacją Narodów Zjednoczonych"),
            ("NATO", "NATO", "NATO"),
            ("bank centralny", "banku centralnego", "bankiem centralnym"),
            ("ministerstwo zdrowia", "ministerstwa zdrowia", "ministerstwem zdrowia"),
            ("zarząd portu", "zarządu portu", "zarządem portu"),
            ("krajowy przewoźnik kolejowy", "krajowego przewoźnika kolejowego",
             "krajowym przewoźnikiem kolejowym")]
_ORGS_UK = [("Європейська комісія", "Європейської комісії", "Європейською комісією"),
            ("ООН", "ООН", "ООН"),
            ("НАТО", "НАТО", "НАТО"),
            ("центральний банк", "центрального банку", "центральним банком"),
            ("міністерство охорони здоров’я", "міністерства охорони здоров’я",
             "міністерством охорони здоров’я"),
            ("адміністрація порту", "адміністрації порту", "адміністрацією порту"),
            ("національний залізничний оператор", "національного залізничного оператора",
             "національним залізничним оператором")]
# Past-tense verbs that agree with the person: (masculine, feminine)
VERBS = {"pl": {"said": ("powiedział", "powiedziała"), "met": ("spotkał się", "spotkała się")},
         "uk": {"said": ("заявив", "заявила"), "met": ("зустрівся", "зустрілася")}}


def _cases(slot: str, names: list[tuple[str, str, str]], *suffixes: str) -> list[_Forms]:
    return [{slot + s: form for s, form in zip(suffixes, forms, strict=True)} for forms in names]


# language -> (people, places, orgs)
LEXICONS: dict[str, tuple[list[_Forms], list[_Forms], list[_Forms]]] = {
    **{lang: (_plain("p", PEOPLE), _plain("c", PLACES), _plain("o", ORGS))
       for lang in ("en", "es", "ru", "sw")},
    **{lang: (_plain("p", PEOPLE), _plain("c", _PLACES[lang]), _ORGS[lang])
       for lang in ("de", "fr", "it", "pt")},
    "pl": (_PEOPLE_PL, _cases("c", _PLACES_PL, "", "_gen", "_loc"),
           _cases("o", _ORGS_PL, "", "_gen", "_ins")),
    "uk": (_PEOPLE_UK, _cases("c", _PLACES_UK, "", "_gen", "_loc"),
           _cases("o", _ORGS_UK, "", "_gen", "_ins")),
}


@dataclass(frozen=True)
class BenchItem:
    guid: str
    language: str
    headline: str
    body: str
    published: datetime

    @property
    def words(self) -> int:
        return len(self.body.split()) + len(self.headline.split())


def _sentence(rng: random.Random, lang: str) -> str:
    people, places, orgs = LEXICONS[lang]
    template = rng.choice(TEMPLATES[lang])
    person, place, org = rng.choice(people), rng.choice(places), rng.choice(orgs)
    verbs = {verb: forms[bool(person.get("female"))]
             for verb, forms in VERBS.get(lang, {}).items()}
    return template.format(**person, **place, **org, **verbs, d=rng.choice(DAYS[lang]),
                           n=rng.randint(2, 900))


def make_items(n: int, *, seed: int = 7, mix: dict[str, float] | None = None) -> list[BenchItem]:
    mix = mix or DEFAULT_MIX
    rng = random.Random(seed)
    langs, weights = zip(*mix.items(), strict=True)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        lang = rng.choices(langs, weights)[0]
        words = int(min(1500, max(300, rng.lognormvariate(6.3, 0.45))))
        paragraphs: list[str] = []
        count = 0
        while count < words:
            para = " ".join(_sentence(rng, lang) for _ in range(rng.randint(2, 4)))
            paragraphs.append(para)
            count += len(para.split())
        headline = " ".join(_sentence(rng, lang).split()[:12]).rstrip(",.")
        items.append(BenchItem(
            guid=f"urn:bench:{seed}:{i}", language=lang, headline=headline,
            body="\n\n".join(paragraphs), published=base + timedelta(minutes=i),
        ))
    return items


def rss(items: list[BenchItem], *, title: str = "bench") -> bytes:
    entries = []
    for it in items:
        html = "".join(f"<p>{escape(p)}</p>" for p in it.body.split("\n\n"))
        entries.append(
            f"<item><title>{escape(it.headline)}</title>"
            f"<link>https://bench.example/{it.guid.rsplit(':', 1)[1]}</link>"
            f"<guid isPermaLink=\"false\">{it.guid}</guid>"
            f"<pubDate>{format_datetime(it.published)}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://bench.example/</link><description>b"
        f"</description>{''.join(entries)}</channel></rss>"
    ).encode()
