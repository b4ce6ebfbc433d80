"""Deterministic demo conversations for the demo organisation "Samsyn Demo AB".

Pure data + one small generator, stdlib only. The seeding code calls
``demo_conversations(now)`` and writes the result to the database.

Scenario templates
------------------
Every scenario is a full, resolved thread written by hand. A step is a
``(code, text)`` tuple:

    "c"   customer message (mail) / visitor post or comment (forum)
    "c!"  customer message that needs no reply ("Tack, det löste sig!")
    "a"   public reply by the assigned editor (mail reply / forum answer)
    "a?"  public reply by the assigned editor that asks the customer something
          (a thread cut here is "waiting" in the mailbox)
    "ac"  short forum comment by the assigned editor
    "n"   internal note by the assigned editor
    "on"  internal note by another editor

The generator picks a scenario, fills in placeholders ({first}, {order},
{product}, ...) from a ``random.Random(seed)``, and cuts the thread to match
the conversation's age: fresh conversations are mostly open and unanswered,
older mail is mostly closed, older forum threads mostly archived.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone


@dataclass(frozen=True)
class DemoMessage:
    author: str  # "customer" | "anna" | "bjorn" | "lena"
    kind: str  # "customer" | "editor" | "note" | "comment"
    minutes_after_start: int
    text: str


@dataclass(frozen=True)
class DemoConversation:
    channel: str  # "sv_forum" | "no_forum" | "info"
    subject: str
    customer_name: str
    customer_email: str
    language: str  # "sv" | "en" | "no"
    started_at: datetime  # timezone-aware UTC
    status: str  # info: open|waiting|closed, forums: open|archived
    assignee: str | None
    tags: tuple[str, ...]
    messages: tuple[DemoMessage, ...]
    no_reply_needed: bool
    visitor: dict | None


DEMO_TAG_GROUPS: dict[str, tuple[str, ...]] = {
    "Ämne": (
        "Leverans",
        "Faktura",
        "Betalning",
        "Inloggning",
        "Retur",
        "Reklamation",
        "Produktfråga",
        "Presentkort",
        "Förslag",
        "Beröm",
        "App",
        "Konto",
    ),
    "Prioritet": ("Brådskande", "VIP"),
}

# --------------------------------------------------------------------------
# People, products and other ingredients
# --------------------------------------------------------------------------

EDITORS = ("anna", "bjorn", "lena")
EDITOR_FIRST_NAMES = {"anna": "Anna", "bjorn": "Björn", "lena": "Lena"}
EDITOR_WEIGHTS = (42, 38, 20)  # Lena is team lead and answers less

FIRST_NAMES = {
    "sv": (
        "Karin", "Maria", "Elin", "Sara", "Emma", "Johanna", "Linnea", "Ida",
        "Malin", "Sofia", "Eva", "Ingrid", "Agnes", "Maja", "Helena", "Åsa",
        "Erik", "Lars", "Anders", "Johan", "Mikael", "Peter", "Oskar", "Viktor",
        "Gustav", "Henrik", "Mats", "Jonas", "Olof", "Pär", "Göran", "Ali",
    ),
    "no": (
        "Ingrid", "Kari", "Nora", "Sigrid", "Marte", "Silje", "Ragnhild", "Tone",
        "Hilde", "Solveig", "Ola", "Lars", "Bjørn", "Eirik", "Håkon", "Magnus",
        "Sindre", "Torbjørn", "Jørgen", "Øystein", "Kristoffer", "Ådne",
    ),
    "en": (
        "Emily", "Sarah", "Olivia", "Hannah", "Priya", "Chloe", "Laura",
        "James", "Daniel", "Tom", "Michael", "David", "Ahmed", "Lukas", "Ryan",
    ),
}
LAST_NAMES = {
    "sv": (
        "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
        "Olsson", "Persson", "Svensson", "Gustafsson", "Lindberg", "Lindqvist",
        "Berg", "Sjöberg", "Holmgren", "Åberg", "Ström", "Wikström", "Hedlund",
        "Björk", "Nyström", "Sandberg", "Öberg", "Forsberg", "Mohammadi",
    ),
    "no": (
        "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen",
        "Nilsen", "Kristiansen", "Haugen", "Solberg", "Bakken", "Lie",
        "Strand", "Dahl", "Sæther", "Løken", "Berge", "Nygård", "Bråten",
    ),
    "en": (
        "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Walker", "Evans",
        "Murphy", "O'Brien", "Patel", "Müller", "Schneider", "Kowalski",
        "Campbell", "Reed",
    ),
}
EMAIL_DOMAINS = {
    "sv": ("gmail.com", "hotmail.com", "outlook.com", "telia.com", "icloud.com",
           "bredband.net", "live.se", "yahoo.se"),
    "no": ("gmail.com", "online.no", "hotmail.no", "outlook.com", "icloud.com"),
    "en": ("gmail.com", "outlook.com", "proton.me", "yahoo.co.uk", "icloud.com"),
}

SWEDISH_CITIES = ("Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås",
                  "Örebro", "Linköping", "Jönköping", "Umeå", "Sundsvall",
                  "Gävle", "Karlstad", "Växjö", "Lund", "Borås", "Östersund")
NORWEGIAN_CITIES = ("Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø",
                    "Kristiansand", "Drammen", "Fredrikstad", "Bodø", "Ålesund")
NORTHERN_CITIES = ("Kiruna", "Luleå", "Gällivare", "Haparanda", "Arjeplog",
                   "Piteå", "Jokkmokk")
STREETS = ("Storgatan 14", "Drottninggatan 5B", "Kungsvägen 22", "Björkvägen 3",
           "Sveavägen 101", "Ringvägen 48", "Skolgatan 9", "Hamngatan 17",
           "Ekbacken 2", "Västra Långgatan 31", "Tallstigen 6")
ZIP_CODES = ("111 22", "413 04", "211 45", "753 20", "722 11", "702 10",
             "582 24", "553 18", "903 27", "852 30", "803 11", "652 24")
COMPANIES = ("Lindqvist Bygg AB", "Norrsken Design AB", "Kafé Kanelbullen HB",
             "Ekholm & Partner Redovisning AB", "Bergström Fastigheter AB",
             "Tandläkarna i Sollentuna AB", "Nordic Pixel AB", "Hedlunds Måleri AB")

# category -> (model, slug, price in SEK, {lang: indefinite noun phrase})
PRODUCTS: dict[str, tuple[tuple[str, str, int, dict[str, str]], ...]] = {
    "kaffe": (
        ("Bryggo Classic 10", "bryggo-classic-10", 1299,
         {"sv": "en kaffebryggare", "no": "en kaffetrakter", "en": "a coffee maker"}),
        ("Bryggo Termos 8", "bryggo-termos-8", 1599,
         {"sv": "en kaffebryggare", "no": "en kaffetrakter", "en": "a coffee maker"}),
        ("Fjällbrygg KB-900", "fjallbrygg-kb-900", 2190,
         {"sv": "en kaffebryggare", "no": "en kaffetrakter", "en": "a coffee maker"}),
    ),
    "dammsugare": (
        ("Dammo V12", "dammo-v12", 4490,
         {"sv": "en sladdlös dammsugare", "no": "en ledningsfri støvsuger",
          "en": "a cordless vacuum cleaner"}),
        ("Dammo V8 Lite", "dammo-v8-lite", 2790,
         {"sv": "en sladdlös dammsugare", "no": "en ledningsfri støvsuger",
          "en": "a cordless vacuum cleaner"}),
    ),
    "robot": (
        ("Dammo Robo R5", "dammo-robo-r5", 3990,
         {"sv": "en robotdammsugare", "no": "en robotstøvsuger", "en": "a robot vacuum"}),
        ("Virvla S7 Pet", "virvla-s7-pet", 5490,
         {"sv": "en robotdammsugare", "no": "en robotstøvsuger", "en": "a robot vacuum"}),
    ),
    "horlurar": (
        ("Ljudo Tyst 700", "ljudo-tyst-700", 2990,
         {"sv": "ett par hörlurar", "no": "et par hodetelefoner",
          "en": "a pair of headphones"}),
        ("Ljudo Studio 5", "ljudo-studio-5", 2490,
         {"sv": "ett par hörlurar", "no": "et par hodetelefoner",
          "en": "a pair of headphones"}),
    ),
    "tv": (
        ("Visio 55 4K", "visio-55-4k", 6990, {"sv": "en TV", "no": "en TV", "en": "a TV"}),
        ("Visio 65 OLED", "visio-65-oled", 14990, {"sv": "en TV", "no": "en TV", "en": "a TV"}),
    ),
    "airfryer": (
        ("Krisp XL", "krisp-xl", 1490,
         {"sv": "en airfryer", "no": "en airfryer", "en": "an air fryer"}),
        ("Krisp Duo", "krisp-duo", 1990,
         {"sv": "en airfryer", "no": "en airfryer", "en": "an air fryer"}),
    ),
    "kok": (
        ("Mixa 600", "mixa-600", 899, {"sv": "en mixer", "no": "en blender", "en": "a blender"}),
        ("Koka 1.7", "koka-1-7", 449,
         {"sv": "en vattenkokare", "no": "en vannkoker", "en": "a kettle"}),
    ),
    "hogtalare": (
        ("Ljudo Box Mini", "ljudo-box-mini", 990,
         {"sv": "en bluetooth-högtalare", "no": "en bluetooth-høyttaler",
          "en": "a Bluetooth speaker"}),
    ),
}

CUSTOMER_SIGNATURES = {
    "sv": ("Mvh {first}", "Mvh\n{name}", "Med vänlig hälsning\n{name}", "/{first}",
           "Hälsningar\n{first}", "{first}", "MVH {first}"),
    "no": ("Mvh {first}", "Hilsen {first}", "Vennlig hilsen\n{name}"),
    "en": ("Thanks,\n{first}", "Best regards,\n{name}", "Cheers,\n{first}",
           "Kind regards\n{name}", "{first}"),
}
MAIL_SIGNATURES = {
    "sv": ("Med vänliga hälsningar\n{agent}\nKundservice, Samsyn Demo AB",
           "Vänliga hälsningar,\n{agent} / Kundservice",
           "Ha en fin dag!\n{agent}\nSamsyn Demo AB – Kundservice"),
    "en": ("Kind regards,\n{agent}\nCustomer Service, Samsyn Demo AB",
           "Best regards,\n{agent} / Samsyn Demo AB Customer Service"),
    "no": ("Vennlig hilsen\n{agent}\nKundeservice, Samsyn Demo AB",),
}
FORUM_SIGNATURES = {
    "sv": ("/{agent}, Samsyn kundservice", "Mvh {agent} – Kundservice",
           "Hälsningar {agent} på Samsyn"),
    "en": ("/{agent}, Samsyn Customer Service", "Cheers, {agent} – Samsyn Customer Service"),
    "no": ("Hilsen {agent}, Samsyn kundeservice", "Mvh {agent} – Kundeservice"),
}
WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "no": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
BROWSERS = (
    ("Firefox 132", "Windows 11"), ("Chrome 131", "Windows 11"), ("Chrome 130", "Windows 10"),
    ("Edge 131", "Windows 11"), ("Safari 18.1", "macOS 15"), ("Chrome 131", "macOS 14"),
    ("Safari 18.1", "iOS 18.1"), ("Safari 17.6", "iOS 17.6"), ("Chrome 131", "Android 14"),
    ("Samsung Internet 26", "Android 14"), ("Chrome 131", "Android 15"),
    ("Firefox 133", "Ubuntu 24.04"),
)

# --------------------------------------------------------------------------
# Scenario templates
# --------------------------------------------------------------------------
# channel, lang, mood (sentiment of the opening message: neg/neu/pos), tags
# (topic tags to choose from), products (categories or None = any), page (forum
# visitor page, relative; default the product page), os (forum visitor platform
# prefix, optional), full (allowed lengths of the finished thread), subjects,
# steps.

SCENARIOS: list[dict] = [
    # ------------------------------------------------------------ info / sv
    {
        "id": "sv_mail_late_delivery", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Var är min beställning?", "Order {order} har fortfarande inte kommit",
                     "Försenad leverans!!"),
        "steps": (
            ("c", "Hej!\n\nJag beställde {thing} ({product}) för {days} dagar sedan, ordernummer "
                  "{order}. På er sida stod det leverans inom 2–4 vardagar men jag har fortfarande "
                  "inte fått något. Spårningen har stått på \"Försändelsen är under transport\" "
                  "sedan i måndags.\n\nDet var en present och nu känns det ganska stressigt. "
                  "Vad händer?\n\n{csig}"),
            ("n", "Spårning {tracking} har inte rört sig på fem dagar. Efterforskning skickad till "
                  "PostNord."),
            ("a?", "Hej {first}!\n\nTack för att du hör av dig och förlåt att leveransen dröjer. "
                   "Paketet lämnade vårt lager i tid men har fastnat hos PostNord, och jag har nu "
                   "begärt en efterforskning.\n\nOm paketet inte har dykt upp på {weekday} skickar "
                   "jag en ny direkt utan kostnad. Vill du i så fall ha den till samma adress?"
                   "\n\n{sig}"),
            ("c", "Ja, samma adress går bra. Tack för snabbt svar iallafall.\n\n/{first}"),
            ("a", "Toppen, då har jag noterat det. Jag hör av mig på {weekday} oavsett hur det "
                  "går.\n\n{sig}"),
            ("c!", "Hej igen! Paketet kom idag, så ni behöver inte skicka något nytt. Tack för "
                   "hjälpen!\n\n{csig}"),
        ),
    },
    {
        "id": "sv_mail_wrong_item", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Leverans", "Retur"), "products": None,
        "subjects": ("Fel vara i paketet", "Fick fel produkt – order {order}"),
        "steps": (
            ("c", "Hej,\n\nfick mitt paket idag (order {order}) men i kartongen låg en helt annan "
                  "modell än {product} som jag beställde. Ganska irriterande eftersom jag "
                  "behövde den till helgen.\n\nHur gör jag nu? Måste jag åka till ombudet igen?"
                  "\n\n{csig}"),
            ("a?", "Hej {first}!\n\nÅh, vad tråkigt – det ska förstås inte hända. Jag ber om "
                   "ursäkt för strulet.\n\nJag skickar en returetikett till din mejl inom en "
                   "timme, så kan du lämna tillbaka den felaktiga varan hos närmaste ombud. Rätt "
                   "vara skickar vi redan idag, du behöver inte vänta på att returen kommer fram."
                   "\n\nKan du bara bekräfta att leveransadressen fortfarande stämmer?\n\n{sig}"),
            ("c", "Ja adressen stämmer. Tack, vad smidigt!"),
            ("n", "Ny order skapad, {order2}. Returetikett skickad."),
            ("a", "Perfekt! Den nya ordern har nummer {order2} och du får ett spårningsnummer så "
                  "fort den lämnat lagret.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_invoice_copy", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Faktura",), "products": None,
        "subjects": ("Kopia på faktura", "Faktura till företaget", "Fråga om faktura {order}"),
        "steps": (
            ("c", "Hej,\n\nKan ni skicka en kopia på fakturan för order {order}? Jag behöver den "
                  "till bokföringen och hittar den inte i mejlen. Den ska gärna ställas på "
                  "företaget om det går.\n\n{csig}"),
            ("a?", "Hej {first}!\n\nAbsolut, det fixar jag. Vi kan ändra fakturamottagaren till "
                   "företaget, men jag behöver företagsnamn, organisationsnummer och "
                   "fakturaadress. Kan du skicka dem?\n\n{sig}"),
            ("c", "Självklart: {company}, org.nr 559123-4567, {street}, {zip} {city}.\n\nTack!"),
            ("a", "Tack! Nu har jag skickat en ny faktura till dig med {company} som mottagare. "
                  "Säg till om något mer behövs.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_login", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Inloggning", "Konto"), "products": None,
        "subjects": ("Kan inte logga in", "Återställningslänk kommer aldrig",
                     "Problem med inloggning"),
        "steps": (
            ("c", "Hej!\n\nJag försöker logga in på mitt konto för att se min order men det står "
                  "bara \"fel e-post eller lösenord\". Jag har tryckt på glömt lösenord tre gånger "
                  "men får aldrig något mejl. Har kollat skräpposten också.\n\n{csig}"),
            ("a?", "Hej {first}!\n\nTråkigt att det krånglar. Jag hittar inget konto på adressen "
                   "du mejlar från. Kan det vara så att du registrerade dig med en annan "
                   "e-postadress?\n\n{sig}"),
            ("c", "Åh, det kan vara min gamla jobbmejl. Kan ni byta till den här adressen "
                  "istället? Ordernummer {order} om det hjälper."),
            ("n", "Bytt e-post på kontot efter kontroll mot order {order}."),
            ("a", "Nu har jag bytt e-postadressen på ditt konto till {email}. Gör en ny "
                  "återställning av lösenordet så ska mejlet komma inom några minuter.\n\n{sig}"),
            ("c!", "Nu funkar det! Tack så mycket."),
        ),
    },
    {
        "id": "sv_mail_return", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Retur",), "products": None,
        "subjects": ("Retur av {product}", "Vill returnera", "Ångerrätt – hur gör jag?"),
        "steps": (
            ("c", "Hej,\n\nJag köpte {thing} ({product}) för en vecka sedan men den var inte "
                  "riktigt vad jag tänkt mig. Den är oanvänd och ligger kvar i originalkartongen. "
                  "Hur gör jag för att returnera den? Ordernr {order}.\n\n{csig}"),
            ("a", "Hej {first}!\n\nInga problem, du har 30 dagars öppet köp hos oss. Gå in på "
                  "Mina sidor → Mina ordrar → \"Returnera\", så får du en QR-kod som du visar "
                  "hos ombudet. Pengarna betalas tillbaka inom 5 bankdagar efter att returen "
                  "kommit fram till oss.\n\n{sig}"),
            ("c!", "Tack för snabbt svar, det löste sig!"),
        ),
    },
    {
        "id": "sv_mail_warranty_coffee", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Reklamation",), "products": ("kaffe",),
        "subjects": ("Kaffebryggaren läcker", "Reklamation {product}",
                     "Trasig bryggare efter 8 månader"),
        "steps": (
            ("c", "Hej.\n\nVår {product} som vi köpte i våras har börjat läcka vatten under "
                  "bryggaren varje gång vi kokar kaffe. Det blir en pöl på bänken och igår rann "
                  "det ner i lådan under. Den är inte ens ett år gammal! Vi har avkalkat enligt "
                  "manualen.\n\nJag förväntar mig att ni byter ut den.\n\n{csig}"),
            ("n", "Känt problem med packningen i första batchen. OK att byta direkt enligt "
                  "{other}."),
            ("a?", "Hej {first},\n\nTack för ditt mejl och förlåt för besväret – det låter "
                   "verkligen inte bra. Eftersom bryggaren är inom garantin byter vi självklart "
                   "ut den.\n\nKan du skicka en bild på typskylten under bryggaren (där "
                   "serienumret står)? Sen skickar vi en ny samma dag.\n\n{sig}"),
            ("c", "Här kommer bilden. [bild bifogad]\n\nBra att det gick smidigt ändå."),
            ("a", "Tack! En ny {product} är på väg till dig, och du får en fraktsedel för att "
                  "skicka tillbaka den gamla när det passar.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_headphones_question", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("horlurar",),
        "subjects": ("Fråga om {product}", "Funkar hörlurarna med två enheter?"),
        "steps": (
            ("c", "Hej! Jag funderar på att köpa {product}. Går det att ha dem kopplade till "
                  "både jobbdatorn och mobilen samtidigt? Och hur länge räcker batteriet med "
                  "brusreduceringen på?\n\n{csig}"),
            ("a", "Hej {first}!\n\nJa, {product} stöder multipoint, så du kan vara ansluten till "
                  "två enheter samtidigt och de växlar automatiskt när ett samtal kommer in. "
                  "Batteriet räcker ca 30 timmar med brusreducering, och 10 minuters laddning ger "
                  "ungefär 5 timmars lyssning.\n\nSäg till om du undrar något mer!\n\n{sig}"),
            ("c!", "Perfekt, då beställer jag ett par. Tack!"),
        ),
    },
    {
        "id": "sv_mail_payment_failed", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Betalning",), "products": None,
        "subjects": ("Betalningen gick inte igenom men pengarna är dragna",
                     "Problem med betalning"),
        "steps": (
            ("c", "Hej\n\nJag försökte betala med kort igår kväll, fick felmeddelandet "
                  "\"betalningen kunde inte genomföras\" men pengarna ({amount}) är dragna från "
                  "mitt konto ändå! Och jag har ingen orderbekräftelse. Vad är det som händer? "
                  "Jag vill inte betala två gånger.\n\n{csig}"),
            ("n", "Ingen order på kundens mejl. Ser ut som en reservation hos kortinlösaren, "
                  "släpps automatiskt."),
            ("a", "Hej {first}!\n\nJag förstår att det är oroande. Det du ser är en reservation, "
                  "inte en dragning – när en betalning avbryts ligger beloppet reserverat en kort "
                  "tid och släpps sedan automatiskt, oftast inom 3–5 bankdagar beroende på bank."
                  "\n\nDu har alltså inte betalat något. Vill du fortfarande ha varan kan du "
                  "lägga ordern igen, eller så skickar jag en betallänk.\n\n{sig}"),
            ("c", "Okej, skönt att höra. Skicka gärna en betallänk så testar jag igen."),
            ("a", "Här kommer länken: https://demo.samsyn.se/betala/{order} – den gäller i 48 "
                  "timmar.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_address_change", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Ändra leveransadress", "Fel adress på ordern!", "Byte av adress order {order}"),
        "steps": (
            ("c", "Hej!\n\nJag råkade skriva min gamla adress när jag beställde nyss (order "
                  "{order}). Går det att ändra till {street}, {zip} {city} innan den skickas?"
                  "\n\n{csig}"),
            ("a", "Hej {first}!\n\nDet hann vi – ordern låg fortfarande kvar på lagret, så jag "
                  "har ändrat adressen till {street}, {zip} {city}. Du får en ny bekräftelse via "
                  "mejl.\n\n{sig}"),
            ("c!", "Tusen tack!!"),
        ),
    },
    {
        "id": "sv_mail_gift_card", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Presentkort",), "products": None,
        "subjects": ("Presentkortet fungerar inte", "Presentkort {code}"),
        "steps": (
            ("c", "Hej,\n\njag fick ett presentkort av min syster men när jag skriver in koden "
                  "{code} i kassan står det \"ogiltig kod\". Hon köpte det för några månader "
                  "sedan. Kan det ha gått ut?\n\n{csig}"),
            ("a?", "Hej {first}!\n\nPresentkort hos oss gäller i 24 månader, så det har inte gått "
                   "ut. Koden finns och har 500 kr kvar. Ibland blir det fel om man får med "
                   "mellanslag – kan du testa att skriva in koden utan mellanslag och "
                   "bindestreck?\n\n{sig}"),
            ("c!", "Nu gick det! Det var mellanslaget. Tack!"),
        ),
    },
    {
        "id": "sv_mail_praise", "channel": "info", "lang": "sv", "mood": "pos",
        "tags": ("Beröm",), "products": None, "full": (1, 2),
        "subjects": ("Tack!", "Bästa servicen", "Bara ett stort tack"),
        "steps": (
            ("c!", "Hej!\n\nVille bara säga tack för supersnabb leverans. Beställde {thing} på "
                   "söndagskvällen och den låg hos ombudet på tisdagen. Och {product} fungerar "
                   "perfekt. Ni har fått en ny stamkund!\n\nHälsningar {first}"),
            ("a", "Hej {first}!\n\nVad glada vi blir – tack för att du tog dig tid att skriva! "
                  "Jag skickar vidare berömmet till lagret.\n\nHa det fint!\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_angry_no_answer", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Leverans",), "products": None,
        "subjects": ("TREDJE gången jag skriver!!", "Inget svar från er", "Vill häva köpet"),
        "steps": (
            ("c", "Det här är tredje gången jag mejlar er om order {order} och jag har inte fått "
                  "ETT enda svar. Jag har betalat {amount} för {thing} som aldrig kommit. "
                  "Telefonen svarar ingen i heller.\n\nOm jag inte hör något idag häver jag köpet "
                  "och anmäler er till ARN. Helt oacceptabelt.\n\n{name}"),
            ("n", "Två tidigare mejl låg i skräpfiltret. {other}, kan du kolla filterreglerna?"),
            ("on", "Kollar filtret nu. Ge kunden ett presentkort på 200 kr, det är vårt fel."),
            ("a?", "Hej {first},\n\nJag ber verkligen om ursäkt. Dina tidigare mejl har fastnat i "
                   "vårt skräppostfilter och det är helt och hållet vårt fel att du inte fått svar."
                   "\n\nJag har kollat din order: paketet har tyvärr kommit bort hos "
                   "transportören. Jag kan antingen skicka en ny med expressfrakt redan idag, "
                   "eller återbetala hela beloppet. Vad föredrar du?\n\n{sig}"),
            ("c", "Skicka en ny då. Men med express, som du skrev."),
            ("a", "Nu är den skickad med express, spårningsnummer {tracking}. Som kompensation har "
                  "jag också lagt in ett presentkort på 200 kr på ditt konto. Återigen förlåt för "
                  "strulet.\n\n{sig}"),
            ("c!", "Okej. Tack för att ni till slut tog tag i det."),
        ),
    },
    {
        "id": "sv_mail_double_charge", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Betalning", "Faktura"), "products": None,
        "subjects": ("Dubbeldragning!", "Ni har dragit pengarna två gånger"),
        "steps": (
            ("c", "Hej. Jag har blivit debiterad två gånger för samma order ({order}), {amount} "
                  "vardera. Det syns tydligt på kontoutdraget. Jag vill ha tillbaka pengarna "
                  "omgående.\n\n{csig}"),
            ("n", "Dubbeldragning bekräftad i betalportalen. Återbetalning gjord."),
            ("a", "Hej {first}!\n\nDu har helt rätt, och jag ber om ursäkt. Det blev ett tekniskt "
                  "fel vid betalningen så att beloppet drogs två gånger. Jag har nu återbetalat "
                  "{amount} och det bör synas på ditt konto inom 3–5 bankdagar.\n\n{sig}"),
            ("c!", "Tack, jag ser att återbetalningen är på väg."),
        ),
    },
    {
        "id": "sv_mail_cancel", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Avbeställning", "Vill avbryta min order"),
        "steps": (
            ("c", "Hej, jag vill avbeställa order {order}. Hittade samma produkt i en butik "
                  "närmare hemma. Går det?\n\n{csig}"),
            ("a", "Hej {first}! Ordern var packad men inte skickad, så jag har makulerat den. "
                  "Pengarna är tillbaka på ditt kort inom några dagar.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_price_drop", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Betalning",), "products": None,
        "subjects": ("Prisjustering?", "Priset sänktes dagen efter mitt köp"),
        "steps": (
            ("c", "Hej!\n\nJag köpte {product} för {amount} i förra veckan och nu ser jag att den "
                  "är på rea för 300 kr mindre. Gör ni prisjustering? Känns lite snopet.\n\n{csig}"),
            ("a", "Hej {first}!\n\nVi har prisgaranti i 14 dagar, så det är klart att du ska få "
                  "mellanskillnaden. Jag har betalat tillbaka 300 kr till samma kort som du "
                  "betalade med.\n\n{sig}"),
            ("c!", "Wow, vad bra! Tack!"),
        ),
    },
    {
        "id": "sv_mail_business_quote", "channel": "info", "lang": "sv", "mood": "pos",
        "tags": ("Produktfråga", "VIP"), "products": ("horlurar",),
        "subjects": ("Offertförfrågan – 15 st hörlurar", "Företagsbeställning"),
        "steps": (
            ("c", "Hej!\n\nVi är ett växande företag ({company}) och ska utrusta vårt nya kontor. "
                  "Vi är intresserade av 15 st {product} och undrar om ni har företagspriser vid "
                  "större köp? Faktura med 30 dagar vore perfekt.\n\nSer fram emot att höra från "
                  "er!\n\n{csig}"),
            ("a?", "Hej {first}!\n\nVad roligt att ni funderar på oss! Vid köp av 10 st eller "
                   "fler ger vi 12 % rabatt, och vi kan absolut fakturera med 30 dagars "
                   "betalningsvillkor efter en kreditkontroll.\n\nKan du skicka "
                   "organisationsnummer och önskat leveransdatum, så tar jag fram en offert?"
                   "\n\n{sig}"),
            ("c", "Toppen! Orgnr 556677-1234 och vi skulle gärna ha dem senast på {weekday} "
                  "nästa vecka."),
            ("n", "Offert på gång. {other}, kan du kolla lagersaldot på 15 st {product}?"),
            ("on", "Vi har 22 st i lager, inga problem."),
            ("a", "Hej igen! Offerten ligger bifogad. Vi har alla 15 i lager, så leverans till "
                  "{weekday} nästa vecka går bra.\n\n{sig}"),
            ("c!", "Offerten är godkänd, vi lägger beställningen idag. Tack för snabb hantering!"),
        ),
    },
    {
        "id": "sv_mail_damaged_parcel", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Reklamation", "Leverans"), "products": None,
        "subjects": ("Trasig vid leverans", "Kartongen var krossad"),
        "steps": (
            ("c", "Hej!\n\nPaketet kom idag men kartongen var helt intryckt på ena sidan och "
                  "{product} har en stor spricka i höljet. Jag har tagit bilder. Ordernummer "
                  "{order}.\n\nVad gör vi nu? Känns inte kul att ha betalat {amount} för det här."
                  "\n\n{csig}"),
            ("a", "Hej {first}!\n\nUsch, vad tråkigt. Tack för att du tog bilder – skicka gärna "
                  "med dem som svar på det här mejlet. Du behöver inte skicka tillbaka den "
                  "trasiga, vi skickar en ny direkt.\n\n{sig}"),
            ("n", "Skadeanmälan till transportören gjord. Ersättningsorder {order2}."),
            ("c!", "Bilderna bifogade. Tack för smidig hantering."),
        ),
    },
    {
        "id": "sv_mail_extra_battery", "channel": "info", "lang": "sv", "mood": "pos",
        "tags": ("Produktfråga",), "products": ("dammsugare",),
        "subjects": ("Extra batteri till {product}?", "Fråga om tillbehör"),
        "steps": (
            ("c", "Hej!\n\nÄlskar min nya {product} – den är så mycket smidigare än vår gamla "
                  "sladdmodell. Nu undrar jag bara om ni säljer extra batteri till den? Vi har "
                  "ett stort hus och det tar slut innan övervåningen är klar 😄\n\n{csig}"),
            ("a", "Hej {first}!\n\nVad kul att du är nöjd! Ja, extrabatteriet finns här: "
                  "https://demo.samsyn.se/produkter/{slug}-extrabatteri. Det klickas enkelt på, "
                  "så du kan ha ett på laddning medan du dammsuger.\n\n{sig}"),
            ("c!", "Perfekt, beställt! Tack."),
        ),
    },
    {
        "id": "sv_mail_refund_missing", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Retur", "Betalning"), "products": None,
        "subjects": ("Var är mina pengar?", "Ingen återbetalning för retur"),
        "steps": (
            ("c", "Hej\n\nJag skickade tillbaka {product} för tre veckor sedan (order {order}). "
                  "Enligt spårningen kom paketet fram till er för länge sedan men jag har "
                  "fortfarande inte fått tillbaka några pengar. Ni skriver 5 bankdagar på er "
                  "hemsida. Vad är det som tar sån tid?\n\n{csig}"),
            ("n", "Returen står som mottagen men aldrig registrerad. Pingat lagret."),
            ("a", "Hej {first}!\n\nFörlåt för väntan. Returen har kommit fram men hade tyvärr "
                  "inte registrerats i vårt system, så återbetalningen startade aldrig. Det är "
                  "nu åtgärdat och {amount} är på väg tillbaka till dig.\n\n{sig}"),
            ("c", "Okej, tack. Hoppas det kommer den här gången."),
            ("a", "Det gör det – jag har dubbelkollat att återbetalningen är skickad. Hör av dig "
                  "om den inte syns inom fem bankdagar.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_gdpr", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Konto",), "products": None,
        "subjects": ("Radera mitt konto", "Begäran om borttagning av personuppgifter"),
        "steps": (
            ("c", "Hej. Jag vill att ni raderar mitt konto och alla personuppgifter ni har om "
                  "mig enligt GDPR. Jag vill inte heller få fler nyhetsbrev.\n\n{name}"),
            ("a?", "Hej {first}!\n\nDet ordnar vi. Av säkerhetsskäl behöver jag bara bekräfta "
                   "att det är du: kan du ange ett ordernummer eller något annat som bara du "
                   "vet om kontot?\n\n{sig}"),
            ("c", "Ordernummer {order}."),
            ("a", "Tack! Ditt konto är nu raderat och du är avregistrerad från alla utskick. "
                  "Observera att vi enligt bokföringslagen måste spara kvitton i sju år, men de "
                  "används inte till något annat.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_reminder_fee", "channel": "info", "lang": "sv", "mood": "neg",
        "tags": ("Faktura",), "products": None,
        "subjects": ("Påminnelseavgift på betald faktura", "Felaktig påminnelse"),
        "steps": (
            ("c", "Hej!\n\nJag har fått en påminnelse med 60 kr i avgift för order {order}, men "
                  "fakturan betalade jag i tid. Har kvittot från banken. Det här är tredje gången "
                  "något strular med era fakturor och jag börjar tröttna ärligt talat.\n\n{csig}"),
            ("a?", "Hej {first},\n\nFörlåt för krånglet. Jag hittar tyvärr ingen inbetalning "
                   "kopplad till fakturan – det händer ibland om OCR-numret blivit fel. Kan du "
                   "skicka en bild eller pdf på betalningen från banken?\n\n{sig}"),
            ("c", "Här. Ser att jag skrev ordernumret istället för OCR. Mitt fel, men ändå."),
            ("n", "Betalningen hittad på OCR-kontot, kopplad manuellt. Avgift struken."),
            ("a", "Tack! Nu har jag hittat betalningen och kopplat den till rätt faktura. "
                  "Påminnelseavgiften är struken, så du behöver inte göra något mer.\n\n{sig}"),
            ("c!", "Toppen, tack för hjälpen."),
        ),
    },
    {
        "id": "sv_mail_thanks_agent", "channel": "info", "lang": "sv", "mood": "pos",
        "tags": ("Beröm",), "products": None, "full": (1, 2),
        "subjects": ("Tack till {agent}!", "Beröm till er kundtjänst"),
        "steps": (
            ("c!", "Hej!\n\nVille bara säga tack till {agent} som hjälpte mig förra veckan med "
                   "min reklamation. Så snabbt och trevligt, det är sällan man får sån service "
                   "nuförtiden. Ni ska ha en eloge!\n\n{csig}"),
            ("a", "Hej {first}!\n\nÅh, vad glad jag blir av att läsa det här – tack! Det är "
                  "sånt som gör jobbet roligt. Hör av dig om det är något mer.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_pickup_store", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Kan man hämta i butik?", "Upphämtning i {city}?"),
        "steps": (
            ("c", "Hej, har ni någon butik i {city} där man kan hämta sin beställning? Vill "
                  "gärna ha {product} redan i helgen.\n\n{csig}"),
            ("a", "Hej {first}!\n\nVi är en ren nätbutik och har tyvärr inga fysiska butiker. "
                  "Beställer du före kl. 14 skickas paketet samma dag, och till {city} brukar "
                  "det ta 1–2 vardagar. Väljer du hemleverans med kvällsutkörning kan du få det "
                  "redan i morgon kväll.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_mail_old_tv_loyal", "channel": "info", "lang": "sv", "mood": "pos",
        "tags": ("Produktfråga",), "products": ("tv",),
        "subjects": ("Dags för ny TV – råd?", "Fråga inför köp"),
        "steps": (
            ("c", "Hej!\n\nVi köpte vår förra TV av er för tolv år sedan och den har fungerat "
                  "klockrent ända tills nu, så ni får förtroendet igen 😊 Vi funderar på "
                  "{product}. Fungerar den bra i ett ljust vardagsrum med fönster mot söder?"
                  "\n\n{csig}"),
            ("a", "Hej {first}!\n\nTolv år – imponerande! Tack för att ni väljer oss igen. "
                  "{product} har en matt skärm och hög ljusstyrka, så den klarar ljusa rum "
                  "riktigt bra. Det enda tips jag har är att undvika att ställa den precis mitt "
                  "emot fönstret.\n\n{sig}"),
            ("c!", "Tack för ett bra svar! Då blir det den."),
        ),
    },
    {
        "id": "sv_mail_wrong_invoice_amount", "channel": "info", "lang": "sv", "mood": "neu",
        "tags": ("Faktura",), "products": None,
        "subjects": ("Fel belopp på fakturan?", "Fråga om fraktkostnad på faktura"),
        "steps": (
            ("c", "Hej!\n\nPå fakturan för order {order} står det 79 kr i frakt, men i kassan "
                  "stod det fri frakt. Har jag missat något?\n\n{csig}"),
            ("a", "Hej {first}!\n\nDu har rätt, fri frakt gällde på din order. Det blev fel när "
                  "fakturan skapades. Jag har skickat en ny faktura utan fraktkostnad, och den "
                  "gamla är makulerad.\n\n{sig}"),
            ("c!", "Tack, då är allt bra!"),
        ),
    },
    # ------------------------------------------------------------ info / en
    {
        "id": "en_mail_late_delivery", "channel": "info", "lang": "en", "mood": "neg",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Where is my order?", "Order {order} still not delivered"),
        "steps": (
            ("c", "Hi,\n\nI ordered {thing} ({product}) {days} days ago, order number {order}. "
                  "The confirmation said 2–4 working days but nothing has arrived and the "
                  "tracking hasn't updated since last week. I'm starting to wonder if it was "
                  "ever sent.\n\nCould you please look into this?\n\n{csig}"),
            ("a?", "Hi {first},\n\nThanks for reaching out, and sorry for the wait. Your parcel "
                   "is stuck at the PostNord terminal in {city}, and I've opened an investigation "
                   "with them.\n\nIf it hasn't moved by {weekday}, I'll send a replacement. Could "
                   "you confirm that the phone number on the order is correct, so the driver can "
                   "reach you?\n\n{sig}"),
            ("c", "Yes, the number is correct. Thanks for the quick reply."),
            ("a", "Great, thanks! The parcel started moving again this morning and should be "
                  "delivered tomorrow.\n\n{sig}"),
            ("c!", "It arrived! Thanks for your help."),
        ),
    },
    {
        "id": "en_mail_vat_receipt", "channel": "info", "lang": "en", "mood": "neu",
        "tags": ("Faktura",), "products": None,
        "subjects": ("Receipt with VAT", "Invoice for expense report"),
        "steps": (
            ("c", "Hello,\n\nI need a receipt with VAT specified for order {order} for my "
                  "company's expense report. The order confirmation only shows the total. Is it "
                  "possible to get a proper invoice in English?\n\n{csig}"),
            ("a", "Hi {first},\n\nOf course! I've attached a receipt for order {order} with VAT "
                  "(25%) specified. Unfortunately our invoices are only available in Swedish, "
                  "but the VAT line is labelled \"Moms\".\n\n{sig}"),
            ("c!", "Perfect, that works. Thank you!"),
        ),
    },
    {
        "id": "en_mail_return", "channel": "info", "lang": "en", "mood": "neu",
        "tags": ("Retur",), "products": None,
        "subjects": ("Return request", "How do I return an item?"),
        "steps": (
            ("c", "Hi there,\n\nI'd like to return {thing} I bought last week (order {order}). "
                  "It works fine, it's just too big for my apartment. How do I return it, and do "
                  "I have to pay for shipping?\n\nThanks,\n{first}"),
            ("a", "Hi {first},\n\nNo problem at all – you have 30 days to return it. Log in to "
                  "My Pages → My orders → \"Return\", and you'll get a QR code to show at any "
                  "PostNord service point. Returns are free within Sweden.\n\nYou'll get your "
                  "money back within 5 banking days after we receive the item.\n\n{sig}"),
        ),
    },
    {
        "id": "en_mail_thanks", "channel": "info", "lang": "en", "mood": "pos",
        "tags": ("Beröm",), "products": None, "full": (1, 2),
        "subjects": ("Thank you!", "Great service"),
        "steps": (
            ("c!", "Hi,\n\nJust wanted to say thank you for the excellent service. I'm new in "
                   "Sweden and was a bit nervous ordering from a Swedish shop, but everything "
                   "went smoothly and {agent} answered all my questions in English. The "
                   "{product} works great!\n\nCheers,\n{first}"),
            ("a", "Hi {first},\n\nThank you so much for the kind words – it really made my day! "
                  "Welcome to Sweden, and enjoy the {product}.\n\n{sig}"),
        ),
    },
    {
        "id": "en_mail_doa", "channel": "info", "lang": "en", "mood": "neg",
        "tags": ("Reklamation",), "products": None,
        "subjects": ("Product doesn't work", "Broken on arrival – order {order}"),
        "steps": (
            ("c", "Hello,\n\nThis is really disappointing. The {product} I received yesterday "
                  "doesn't even turn on. I've tried different outlets and a different cable. "
                  "I paid {amount} for this and expected it to at least work out of the box."
                  "\n\nI want a replacement sent immediately, not in two weeks.\n\n{name}"),
            ("a?", "Hi {first},\n\nI'm really sorry – that's not the experience we want you to "
                   "have. We'll send a replacement right away, and you can return the faulty "
                   "unit with the prepaid label I'm attaching.\n\nJust to make sure it goes to "
                   "the right place: is the delivery address on order {order} still correct?"
                   "\n\n{sig}"),
            ("c", "Yes, same address. Thanks for sorting it quickly."),
            ("a", "Done – the replacement ships today, tracking number {tracking}.\n\n{sig}"),
        ),
    },
    {
        "id": "en_mail_uk_voltage", "channel": "info", "lang": "en", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("kaffe", "kok", "airfryer"),
        "subjects": ("Will it work in the UK?", "Question about {product}"),
        "steps": (
            ("c", "Hi! I'm moving to the UK next year. Will the {product} work there if I use a "
                  "plug adapter, or is the voltage different? Thanks!\n\n{csig}"),
            ("a", "Hi {first},\n\nGood question! The UK uses 230 V just like Sweden, so the "
                  "{product} will work fine with a simple plug adapter – no converter needed. "
                  "The warranty is still valid, but repairs would have to be handled through us "
                  "in Sweden.\n\n{sig}"),
            ("c!", "Great, thanks for the clear answer!"),
        ),
    },
    {
        "id": "en_mail_card_declined", "channel": "info", "lang": "en", "mood": "neg",
        "tags": ("Betalning",), "products": None,
        "subjects": ("Payment keeps failing", "Can't pay at checkout"),
        "steps": (
            ("c", "Hi,\n\nI've tried to pay three times now with two different cards and it keeps "
                  "saying \"Payment failed\". My bank says there's nothing wrong on their side. "
                  "This is really frustrating, I need the {product} before the weekend.\n\n{first}"),
            ("a?", "Hi {first},\n\nSorry about the trouble! We've seen this with some cards issued "
                   "abroad that require an extra verification step. Are your cards from a bank "
                   "outside Sweden? If so, I can send you a payment link that uses a different "
                   "flow.\n\n{sig}"),
            ("c", "Yes, they're German cards. A link would be great."),
            ("a", "Here you go: https://demo.samsyn.se/betala/{order} – it's valid for 48 hours. "
                  "Let me know if it still doesn't work.\n\n{sig}"),
            ("c!", "That worked, thanks!"),
        ),
    },
    # -------------------------------------------------------- sv_forum / sv
    {
        "id": "sv_forum_app_crash", "channel": "sv_forum", "lang": "sv", "mood": "neg",
        "tags": ("App", "Inloggning"), "products": None, "page": "appen", "os": "Android",
        "subjects": ("Appen kraschar när jag loggar in",
                     "Appen stängs direkt efter inloggning (Android)"),
        "steps": (
            ("c", "Sedan senaste uppdateringen kraschar appen varje gång jag försöker logga in "
                  "med BankID. Den bara stängs ner. Har provat att avinstallera och installera "
                  "om. Någon mer som har samma problem?? Kan inte se mina ordrar nu."),
            ("a?", "Hej {first}!\n\nTack för att du rapporterar det här. Vi har fått fler "
                   "liknande rapporter från Android-användare och utvecklarna felsöker just nu. "
                   "Vilken telefonmodell och Android-version har du? Det hjälper oss att hitta "
                   "felet snabbare.\n\n{sig}"),
            ("c", "Samsung Galaxy S22, Android 14."),
            ("a", "Tack! Nu har vi släppt version 4.2.1 som ska rätta felet. Uppdatera appen i "
                  "Google Play och säg gärna till här om det fortfarande krånglar.\n\n{sig}"),
            ("c!", "Funkar nu, tack!"),
        ),
    },
    {
        "id": "sv_forum_idea_wishlist", "channel": "sv_forum", "lang": "sv", "mood": "pos",
        "tags": ("Förslag",), "products": None, "page": "forum", "full": (1, 3),
        "subjects": ("Idé: delbara önskelistor", "Förslag: önskelista som går att dela"),
        "steps": (
            ("c!", "Hej! Jag handlar ofta presenter hos er och det vore så smidigt om man kunde "
                   "skapa en önskelista och dela länken med familjen inför jul och födelsedagar. "
                   "Typ som på andra sajter. Vad tror ni? Skulle älska det!"),
            ("ac", "Hej {first}! Riktigt bra idé, tack! Jag har skickat vidare den till vårt "
                   "produktteam. Vi kan inte lova något datum, men vi uppdaterar tråden om det "
                   "blir av.\n\n{sig}"),
            ("c!", "Kul att höra! Röstar gärna om ni gör en omröstning 😊"),
        ),
    },
    {
        "id": "sv_forum_praise_warehouse", "channel": "sv_forum", "lang": "sv", "mood": "pos",
        "tags": ("Beröm",), "products": None, "full": (1, 2),
        "subjects": ("Stort tack till lagret!", "Snabbaste leveransen någonsin"),
        "steps": (
            ("c!", "Vill bara ge en eloge till er på lagret och kundtjänst. Min {product} kom "
                   "inom ett dygn och var så väl paketerad. Första gången jag handlar här men "
                   "definitivt inte sista!"),
            ("ac", "Tack {first}, vad roligt att läsa! Vi hälsar till lagret 😊\n\n{sig}"),
        ),
    },
    {
        "id": "sv_forum_robot_pet_hair", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("robot",),
        "subjects": ("Vilken robotdammsugare klarar hundhår bäst?", "Robotdammsugare och husdjur"),
        "steps": (
            ("c", "Vi har två golden retrievers och det är hår ÖVERALLT. Funderar på {product} "
                  "eller någon annan av era modeller. Hur bra klarar de långa hår, trasslar de in "
                  "sig i borsten? Vi har mest parkett och några mattor."),
            ("a", "Hej {first}!\n\nMed två goldens skulle jag rekommendera {product} – den har en "
                  "gummiborste utan borst som inte trasslar in sig på samma sätt, och en större "
                  "dammbehållare. Töm den ofta och rengör borsten en gång i veckan, så håller "
                  "den sig fin.\n\n{sig}"),
            ("c", "Tack för tipset! Klarar den trösklar också? Vi har några på ca 2 cm."),
            ("a", "Den klättrar över trösklar upp till 2 cm, så det bör gå bra. Annars finns det "
                  "små tröskelramper som gör det enklare.\n\n{sig}"),
            ("c!", "Perfekt, beställer den nu. Tack för hjälpen!"),
        ),
    },
    {
        "id": "sv_forum_delivery_north", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Leverans",), "products": ("tv",), "page": "kundservice/leverans",
        "subjects": ("Leveranstid till Norrland?", "Hur lång tid tar det till {north_city}?"),
        "steps": (
            ("c", "Hej, hur lång är leveranstiden till {north_city} ungefär? Står 2–4 dagar på "
                  "sidan men gäller det hela Sverige? Behöver en ny TV innan helgen 😅"),
            ("a", "Hej {first}! Till {north_city} brukar det ta 3–5 vardagar eftersom paketen går "
                  "via terminalen i Umeå. Beställer du före kl. 14 skickas det samma dag. För "
                  "stora varor som TV kan det ta en dag extra.\n\n{sig}"),
            ("c!", "Ok, tack för svar!"),
        ),
    },
    {
        "id": "sv_forum_slow_returns", "channel": "sv_forum", "lang": "sv", "mood": "neg",
        "tags": ("Retur",), "products": None, "page": "kundservice/retur",
        "subjects": ("Varför tar returer så lång tid??", "Väntar fortfarande på återbetalning"),
        "steps": (
            ("c", "Jag skickade tillbaka en vara för 2,5 veckor sen och har fortfarande inte fått "
                  "pengarna. Kundtjänst svarar med standardsvar. Andra butiker fixar det på några "
                  "dagar. Är det bara jag som tycker det här är dåligt?"),
            ("a?", "Hej {first},\n\nFörlåt att det dröjt – det ska inte ta så lång tid. Vi har "
                   "haft längre hanteringstider på returer den senaste tiden, men 2,5 vecka är "
                   "för länge. Kan du mejla ditt ordernummer till info@demo.samsyn.se (skriv det "
                   "inte här i forumet), så kollar jag upp den direkt?\n\n{sig}"),
            ("c", "Skickat nu."),
            ("a", "Tack, jag har hittat den och återbetalningen är gjord. Du ska se pengarna "
                  "inom ett par bankdagar.\n\n{sig}"),
            ("c!", "Fått pengarna nu. Bra att det löste sig till slut."),
        ),
    },
    {
        "id": "sv_forum_descaling_tip", "channel": "sv_forum", "lang": "sv", "mood": "pos",
        "tags": ("Produktfråga",), "products": ("kaffe",), "full": (1, 2),
        "subjects": ("Tips: avkalka {product} med citronsyra", "Så får du bryggaren som ny"),
        "steps": (
            ("c!", "För er som har {product}: jag avkalkar med 2 msk citronsyra i en full kanna "
                   "vatten en gång i månaden. Kör halva, låt stå 15 min, kör resten. Sen två "
                   "omgångar med rent vatten. Kaffet blir mycket godare och den brygger snabbare "
                   "igen!"),
            ("ac", "Grymt tips, tack {first}! Det stämmer med vad tillverkaren rekommenderar. Vi "
                   "länkar hit från produktsidan.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_forum_headphones_disconnect", "channel": "sv_forum", "lang": "sv", "mood": "neg",
        "tags": ("Reklamation", "Produktfråga"), "products": ("horlurar",),
        "subjects": ("{product} tappar anslutningen hela tiden", "Hörlurarna kopplar från mobilen"),
        "steps": (
            ("c", "Mina {product} kopplar från mobilen typ var tionde minut. Superirriterande när "
                  "man lyssnar på podd på bussen. Har uppdaterat allt. Betalade {amount} för dom "
                  "här. Någon som vet vad man kan göra?"),
            ("a?", "Hej {first}!\n\nTråkigt att höra. Testa först att återställa hörlurarna: håll "
                   "in strömknappen och volym ner i 10 sekunder tills lampan blinkar lila, och "
                   "parkoppla sedan på nytt. Ta gärna bort dem ur mobilens Bluetooth-lista innan."
                   "\n\nVilken mobil använder du?\n\n{sig}"),
            ("c", "iPhone 13. Testade återställningen, verkar bättre faktiskt! Har hållit i en "
                  "timme nu."),
            ("ac", "Skönt att höra! Säg till här om det kommer tillbaka, så löser vi en "
                   "reklamation.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_forum_swish", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Betalning",), "products": None, "page": "kassan",
        "subjects": ("Kan man betala med Swish?", "Betalsätt i kassan"),
        "steps": (
            ("c", "Hej! Hittar bara kort och Klarna i kassan. Går det att betala med Swish? "
                  "Använder helst inte kort på nätet."),
            ("a", "Hej {first}! Ja, Swish finns som betalsätt – det dyker upp i kassan när du har "
                  "fyllt i ett svenskt mobilnummer. Om det inte syns, testa att ladda om sidan "
                  "efter att du skrivit in numret.\n\n{sig}"),
            ("c!", "Ah där var det, tack!"),
        ),
    },
    {
        "id": "sv_forum_idea_parcel_lockers", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Förslag", "Leverans"), "products": None, "page": "kundservice/leverans",
        "full": (1, 2, 3),
        "subjects": ("Önskemål: leverans till paketskåp", "Paketskåp som leveransalternativ?"),
        "steps": (
            ("c", "Skulle gärna se att ni erbjöd leverans till paketskåp. Ombudet här är bara "
                  "öppet 10–18 och det är nästan omöjligt att hinna dit efter jobbet."),
            ("ac", "Hej {first}! Tack för feedbacken, det är många som efterfrågat det här. Vi "
                   "tittar på fler leveransalternativ under våren och tar med ditt förslag.\n\n{sig}"),
            ("c!", "Låter bra, håller tummarna!"),
        ),
    },
    {
        "id": "sv_forum_bankid_popup", "channel": "sv_forum", "lang": "sv", "mood": "neg",
        "tags": ("Inloggning",), "products": None, "page": "logga-in",
        "subjects": ("Kan inte logga in med BankID", "BankID snurrar bara"),
        "steps": (
            ("c", "När jag väljer BankID på datorn händer ingenting, det bara snurrar. På mobilen "
                  "funkar det. Har testat både Chrome och Firefox. Riktigt dåligt att man inte kan "
                  "se sina egna beställningar!!"),
            ("a?", "Hej {first}!\n\nTråkigt att det krånglar. Använder du BankID på samma dator "
                   "eller mobilt BankID? Har du en popup-blockerare kan den stoppa BankID-appen "
                   "från att starta – testa gärna att tillåta popup-fönster för demo.samsyn.se."
                   "\n\n{sig}"),
            ("c", "Det var popup-blockeraren. Funkar nu. Borde kanske stå någonstans?"),
            ("a", "Bra poäng! Vi lägger till en ledtext på inloggningssidan.\n\n{sig}"),
        ),
    },
    {
        "id": "sv_forum_airfryer_love", "channel": "sv_forum", "lang": "sv", "mood": "pos",
        "tags": ("Beröm",), "products": ("airfryer",), "full": (1, 2),
        "subjects": ("{product} – helt fantastisk!", "Bästa köpet i år"),
        "steps": (
            ("c!", "Köpte {product} på rea förra månaden och har använt den nästan varje dag "
                   "sen dess. Pommes, kyckling, till och med kanelbullar! Lätt att diska också. "
                   "Tack för ett bra tips i nyhetsbrevet."),
            ("ac", "Vad kul {first}! Kanelbullar i airfryer måste vi testa 😄\n\n{sig}"),
        ),
    },
    {
        "id": "sv_forum_price_checkout", "channel": "sv_forum", "lang": "sv", "mood": "neg",
        "tags": ("Betalning",), "products": None,
        "subjects": ("Fel pris i kassan?", "Priset ändras i kassan"),
        "steps": (
            ("c", "{product} står för {amount} på produktsidan men i kassan blev det plötsligt "
                  "400 kr dyrare. Känns som lurendrejeri ärligt talat. Vad är det som gäller?"),
            ("a", "Hej {first}!\n\nFörlåt för förvirringen. Kampanjpriset gäller när man är "
                  "inloggad som medlem i kundklubben, och det borde ha framgått tydligare på "
                  "produktsidan. Loggar du in (eller blir medlem, det är gratis) får du rätt pris "
                  "i kassan.\n\nVi ser över hur priset visas så att det inte blir fel igen."
                  "\n\n{sig}"),
            ("c!", "Ok, då förstår jag. Men ja, det borde stå tydligare."),
        ),
    },
    {
        "id": "sv_forum_tv_vesa", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("tv",),
        "subjects": ("Väggfäste till {product}?", "VESA-mått på {product}"),
        "steps": (
            ("c", "Vilket VESA-mått har {product}? Vill sätta upp den på väggen i vardagsrummet "
                  "och har redan ett fäste hemma."),
            ("a", "Hej {first}! {product} har VESA 300x300 och M6-skruvar. Kolla att ditt fäste "
                  "klarar minst 25 kg så är du hemma.\n\n{sig}"),
            ("c!", "Tack, då passar mitt fäste!"),
        ),
    },
    {
        "id": "sv_forum_speaker_pairing", "channel": "sv_forum", "lang": "sv", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("hogtalare",),
        "subjects": ("Koppla ihop två {product}?", "Stereo med två högtalare"),
        "steps": (
            ("c", "Hej! Går det att koppla ihop två {product} så att man får stereo? Hittar "
                  "inget om det i manualen."),
            ("a", "Hej {first}! Ja, det går. Slå på båda, håll in Bluetooth-knappen och plus "
                  "samtidigt på den ena i tre sekunder så hittar de varandra. Den som lyser vitt "
                  "blir vänster kanal.\n\n{sig}"),
            ("c!", "Funkade direkt, grymt! Låter mycket bättre än jag trodde."),
        ),
    },
    # -------------------------------------------------------- sv_forum / en
    {
        "id": "sv_forum_en_finland", "channel": "sv_forum", "lang": "en", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Do you ship to Finland?", "Delivery outside Sweden?"),
        "steps": (
            ("c", "Hi! I live in Helsinki and would love to order the {product}. I can't find "
                  "Finland in the country list at checkout. Do you ship outside Sweden?"),
            ("a", "Hi {first}! At the moment we only ship within Sweden and Norway, sorry. We're "
                  "looking into Finland for later this year – keep an eye on our newsletter!"
                  "\n\n{sig}"),
            ("c!", "Ok, thanks for the quick answer! Hope it happens soon."),
        ),
    },
    {
        "id": "sv_forum_en_app_language", "channel": "sv_forum", "lang": "en", "mood": "neg",
        "tags": ("App",), "products": None, "page": "appen", "os": "iOS",
        "subjects": ("Is the app available in English?", "App only in Swedish"),
        "steps": (
            ("c", "I've been living in Stockholm for a year and my Swedish is still pretty basic. "
                  "The website has an English option but the app is only in Swedish, which makes "
                  "it hard to track returns. Any plans to fix this? Kind of annoying to be honest."),
            ("a", "Hi {first}, thanks for the feedback! English support in the app is on our "
                  "roadmap – it will follow your phone's language setting in an upcoming update. "
                  "Until then, the website works fine in English on mobile too.\n\n{sig}"),
        ),
    },
    # -------------------------------------------------------- no_forum / no
    {
        "id": "no_forum_customs", "channel": "no_forum", "lang": "no", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Må man betale toll når man bestiller til Norge?", "Toll og mva til Norge"),
        "steps": (
            ("c", "Hei! Vurderer å kjøpe {product} fra dere. Blir det ekstra toll eller mva når "
                  "pakken kommer til Norge? Har hørt at man må betale gebyr til Posten."),
            ("a", "Hei {first}!\n\nNei, det slipper du. Vi er registrert i VOEC-ordningen, så "
                  "norsk mva er allerede inkludert i prisen i kassen, og du betaler ingen ekstra "
                  "gebyrer ved levering. Prisene vises i norske kroner når du har valgt Norge."
                  "\n\n{sig}"),
            ("c!", "Supert, takk for raskt svar!"),
        ),
    },
    {
        "id": "no_forum_parcel_missing", "channel": "no_forum", "lang": "no", "mood": "neg",
        "tags": ("Leverans",), "products": None, "page": "kundservice/levering",
        "subjects": ("Pakken har ikke kommet etter to uker", "Hvor er pakken min?"),
        "steps": (
            ("c", "Bestilte {thing} for to uker siden og pakken står fortsatt som \"under "
                  "transport\". Ingen oppdatering på sporingen siden den passerte grensen ved "
                  "Svinesund. Dette er ikke greit. Hva skjer??"),
            ("a?", "Hei {first},\n\nBeklager at det tar så lang tid! Pakker til Norge går gjennom "
                   "tollen, og der har det dessverre vært forsinkelser denne uken. Kan du sende "
                   "ordrenummeret ditt til info@demo.samsyn.se, så sjekker jeg sporingen direkte "
                   "med Posten?\n\n{sig}"),
            ("c", "Sendt nå."),
            ("a", "Takk! Pakken er nå ute for levering og skal være hos deg i morgen. Beklager "
                  "igjen ventetiden.\n\n{sig}"),
            ("c!", "Kom i dag. Takk for hjelpen."),
        ),
    },
    {
        "id": "no_forum_praise", "channel": "no_forum", "lang": "no", "mood": "pos",
        "tags": ("Beröm",), "products": None, "full": (1, 2),
        "subjects": ("Rask levering til {city}!", "Bare en liten takk"),
        "steps": (
            ("c!", "Bare en liten hilsen: bestilte på mandag og hadde {product} på hentestedet i "
                   "{city} på onsdag. Raskere enn mange norske butikker! Godt pakket også. "
                   "Kommer til å handle her igjen."),
            ("ac", "Så hyggelig å lese, takk {first}! 😊\n\n{sig}"),
        ),
    },
    {
        "id": "no_forum_return", "channel": "no_forum", "lang": "no", "mood": "neu",
        "tags": ("Retur",), "products": None, "page": "kundservice/retur",
        "subjects": ("Hvordan returnerer jeg fra Norge?", "Retur og porto"),
        "steps": (
            ("c", "Hei. Jeg vil returnere {thing} jeg kjøpte forrige uke, men finner ikke "
                  "returetikett for Norge på Mine sider. Må jeg betale porto selv?"),
            ("a", "Hei {first}!\n\nReturer fra Norge er gratis. Send oss ordrenummeret på e-post, "
                  "så sender vi deg en returetikett som du kan bruke på et hvilket som helst "
                  "postkontor eller Post i Butikk. Pengene refunderes innen 5 virkedager etter at "
                  "vi har mottatt varen.\n\n{sig}"),
            ("c!", "Takk, det gjør jeg!"),
        ),
    },
    {
        "id": "no_forum_vacuum_battery", "channel": "no_forum", "lang": "no", "mood": "neu",
        "tags": ("Produktfråga",), "products": ("dammsugare",),
        "subjects": ("Spørsmål om {product}", "Batteritid på {product}?"),
        "steps": (
            ("c", "Hei! Hvor lenge varer batteriet på {product} på høyeste effekt? Vi har et hus "
                  "på 140 kvm med mye teppe og lurer på om det holder."),
            ("a", "Hei {first}!\n\nPå høyeste effekt varer batteriet ca. 12 minutter, og på normal "
                  "effekt rundt 45 minutter. For 140 kvm med mye teppe anbefaler jeg normal effekt "
                  "på det meste og boost bare der det trengs. Et ekstra batteri kan også være "
                  "lurt.\n\n{sig}"),
            ("c!", "Takk, det var nyttig! Da bestiller vi med ekstra batteri."),
        ),
    },
    {
        "id": "no_forum_coffee_warranty", "channel": "no_forum", "lang": "no", "mood": "neg",
        "tags": ("Reklamation",), "products": ("kaffe",),
        "subjects": ("Kaffetrakteren sluttet å virke etter 6 måneder", "Reklamasjon fra Norge"),
        "steps": (
            ("c", "Vår {product} har sluttet å varme vannet. Lampen lyser, men det kommer bare "
                  "lunkent vann. Den er et halvt år gammel og kostet {amount}. Ganske skuffet, "
                  "egentlig. Hvordan fungerer reklamasjon når man bor i Norge?"),
            ("a?", "Hei {first},\n\nSå kjedelig! Du har minst to års reklamasjonsrett, så dette "
                   "ordner vi selvfølgelig. Send oss ordrenummeret og et bilde av typeskiltet "
                   "under trakteren på e-post, så sender vi en ny.\n\n{sig}"),
            ("c", "Sendt! Takk for at det gikk greit."),
            ("a", "Mottatt – ny trakter er sendt i dag. Den gamle kan du levere til "
                  "gjenvinning.\n\n{sig}"),
        ),
    },
    {
        "id": "no_forum_idea_vipps", "channel": "no_forum", "lang": "no", "mood": "pos",
        "tags": ("Förslag", "Betalning"), "products": None, "page": "kassen", "full": (1, 3),
        "subjects": ("Ønske: Vipps som betalingsmåte", "Kommer Vipps?"),
        "steps": (
            ("c!", "Elsker butikken deres, men det hadde vært så mye enklere med Vipps! Nesten "
                   "alle nordmenn bruker det. Håper dere vurderer det 🙏"),
            ("ac", "Hei {first}! Takk for tipset – Vipps står høyt på ønskelisten vår også, og vi "
                   "jobber med saken. Vi oppdaterer her når det er klart.\n\n{sig}"),
            ("c!", "Så bra!"),
        ),
    },
    {
        "id": "no_forum_headband_broke", "channel": "no_forum", "lang": "no", "mood": "neg",
        "tags": ("Reklamation",), "products": ("horlurar",),
        "subjects": ("Bøylen knakk etter en måned", "Dårlig kvalitet på {product}"),
        "steps": (
            ("c", "Bøylen på {product} knakk da jeg tok dem av meg i går. Har ikke mistet dem "
                  "eller noe. Hodetelefoner til {amount} skal tåle mer enn det! Veldig skuffet."),
            ("a?", "Hei {first}, så leit å høre! Det skal de absolutt tåle, og dette dekkes av "
                   "reklamasjonsretten. Kan du sende et bilde og ordrenummeret til "
                   "info@demo.samsyn.se? Da sender vi et nytt par så fort som mulig.\n\n{sig}"),
            ("c", "Har sendt bilde nå."),
            ("ac", "Takk, nytt par er på vei! Du får sporingsnummer på e-post.\n\n{sig}"),
        ),
    },
    # -------------------------------------------------------- no_forum / en
    {
        "id": "no_forum_en_svalbard", "channel": "no_forum", "lang": "en", "mood": "neu",
        "tags": ("Leverans",), "products": None,
        "subjects": ("Shipping to Svalbard?", "Delivery to Longyearbyen"),
        "steps": (
            ("c", "Hi, I'm working in Longyearbyen for a year. Do you ship to Svalbard, and are "
                  "the prices the same as mainland Norway? Svalbard is VAT-free, so I'm curious "
                  "how that works."),
            ("a", "Hi {first}! Yes, we ship to Svalbard with Posten. Since Svalbard is outside "
                  "the Norwegian VAT area, VAT is removed at checkout when you enter a Svalbard "
                  "postcode. Delivery usually takes 5–8 working days.\n\n{sig}"),
            ("c!", "Brilliant, thanks!"),
        ),
    },
]

# --------------------------------------------------------------------------
# Mix
# --------------------------------------------------------------------------

CHANNEL_WEIGHTS = {"info": 50, "sv_forum": 35, "no_forum": 15}
LANGUAGE_WEIGHTS = {
    "info": {"sv": 80, "en": 20},
    "sv_forum": {"sv": 92, "en": 8},
    "no_forum": {"no": 90, "en": 10},
}
MOOD_WEIGHTS = {"neg": 30, "neu": 45, "pos": 25}
# Stockholm local hour -> weight (mostly 07–22).
HOUR_WEIGHTS = {6: 1, 7: 4, 8: 7, 9: 9, 10: 9, 11: 8, 12: 7, 13: 8, 14: 8, 15: 8, 16: 7,
                17: 6, 18: 6, 19: 7, 20: 7, 21: 6, 22: 4, 23: 2}
# (max age in days, {status: weight}) for mail and forum; statuses are the
# *intended* state, the final one is re-derived after cutting at `now`.
STATUS_BY_AGE = {
    "mail": ((3, {"open": 85, "waiting": 5, "closed": 10}),
             (10, {"open": 25, "waiting": 25, "closed": 50}),
             (999, {"open": 4, "waiting": 8, "closed": 88})),
    "forum": ((3, {"open": 90, "closed": 10}),
              (10, {"open": 40, "closed": 60}),
              (999, {"open": 10, "closed": 90})),
}

_PUBLIC_EDITOR = {"a", "a?", "ac"}
_NOTES = {"n", "on"}
_CUSTOMER = {"c", "c!"}


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------


def demo_conversations(now: datetime, count: int = 300, seed: int = 7) -> list[DemoConversation]:
    """Deterministic for the same (now, count, seed); sorted by started_at ascending."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    rng = random.Random(seed)
    customers: dict[str, list[tuple[str, str, str]]] = {"sv": [], "no": [], "en": []}
    used_emails: set[str] = set()
    result = []
    for _ in range(count):
        channel = _pick(rng, CHANNEL_WEIGHTS)
        lang = _pick(rng, LANGUAGE_WEIGHTS[channel])
        mood = _pick(rng, MOOD_WEIGHTS)
        pool = [s for s in SCENARIOS if s["channel"] == channel and s["lang"] == lang]
        scenario = rng.choice([s for s in pool if s["mood"] == mood] or pool)
        customer = _customer(rng, lang, customers, used_emails)
        result.append(_conversation(rng, scenario, customer, _start_time(rng, now), now))
    result.sort(key=lambda c: c.started_at)
    return result


