#!/usr/bin/env python3
"""Generates iStandaarden iJw/iWmo 3.2 messages (one Bericht per file) for throughput checks.

Each chain is one client through one aanbieder: 315 (verzoek om toewijzing) -> 301 (toewijzing)
-> 305 (start zorg) -> 307 (stop zorg); one chain in ten ends in a 319 (afgewezen) instead.
Files are named so that a sorted directory listing replays every chain in order. BSNs are
random numbers that pass the elfproef; names and addresses are fake but present, so a privacy
check has something to look for. Standard library only.

    scripts/generate_istandaarden.py OUTDIR [--count 100000] [--seed 1]
    ketenzicht ingest --state /tmp/x OUTDIR
"""
import argparse
import os
import random

BASE = {
    "ijw": ("http://www.istandaarden.nl/ijw/3_2/jw{nr}/schema", "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"),
    "iwmo": ("http://www.istandaarden.nl/iwmo/3_2/wmo{nr}/schema", "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"),
}
CODES = {
    "ijw": {"301": "436", "302": "437", "305": "438", "307": "440", "315": "446", "319": "488"},
    "iwmo": {"301": "414", "305": "418", "307": "420", "315": "444", "319": "482"},
}
CATEGORY = {"ijw": "45", "iwmo": "02"}
STOP_REASON = {"ijw": "31", "iwmo": "19"}


def bericht(std, nr, afzender, ontvanger, ident, dagtekening, body):
    ns, basis = BASE[std]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Bericht xmlns="{ns.format(nr=nr)}" xmlns:b="{basis}">\n'
        "  <Header>\n"
        f"    <BerichtCode>{CODES[std][nr]}</BerichtCode>\n"
        "    <BerichtVersie>3</BerichtVersie>\n"
        "    <BerichtSubversie>2</BerichtSubversie>\n"
        f"    <Afzender>{afzender}</Afzender>\n"
        f"    <Ontvanger>{ontvanger}</Ontvanger>\n"
        "    <BerichtIdentificatie>\n"
        f"      <b:Identificatie>{ident}</b:Identificatie>\n"
        f"      <b:Dagtekening>{dagtekening}</b:Dagtekening>\n"
        "    </BerichtIdentificatie>\n"
        "    <XsdVersie>\n"
        "      <b:BasisschemaXsdVersie>1.0.0</b:BasisschemaXsdVersie>\n"
        "      <b:BerichtXsdVersie>1.0.0</b:BerichtXsdVersie>\n"
        "    </XsdVersie>\n"
        "  </Header>\n" + body + "</Bericht>\n"
    )


def person(bsn, who, full=False):
    """Client/Bsn .. Naam; `full` gives the 301's CDT_VolledigeNaam."""
    surname, first, born = who
    naam = (
        "    <Naam>\n"
        "      <b:Geslachtsnaam>\n"
        f"        <b:Achternaam>{surname}</b:Achternaam>\n"
        "      </b:Geslachtsnaam>\n"
        f"      <b:Voornamen>{first}</b:Voornamen>\n"
        + ("      <b:NaamGebruik>1</b:NaamGebruik>\n" if full else "")
        + "    </Naam>\n"
    )
    return (
        f"    <Bsn>{bsn}</Bsn>\n"
        "    <Geboortedatum>\n"
        f"      <b:Datum>{born}</b:Datum>\n"
        "    </Geboortedatum>\n"
        "    <Geslacht>2</Geslacht>\n" + naam
    )


def verwijzer(kind, code=None, name=None):
    out = "        <Verwijzer>\n" f"          <b:Type>{kind}</b:Type>\n"
    if name:
        out += f"          <b:Naam>{name}</b:Naam>\n"
    if code:
        out += f"          <b:ZorgverlenerCode>{code}</b:ZorgverlenerCode>\n"
    return out + "        </Verwijzer>\n"


