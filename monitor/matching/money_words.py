"""The words of money in English, German, French, Spanish, Portuguese, Italian, Chinese, Japanese
and Korean: currencies, scales, number words and the words that make an amount a valuation,
a market value or revenue. Tables only; ``amounts.py`` builds its patterns from them.

Keys are lower case (the parser matches case-insensitively) and written without a final dot;
an optional dot is allowed after every scale ("Mio.", "Mrd.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Symbols and codes written before the number: "$290M", "US$ 162,6 millones", "€ 30 Mio.", "R$ 3,3 bi".
# "¥" is yuan or yen by context (see amounts._yen_currency).
PREFIX_CURRENCIES = {
    "$": "USD", "us$": "USD", "u.s.$": "USD", "usd": "USD",
    "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
    "¥": "¥", "cn¥": "CNY", "rmb": "CNY", "cny": "CNY", "jp¥": "JPY", "jpy": "JPY",
    "₩": "KRW", "krw": "KRW", "₹": "INR", "inr": "INR", "rs.": "INR",
    "hk$": "HKD", "hkd": "HKD", "nt$": "TWD", "twd": "TWD", "s$": "SGD", "sgd": "SGD",
    "c$": "CAD", "ca$": "CAD", "cad": "CAD", "a$": "AUD", "au$": "AUD", "aud": "AUD",
    "nz$": "NZD", "nzd": "NZD", "r$": "BRL", "brl": "BRL", "mx$": "MXN", "mxn": "MXN",
    "chf": "CHF", "₪": "ILS", "ils": "ILS",
}  # fmt: skip

# Words, codes and symbols written after the number (and its scale): "40 million euros",
# "120 Mio. Euro", "600 millions d'euros", "100 M€", "50 millones de dólares", "70 milioni di euro".
# Plurals are listed: the parser does not inflect.
SUFFIX_CURRENCIES = {
    # US dollar
    "dollar": "USD", "dollars": "USD", "us dollar": "USD", "us dollars": "USD", "u.s. dollar": "USD",
    "u.s. dollars": "USD", "american dollars": "USD", "us-dollar": "USD", "dollars américains": "USD",
    "dollars us": "USD", "dólar": "USD", "dólares": "USD", "dólares estadounidenses": "USD",
    "dollaro": "USD", "dollari": "USD", "usd": "USD", "$": "USD",
    # other dollars
    "hong kong dollar": "HKD", "hong kong dollars": "HKD", "singapore dollars": "SGD",
    "canadian dollars": "CAD", "australian dollars": "AUD", "new taiwan dollars": "TWD",
    "new zealand dollars": "NZD",
    # euro, pound, franc
    "euro": "EUR", "euros": "EUR", "€": "EUR", "eur": "EUR",
    "pound": "GBP", "pounds": "GBP", "pounds sterling": "GBP", "sterling": "GBP", "£": "GBP",
    "livres sterling": "GBP", "libras": "GBP", "libras esterlinas": "GBP", "sterline": "GBP", "pfund": "GBP",
    "swiss francs": "CHF", "francs suisses": "CHF", "franken": "CHF", "chf": "CHF",
    # Asia
    "yuan": "CNY", "yuans": "CNY", "yuanes": "CNY", "iuanes": "CNY", "renminbi": "CNY", "rmb": "CNY",
    "yen": "JPY", "yens": "JPY", "yenes": "JPY", "ienes": "JPY", "won": "KRW", "wones": "KRW",
    "rupee": "INR", "rupees": "INR", "rupias": "INR", "shekels": "ILS",
    # Brazil, Mexico
    "reais": "BRL", "reales": "BRL", "pesos mexicanos": "MXN",
}  # fmt: skip

# After a number written with CJK units ("20亿元", "53億7500万ドル", "9억 3500만 달러").
CJK_CURRENCIES = {
    "美元": "USD", "ドル": "USD", "米ドル": "USD", "달러": "USD",
    "欧元": "EUR", "ユーロ": "EUR", "유로": "EUR",
    "元": "CNY", "人民币": "CNY", "人民元": "CNY", "위안": "CNY",
    "円": "JPY", "日元": "JPY", "엔": "JPY",
    "韩元": "KRW", "ウォン": "KRW", "원": "KRW",
    "港元": "HKD", "英镑": "GBP", "ポンド": "GBP", "파운드": "GBP",
}  # fmt: skip

# Scales after a number in Latin script. "billion" is 10^9 (English use); the German and Spanish
# 10^12 words are "Billionen", "billón", "billones". Single letters need no space ("$60m").
ENGLISH_SCALES = {
    "k": 1e3, "thousand": 1e3, "thousands": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6,
    "millions": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "t": 1e12, "tn": 1e12,
    "trillion": 1e12, "lakh": 1e5, "lakhs": 1e5, "crore": 1e7, "crores": 1e7,
}  # fmt: skip
# Scales only languages that write a decimal comma use ("1,5 Mrd." is 1.5 billion, "1.000 millones"
# is one thousand million): their presence decides how "1,500" and "1.000" read.
DECIMAL_COMMA_SCALES = {
    # German
    "tsd": 1e3, "mio": 1e6, "millionen": 1e6, "mrd": 1e9, "milliarde": 1e9, "milliarden": 1e9,
    "billionen": 1e12,
    # French
    "milliard": 1e9, "milliards": 1e9, "md": 1e9, "mds": 1e9,
    # Spanish
    "millón": 1e6, "millon": 1e6, "millones": 1e6, "mil millones": 1e9, "billón": 1e12, "billones": 1e12,
    "mdd": 1e6,
    # Portuguese
    "milhão": 1e6, "milhao": 1e6, "milhões": 1e6, "milhoes": 1e6, "mil milhões": 1e9, "bilhão": 1e9,
    "bilhao": 1e9, "bilhões": 1e9, "bilhoes": 1e9, "bi": 1e9, "mi": 1e6, "trilhão": 1e12, "trilhões": 1e12,
    # Italian
    "mila": 1e3, "milione": 1e6, "milioni": 1e6, "miliardo": 1e9, "miliardi": 1e9, "mld": 1e9,
}  # fmt: skip
# "mil" is a million in English ("$5 mil") but a thousand in Spanish and Portuguese ("R$ 50 mil").
MIL = "mil"

# CJK units and the multipliers that may precede them: 4천억 = 4 x 1000 x 10^8.
CJK_UNITS = {"万": 1e4, "萬": 1e4, "만": 1e4, "亿": 1e8, "億": 1e8, "억": 1e8, "兆": 1e12, "조": 1e12}
CJK_MULTIPLIERS = {"千": 1e3, "천": 1e3, "百": 1e2, "백": 1e2, "十": 1e1, "십": 1e1}

# Between a scale and its currency word: "millions d'euros", "millones de dólares", "milioni di euro".
CONNECTORS = ("de", "d'", "d\u2019", "di", "do", "da")

# Number words before a scale word: "two billion yuan", "un milliard de dollars", "eine Milliarde
# Euro", "mil millones de dólares", "half a billion euros".
WORD_NUMBERS = {
    # English
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "half a": 0.5,
    # German
    "ein": 1, "eine": 1, "einer": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "zehn": 10,
    "eine halbe": 0.5, "einer halben": 0.5,
    # French
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10, "un demi": 0.5,
    # Spanish, Portuguese, Italian
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "diez": 10, "medio": 0.5, "mil": 1000,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "dez": 10, "meio": 0.5,
    "due": 2, "tre": 3, "cinque": 5, "dieci": 10, "mezzo": 0.5,
}  # fmt: skip

# Words right before an amount that make it a valuation, a market value or revenue, and the
# short words that may stand between them and the amount ("valued at", "Bewertung von",
# "valorisée à", "valoración de hasta", "評価額は", "기업가치는", "估值约").
KIND_WORDS_BEFORE = {
    "valuation": (
        "valued",
        "valuing it",
        "valuing the company",
        "value it",  # "a round that would value it at about $5 billion"
        "values it",
        "value the company",
        "values the company",
        "valuing the startup",
        "value the startup",
        "valuation",
        "valuations",
        "bewertet",
        "bewertung",
        "unternehmenswert",
        "valorisation",
        "valorisée",
        "valorisé",
        "valorisant",
        "valoración",
        "valoracion",
        "valuación",
        "valorada",
        "valorado",
        "valora",
        "valoró",
        "valoraba",
        "valorou",
        "valutazione",
        "valutata",
        "valutato",
        "valorizzazione",
        "avaliação",
        "vale",
        "valer",
        "avaliada",
        "avaliado",
        "avaliação",
        "avaliou",
        "avalia",
        "valutazione",
        "valutata",
        "valutato",
        "評価額",
        "企業価値",
        "기업가치",
        "기업 가치",
        "밸류에이션",
        "估值",
        "投后估值",
        "投前估值",
    ),
    "market_cap": (
        "market cap",
        "market capitalization",
        "market capitalisation",
        "market value",
        "börsenwert",
        "marktkapitalisierung",
        "capitalisation",
        "capitalisation boursière",
        "capitalización",
        "capitalización bursátil",
        "valor de mercado",
        "capitalização",
        "capitalizzazione",
        "時価総額",
        "시가총액",
        "시총",
        "市值",
    ),
    "revenue": (
        "revenue",
        "revenues",
        "sales",
        "arr",
        "umsatz",
        "erlöse",
        "chiffre d'affaires",
        "ingresos",
        "facturación",
        "receita",
        "faturamento",
        "fatturato",
        "ricavi",
        "売上高",
        "売上",
        "収益",
        "매출",
        "매출액",
        "营收",
        "营业收入",
        "销售额",
    ),
}
KIND_LINKS = (
    "of", "at", "to", "reached", "hit", "topped", "now", "von", "mit", "auf", "bei", "liegt", "nun", "jetzt",
    "würde", "damit",
    "steigt auf", "in höhe von", "de", "à", "a", "en", "em", "di", "del total de la empresa de",
    "la compañía en", "la empresa en", "hasta", "de hasta", "a empresa em", "pari a", "superiore ai",
    "superiore a", "pre-money", "post-money", "는", "은", "가", "이", "は", "が", "の", "为", "达", "达到",
)  # fmt: skip  # fmt: skip
HEDGES = (
    "about", "around", "nearly", "roughly", "over", "more than", "almost", "some", "up to", "at least", "near",
    "rund", "etwa", "über", "mehr als", "knapp", "fast", "environ", "près de", "plus de",
    "un peu moins de", "quelque", "cerca de", "unos", "más de", "casi", "mais de", "quase", "circa", "oltre",
    "quasi", "più di", "約", "约", "近", "超", "超过", "逾", "약", "이상",
)  # fmt: skip
# Words right after an amount that make it a valuation, a market value or revenue.
KIND_WORDS_AFTER = {
    "valuation": (
        "valuation",
        "pre-money valuation",
        "post-money valuation",
        "de valoración",
        "de valorisation",
        "di valutazione",
        "de avaliação",
        "bewertung",
        "bewertet",
        "の評価額",
        "的估值",
        "元估值",
        "估值",
        "post-money",  # "at $400M post-money"
        "pre-money",
        "value",  # "at a $14 billion value"; "market value" is a market cap
        "wert",  # "ist jetzt 5,6 Mrd. Dollar wert"
    ),
    "market_cap": ("market cap", "market value", "de capitalización", "de capitalisation"),
    "revenue": (
        "in revenue",
        "in annual revenue",
        "in yearly revenue",
        "of revenue",
        "in sales",
        "of sales",
        "in annualized revenue",
        "in annualised revenue",
        "annualized revenue",
        "annualised revenue",
        "in annual recurring revenue",
        "in arr",
        "of arr",
        "arr",
    ),
}

# Between an amount and its restatement in another currency: "2 billion yuan ($290 million)",
# "(about $290 million)", ", or about $290 million", "(casi 800 millones de euros)", "(約206億円)".
RESTATEMENT_HEDGES = (
    "about", "around", "approximately", "approx.", "roughly", "some", "nearly", "almost", "~", "≈",
    "rund", "etwa", "ca.", "environ", "soit", "près de", "casi", "cerca de", "unos", "aproximadamente",
    "aprox.", "circa", "quasi", "約", "约", "大约", "약",
)  # fmt: skip


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first so that "US$" wins over "$"."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