def _conversation(rng, sc, customer, started, now) -> DemoConversation:
    channel, lang = sc["channel"], sc["lang"]
    is_mail = channel == "info"
    name, email, first = customer
    agent = EDITORS[_pick_index(rng, EDITOR_WEIGHTS)]
    other = rng.choice([e for e in EDITORS if e != agent])
    ctx = _context(rng, sc, lang, is_mail, name, email, first, agent, other, started)

    # 1. Decide how far the thread has come, given its age.
    steps = sc["steps"]
    age_days = (now - started).total_seconds() / 86400
    table = STATUS_BY_AGE["mail" if is_mail else "forum"]
    target = _pick(rng, next(w for limit, w in table if age_days < limit))
    if is_mail:  # open mail = the customer spoke last
        open_cuts = [i + 1 for i in range(len(steps) - 1)
                     if _last_public(steps[: i + 1]) in _CUSTOMER]
    else:  # an open forum thread may already have answers
        open_cuts = [i + 1 for i in range(len(steps) - 1) if steps[i][0] not in _NOTES]
    waiting_cuts = [i + 1 for i in range(len(steps) - 1) if steps[i][0] == "a?"]
    full = rng.choice(sc.get("full", (len(steps),)))
    if target == "open" and open_cuts:
        first_only = age_days < 3 and rng.random() < 0.7
        cut = open_cuts[0] if first_only else rng.choice(open_cuts)
    elif target == "open":
        cut = full
    elif target == "waiting" and waiting_cuts:
        cut = rng.choice(waiting_cuts)
    else:
        target, cut = "closed", full
    if cut == len(steps) > 1 and steps[-1][0] == "c!" and rng.random() < 0.4:
        cut -= 1  # the customer never bothered to say thanks
    steps = steps[:cut]

    # 2. Timestamps; anything that would lie after `now` has not happened yet.
    messages, offset = [], 0
    for index, (code, text) in enumerate(steps):
        if index:
            offset += _delay(rng, code)
        if started + timedelta(minutes=offset) > now:
            break
        author, kind = _author_kind(code, index, is_mail, agent, other)
        messages.append((code, DemoMessage(author, kind, offset, text.format(**ctx).strip())))
    cut_short = len(messages) < len(steps)
    codes = [code for code, _ in messages]

    # 3. Status, assignee, tags.
    last_public = _last_public(tuple((c, "") for c in codes))
    if target == "closed" and not cut_short:
        status = "closed" if is_mail else "archived"
    elif is_mail and last_public in _PUBLIC_EDITOR:
        status = "waiting"
    else:
        status = "open"
    editor_active = any(m.author in EDITORS for _, m in messages)
    if is_mail:
        assignee = agent if editor_active or rng.random() < 0.35 else None
    else:
        assignee = agent if rng.random() < (0.35 if editor_active else 0.1) else None

    handled = status != "open" or editor_active
    tags: list[str] = []
    if rng.random() < (0.85 if handled else 0.45):
        tags.append(rng.choice(sc["tags"]))
        if len(sc["tags"]) > 1 and rng.random() < 0.2:
            tags.append(next(t for t in sc["tags"] if t != tags[0]))
    if len(tags) < 2 and sc["mood"] == "neg" and rng.random() < 0.3:
        tags.append("Brådskande")

    visitor = None
    if not is_mail:
        platforms = [b for b in BROWSERS if b[1].startswith(sc.get("os", ""))]
        browser, os_name = rng.choice(platforms)
        prefix = "no/" if channel == "no_forum" else ""
        page = sc.get("page", "produkter/{slug}").format(**ctx)
        visitor = {"browser": browser, "os": os_name,
                   "page": f"https://demo.samsyn.se/{prefix}{page}"}

    return DemoConversation(
        channel=channel,
        subject=rng.choice(sc["subjects"]).format(**ctx),
        customer_name=name,
        customer_email=email,
        language=lang,
        started_at=started,
        status=status,
        assignee=assignee,
        tags=tuple(tags),
        messages=tuple(m for _, m in messages),
        no_reply_needed=bool(codes) and codes[-1] == "c!",
        visitor=visitor,
    )