def msg315(std, aanbieder, gemeente, ident, dag, bsn, who, products):
    """products: dicts with ref, ingang, eind (optional), verwijzer (a verwijzer() text)."""
    items = ""
    for p in products:
        items += (
            "      <AangevraagdProduct>\n"
            f"        <ReferentieAanbieder>{p['ref']}</ReferentieAanbieder>\n"
            f"        <Product>\n          <b:Categorie>{CATEGORY[std]}</b:Categorie>\n        </Product>\n"
            f"        <ToewijzingIngangsdatum>{p['ingang']}</ToewijzingIngangsdatum>\n"
            + (f"        <ToewijzingEinddatum>{p['eind']}</ToewijzingEinddatum>\n" if p.get("eind") else "")
            + p["verwijzer"]
            + "      </AangevraagdProduct>\n"
        )
    body = "  <Client>\n" + person(bsn, who) + "    <AangevraagdeProducten>\n" + items + "    </AangevraagdeProducten>\n  </Client>\n"
    return bericht(std, "315", aanbieder, gemeente, ident, dag, body)


def msg301(std, gemeente, aanbieder, ident, dag, bsn, who, address, products):
    """products: dicts with nr, ref (optional), datum, ingang, eind (optional)."""
    street, postcode, city = address
    items = ""
    for p in products:
        items += (
            "      <ToegewezenProduct>\n"
            f"        <ToewijzingNummer>{p['nr']}</ToewijzingNummer>\n"
            + (f"        <ReferentieAanbieder>{p['ref']}</ReferentieAanbieder>\n" if p.get("ref") else "")
            + f"        <Product>\n          <b:Categorie>{CATEGORY[std]}</b:Categorie>\n        </Product>\n"
            f"        <Toewijzingsdatum>{p['datum']}</Toewijzingsdatum>\n"
            "        <Toewijzingstijd>10:15:00</Toewijzingstijd>\n"
            f"        <Ingangsdatum>{p['ingang']}</Ingangsdatum>\n"
            + (f"        <Einddatum>{p['eind']}</Einddatum>\n" if p.get("eind") else "")
            + "      </ToegewezenProduct>\n"
        )
    body = (
        "  <Client>\n" + person(bsn, who, full=True)
        + "    <Contactgegevens>\n"
        "      <Contact>\n"
        "        <Soort>01</Soort>\n"
        "        <Adres>\n"
        "          <b:Huis>\n            <b:Huisnummer>12</b:Huisnummer>\n          </b:Huis>\n"
        f"          <b:Postcode>{postcode}</b:Postcode>\n"
        f"          <b:Straatnaam>{street}</b:Straatnaam>\n"
        f"          <b:Plaatsnaam>{city}</b:Plaatsnaam>\n"
        "        </Adres>\n"
        "      </Contact>\n"
        "    </Contactgegevens>\n"
        "    <ToegewezenProducten>\n" + items + "    </ToegewezenProducten>\n  </Client>\n"
    )
    return bericht(std, "301", gemeente, aanbieder, ident, dag, body)


def msg305(std, aanbieder, gemeente, ident, dag, bsn, who, products):
    """products: dicts with nr, begin."""
    items = ""
    for p in products:
        items += (
            "      <StartProduct>\n"
            f"        <ToewijzingNummer>{p['nr']}</ToewijzingNummer>\n"
            f"        <Begindatum>{p['begin']}</Begindatum>\n"
            "        <StatusAanlevering>1</StatusAanlevering>\n"
            "      </StartProduct>\n"
        )
    body = "  <Client>\n" + person(bsn, who) + "    <StartProducten>\n" + items + "    </StartProducten>\n  </Client>\n"
    return bericht(std, "305", aanbieder, gemeente, ident, dag, body)


def msg307(std, aanbieder, gemeente, ident, dag, bsn, who, products):
    """products: dicts with nr, begin, reden, eind."""
    items = ""
    for p in products:
        items += (
            "      <StopProduct>\n"
            f"        <ToewijzingNummer>{p['nr']}</ToewijzingNummer>\n"
            f"        <Begindatum>{p['begin']}</Begindatum>\n"
            f"        <RedenBeeindiging>{p['reden']}</RedenBeeindiging>\n"
            f"        <Einddatum>{p['eind']}</Einddatum>\n"
            "        <StatusAanlevering>1</StatusAanlevering>\n"
            "      </StopProduct>\n"
        )
    body = "  <Client>\n" + person(bsn, who) + "    <StopProducten>\n" + items + "    </StopProducten>\n  </Client>\n"
    return bericht(std, "307", aanbieder, gemeente, ident, dag, body)