def _context(rng, sc, lang, is_mail, name, email, first, agent, other, started) -> dict:
    categories = sc["products"] or tuple(PRODUCTS)
    model, slug, price, things = rng.choice(PRODUCTS[rng.choice(categories)])
    agent_name = EDITOR_FIRST_NAMES[agent]
    signatures = MAIL_SIGNATURES if is_mail else FORUM_SIGNATURES
    weekday = (started + timedelta(days=rng.randint(1, 3))).weekday()
    cities = NORWEGIAN_CITIES if lang == "no" else SWEDISH_CITIES
    if lang == "en":
        amount = f"{price:,} SEK"
    else:
        amount = f"{price:,} kr".replace(",", " ")
    order = rng.randint(40000, 59999)
    return {
        "first": first, "name": name, "email": email,
        "agent": agent_name, "other": EDITOR_FIRST_NAMES[other],
        "order": order, "order2": order + rng.randint(300, 4000),
        "product": model, "slug": slug, "thing": things[lang], "amount": amount,
        "days": rng.randint(6, 14),
        "weekday": WEEKDAYS[lang][min(weekday, 4)],  # never promise a weekend
        "tracking": f"UA{rng.randint(100_000_000, 999_999_999)}SE",
        "code": "SDAB-" + "-".join(
            "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(4))
            for _ in range(2)),
        "company": rng.choice(COMPANIES), "street": rng.choice(STREETS),
        "zip": rng.choice(ZIP_CODES), "city": rng.choice(cities),
        "north_city": rng.choice(NORTHERN_CITIES),
        "csig": rng.choice(CUSTOMER_SIGNATURES[lang]).format(first=first, name=name),
        "sig": rng.choice(signatures[lang]).format(agent=agent_name),
    }