def msg319(std, gemeente, aanbieder, ident, dag, ref, antwoord, reden=None):
    body = (
        "  <Antwoord>\n"
        f"    <ReferentieAanbieder>{ref}</ReferentieAanbieder>\n"
        f"    <VerzoekAntwoord>{antwoord}</VerzoekAntwoord>\n"
        + (f"    <RedenAfwijzingVerzoek>{reden}</RedenAfwijzingVerzoek>\n" if reden else "")
        + "  </Antwoord>\n"
    )
    return bericht(std, "319", gemeente, aanbieder, ident, dag, body)


def bsn(rng):
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        total = sum((9 - i) * d for i, d in enumerate(digits))
        check = total % 11
        if check < 10 and (total - check) != 0:
            return "".join(map(str, digits)) + str(check)


def day(ordinal):
    import datetime
    return (datetime.date(2025, 1, 1) + datetime.timedelta(days=ordinal)).isoformat()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=100_000, help="messages to write (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.outdir, exist_ok=True)
    gemeenten = ["0363", "0599", "0344", "0518"]
    aanbieders = [f"{rng.randrange(10**7, 10**8):08d}" for _ in range(200)]
    huisartsen = [f"{rng.randrange(10**7, 10**8):08d}" for _ in range(300)]
    surnames = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Bos", "Mulder"]
    firsts = ["Sanne", "Daan", "Lotte", "Sem", "Emma", "Noah", "Julia", "Finn"]
    written = 0
    chain = 0
    while written < args.count:
        chain += 1
        std = "ijw" if chain % 2 else "iwmo"
        gemeente = rng.choice(gemeenten)
        aanbieder = rng.choice(aanbieders)
        client = bsn(rng)
        who = (rng.choice(surnames), rng.choice(firsts), f"{rng.randrange(2008, 2020)}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 10)}")
        address = ("Dorpsstraat", "1234AB", "Amsterdam")
        start = rng.randrange(0, 600)
        ref = f"R{chain:07d}"
        nr = str(chain)
        kind = rng.random()
        if kind < 0.5:
            v = verwijzer("02", code=rng.choice(huisartsen))
        elif kind < 0.8:
            v = verwijzer("01")
        else:
            v = verwijzer("05", name=f"Ziekenhuis {rng.randrange(1, 20)}")
        messages = [("315", msg315(std, aanbieder, gemeente, f"A{chain}", day(start), client, who, [{"ref": ref, "ingang": day(start + 14), "verwijzer": v}]))]
        accept = start + rng.randrange(1, 10)
        if chain % 10 == 0:
            messages.append(("319", msg319(std, gemeente, aanbieder, f"G{chain}", day(accept), ref, "1", "3")))
        else:
            begin = accept + rng.randrange(0, 60)
            end = begin + rng.randrange(1, 200)
            messages.append(("301", msg301(std, gemeente, aanbieder, f"G{chain}", day(accept), client, who, address, [{"nr": nr, "ref": ref, "datum": day(accept), "ingang": day(begin)}])))
            messages.append(("305", msg305(std, aanbieder, gemeente, f"S{chain}", day(begin + 2), client, who, [{"nr": nr, "begin": day(begin)}])))
            messages.append(("307", msg307(std, aanbieder, gemeente, f"E{chain}", day(end + 2), client, who, [{"nr": nr, "begin": day(begin), "reden": STOP_REASON[std], "eind": day(end)}])))
        for step, (nrcode, text) in enumerate(messages):
            if written >= args.count:
                break
            name = os.path.join(args.outdir, f"{chain:07d}-{step}-{std}{nrcode}.xml")
            with open(name, "w", encoding="utf-8") as handle:
                handle.write(text)
            written += 1
    print(f"wrote {written} messages ({chain} chains) to {args.outdir}")


if __name__ == "__main__":
    main()