def _author_kind(code, index, is_mail, agent, other) -> tuple[str, str]:
    if code in _CUSTOMER:
        return "customer", ("customer" if is_mail or index == 0 else "comment")
    if code == "n":
        return agent, "note"
    if code == "on":
        return other, "note"
    if code == "ac" and not is_mail:
        return agent, "comment"
    return agent, "editor"


def _last_public(steps) -> str | None:
    for code, _ in reversed(steps):
        if code not in _NOTES:
            return code
    return None


def _delay(rng, code) -> int:
    """Minutes between the previous message and this one."""
    r = rng.random()
    if code in _NOTES:
        return rng.randint(3, 180)
    if code in _PUBLIC_EDITOR:
        if r < 0.35:
            return rng.randint(4, 90)
        if r < 0.8:
            return rng.randint(90, 8 * 60)
        return rng.randint(8 * 60, 40 * 60)
    if r < 0.5:
        return rng.randint(6, 180)
    if r < 0.85:
        return rng.randint(180, 18 * 60)
    return rng.randint(18 * 60, 52 * 60)


def _customer(rng, lang, customers, used_emails) -> tuple[str, str, str]:
    """(name, email, first name); now and then a returning customer."""
    known = customers[lang]
    if known and rng.random() < 0.12:
        return rng.choice(known)
    first = rng.choice(FIRST_NAMES[lang])
    last = rng.choice(LAST_NAMES[lang])
    f, l = _ascii(first), _ascii(last)
    local = rng.choice((f"{f}.{l}", f"{f}{l[0]}", f"{f[0]}{l}", f"{f}.{l}{rng.randint(1, 99)}",
                        f"{f}{rng.randint(60, 99)}"))
    email = f"{local}@{rng.choice(EMAIL_DOMAINS[lang])}"
    while email in used_emails:
        email = f"{local}{rng.randint(2, 999)}@{rng.choice(EMAIL_DOMAINS[lang])}"
    used_emails.add(email)
    customer = (f"{first} {last}", email, first)
    known.append(customer)
    return customer


def _ascii(text: str) -> str:
    table = str.maketrans({"å": "a", "ä": "a", "ö": "o", "ø": "o", "æ": "ae", "é": "e",
                           "ü": "u", "'": ""})
    return text.lower().translate(table)


def _start_time(rng, now: datetime) -> datetime:
    """A plausible Stockholm-time moment in (now - 90 days, now], weighted to recent weeks."""
    local_now = now + _stockholm_offset(now)
    for _ in range(50):
        days_ago = 89.5 * rng.random() ** 2
        day = (local_now - timedelta(days=days_ago)).date()
        if day.weekday() >= 5 and rng.random() < 0.4:
            continue  # fewer conversations at weekends
        local = datetime(day.year, day.month, day.day, _pick(rng, HOUR_WEIGHTS), rng.randrange(60))
        started = _from_stockholm(local)
        if now - timedelta(days=90) < started <= now:
            return started
    return (now - timedelta(minutes=rng.randint(5, 300))).replace(second=0, microsecond=0)


def _stockholm_offset(utc: datetime) -> timedelta:
    """CET/CEST without tzdata: summer time from last Sunday of March to last Sunday of October."""
    def last_sunday(month: int) -> datetime:
        d = date(utc.year, month, 31)
        d -= timedelta(days=(d.weekday() + 1) % 7)
        return datetime(d.year, d.month, d.day, 1, tzinfo=timezone.utc)

    return timedelta(hours=2 if last_sunday(3) <= utc < last_sunday(10) else 1)


def _from_stockholm(local: datetime) -> datetime:
    guess = local.replace(tzinfo=timezone.utc) - timedelta(hours=1)
    return local.replace(tzinfo=timezone.utc) - _stockholm_offset(guess)


def _pick(rng, weights: dict):
    keys = list(weights)
    return keys[_pick_index(rng, [weights[k] for k in keys])]


def _pick_index(rng, weights) -> int:
    return rng.choices(range(len(weights)), weights=weights)[0]
