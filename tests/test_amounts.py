"""The money parser, table-driven: amount forms, restatements, non-deal amounts, rounds."""

from __future__ import annotations

import pytest

from monitor.matching.amounts import DEFAULT_RATES_USD, find_amounts
from monitor.matching.rounds import find_round

M, B = 1e6, 1e9
R = DEFAULT_RATES_USD

AMOUNTS = [
    # id, text, (written text, value, currency, usd)
    (
        "yuan-with-usd-restated",
        "led a 2 billion yuan ($290 million) round",
        ("2 billion yuan ($290 million)", 2 * B, "CNY", 290 * M),
    ),
    (
        "usd-restated-about",
        "raised 2 billion yuan (about $290 million) from",
        ("2 billion yuan (about $290 million)", 2 * B, "CNY", 290 * M),
    ),
    (
        "or-about",
        "2 billion yuan, or about $290 million, from",
        ("2 billion yuan, or about $290 million", 2 * B, "CNY", 290 * M),
    ),
    (
        "usd-then-yuan",
        "$290 million (2 billion yuan) round",
        ("$290 million (2 billion yuan)", 290 * M, "USD", 290 * M),
    ),
    ("dollar-M", "invests $290M in", ("$290M", 290 * M, "USD", 290 * M)),
    ("dollar-m-lower", "a $60m round", ("$60m", 60 * M, "USD", 60 * M)),
    ("dollar-million", "a $60 million round", ("$60 million", 60 * M, "USD", 60 * M)),
    ("dollar-hyphen-million", "a $50-million round", ("$50-million", 50 * M, "USD", 50 * M)),
    ("dollar-mn", "raised $75mn", ("$75mn", 75 * M, "USD", 75 * M)),
    ("dollar-B", "a $2B deal", ("$2B", 2 * B, "USD", 2 * B)),
    ("dollar-bn-space", "a $1.5 bn deal", ("$1.5 bn", 1.5 * B, "USD", 1.5 * B)),
    ("dollar-billion", "$1.2 billion", ("$1.2 billion", 1.2 * B, "USD", 1.2 * B)),
    ("us-dollar-bn", "raised US$1.2bn", ("US$1.2bn", 1.2 * B, "USD", 1.2 * B)),
    ("usd-code", "USD 100 million", ("USD 100 million", 100 * M, "USD", 100 * M)),
    ("usd-code-after", "100 million USD", ("100 million USD", 100 * M, "USD", 100 * M)),
    ("dollars-word", "50 million dollars", ("50 million dollars", 50 * M, "USD", 50 * M)),
    ("us-dollars-word", "300 million US dollars", ("300 million US dollars", 300 * M, "USD", 300 * M)),
    ("thousands-commas", "$25,000,000 seed", ("$25,000,000", 25 * M, "USD", 25 * M)),
    ("euro-m", "a €50m round", ("€50m", 50 * M, "EUR", 50 * M * R["EUR"])),
    ("euro-million", "€1.3 million grant", ("€1.3 million", 1.3 * M, "EUR", 1.3 * M * R["EUR"])),
    ("euros-word", "40 million euros", ("40 million euros", 40 * M, "EUR", 40 * M * R["EUR"])),
    ("eur-code", "EUR 20m", ("EUR 20m", 20 * M, "EUR", 20 * M * R["EUR"])),
    ("pound-m", "£30m Series A", ("£30m", 30 * M, "GBP", 30 * M * R["GBP"])),
    ("pounds-word", "20 million pounds", ("20 million pounds", 20 * M, "GBP", 20 * M * R["GBP"])),
    ("rmb-prefix", "RMB 2 billion", ("RMB 2 billion", 2 * B, "CNY", 2 * B * R["CNY"])),
    ("rmb-suffix", "500 million RMB", ("500 million RMB", 500 * M, "CNY", 500 * M * R["CNY"])),
    ("yuan-word", "1 billion yuan", ("1 billion yuan", 1 * B, "CNY", 1 * B * R["CNY"])),
    ("renminbi-word", "3 billion renminbi", ("3 billion renminbi", 3 * B, "CNY", 3 * B * R["CNY"])),
    ("yen-sign-is-yuan", "¥500 million", ("¥500 million", 500 * M, "CNY", 500 * M * R["CNY"])),
    ("fullwidth-yen-sign", "￥500 million", ("¥500 million", 500 * M, "CNY", 500 * M * R["CNY"])),
    ("jp-yen-sign", "JP¥10 billion", ("JP¥10 billion", 10 * B, "JPY", 10 * B * R["JPY"])),
    ("yen-word", "10 billion yen", ("10 billion yen", 10 * B, "JPY", 10 * B * R["JPY"])),
    ("krw-code", "KRW 50 billion", ("KRW 50 billion", 50 * B, "KRW", 50 * B * R["KRW"])),
    ("won-trillion", "1.5 trillion won", ("1.5 trillion won", 1.5e12, "KRW", 1.5e12 * R["KRW"])),
    ("won-sign", "₩30 billion", ("₩30 billion", 30 * B, "KRW", 30 * B * R["KRW"])),
    ("hkd-dollar", "HK$800 million", ("HK$800 million", 800 * M, "HKD", 800 * M * R["HKD"])),
    ("inr-crore", "₹400 crore", ("₹400 crore", 4 * B, "INR", 4 * B * R["INR"])),
    ("cny-yi", "20亿元", ("20亿元", 2 * B, "CNY", 2 * B * R["CNY"])),
    ("usd-yi", "2亿美元", ("2亿美元", 200 * M, "USD", 200 * M)),
    ("trillion-dollar", "$1T", ("$1T", 1e12, "USD", 1e12)),
    ("thousand-k-big", "$1,500k", ("$1,500k", 1.5 * M, "USD", 1.5 * M)),
    (
        "words-two-billion-yuan",
        "raised two billion yuan",
        ("two billion yuan", 2 * B, "CNY", 2 * B * R["CNY"]),
    ),
    ("words-a-billion-dollars", "a billion dollars for robots", ("a billion dollars", B, "USD", B)),
    (
        "words-half-a-billion",
        "half a billion euros",
        ("half a billion euros", 0.5 * B, "EUR", 0.5 * B * R["EUR"]),
    ),
    (
        "words-restated",
        "two billion yuan ($290 million)",
        ("two billion yuan ($290 million)", 2 * B, "CNY", 290 * M),
    ),
]


# The same sums as the other eight languages write them (NFKC text; amounts under $1M are dropped).
AMOUNTS += [
    # German: Mio./Mrd., decimal commas, words
    ("de-mio", "hat 120 Mio. Euro eingesammelt", ("120 Mio. Euro", 120 * M, "EUR", 120 * M * R["EUR"])),
    ("de-mrd-comma", "1,5 Mrd. Euro", ("1,5 Mrd. Euro", 1.5 * B, "EUR", 1.5 * B * R["EUR"])),
    ("de-millionen-usd", "520 Millionen US-Dollar", ("520 Millionen US-Dollar", 520 * M, "USD", 520 * M)),
    ("de-milliarden", "1,5 Milliarden Dollar", ("1,5 Milliarden Dollar", 1.5 * B, "USD", 1.5 * B)),
    ("de-words", "eine halbe Milliarde Euro", ("eine halbe Milliarde Euro", 0.5 * B, "EUR", 0.5 * B * R["EUR"])),
    ("de-symbol-after", "30 Mio. €", ("30 Mio. €", 30 * M, "EUR", 30 * M * R["EUR"])),
    # French
    ("fr-millions", "lève 600 millions d'euros", ("600 millions d'euros", 600 * M, "EUR", 600 * M * R["EUR"])),
    ("fr-milliard-comma", "1,7 milliard d'euros", ("1,7 milliard d'euros", 1.7 * B, "EUR", 1.7 * B * R["EUR"])),
    ("fr-m-euro", "une série B de 100 M€", ("100 M€", 100 * M, "EUR", 100 * M * R["EUR"])),
    ("fr-md-euro", "1,5 Md€", ("1,5 Md€", 1.5 * B, "EUR", 1.5 * B * R["EUR"])),
    ("fr-words", "un milliard de dollars", ("un milliard de dollars", B, "USD", B)),
    ("fr-elided", "d'1 milliard de dollars", ("1 milliard de dollars", B, "USD", B)),
    # Spanish: dots group thousands before millones
    ("es-decimal-comma", "US$ 162,6 millones", ("US$ 162,6 millones", 162.6 * M, "USD", 162.6 * M)),
    ("es-thousands-dot", "US$ 1.000 millones", ("US$ 1.000 millones", B, "USD", B)),
    ("es-de-dolares", "13.000 millones de dólares", ("13.000 millones de dólares", 13 * B, "USD", 13 * B)),
    ("es-mil-millones", "mil millones de dólares", ("mil millones de dólares", B, "USD", B)),
    ("es-dos-mil-millones", "dos mil millones de euros", ("dos mil millones de euros", 2 * B, "EUR", 2 * B * R["EUR"])),
    (
        "es-restated-euros",
        "935 millones de dólares (casi 800 millones de euros)",
        ("935 millones de dólares (casi 800 millones de euros)", 935 * M, "USD", 935 * M),
    ),
    # Portuguese: milhões, bilhões, mil milhões, R$
    ("pt-usd-milhoes", "US$ 600 milhões", ("US$ 600 milhões", 600 * M, "USD", 600 * M)),
    (
        "pt-restated-reais",
        "US$ 675 milhões (R$ 3,3 bilhões)",
        ("US$ 675 milhões (R$ 3,3 bilhões)", 675 * M, "USD", 675 * M),
    ),
    ("pt-real", "R$ 50 milhões", ("R$ 50 milhões", 50 * M, "BRL", 50 * M * R["BRL"])),
    ("pt-mil-milhoes", "1,9 mil milhões de dólares", ("1,9 mil milhões de dólares", 1.9 * B, "USD", 1.9 * B)),
    ("pt-bi", "capta US$ 1 bi", ("US$ 1 bi", B, "USD", B)),
    ("pt-words", "um bilhão de dólares", ("um bilhão de dólares", B, "USD", B)),
    # Italian
    ("it-milioni", "70 milioni di euro", ("70 milioni di euro", 70 * M, "EUR", 70 * M * R["EUR"])),
    ("it-miliardi", "1,7 miliardi di euro", ("1,7 miliardi di euro", 1.7 * B, "EUR", 1.7 * B * R["EUR"])),
    ("it-words", "oltre un miliardo di dollari", ("un miliardo di dollari", B, "USD", B)),
    # Chinese, Japanese, Korean: 万/億/亿/억/조 units, compounds, restatements
    ("zh-yi-yuan", "完成约10亿元A+轮融资", ("10亿元", B, "CNY", B * R["CNY"])),
    ("zh-decimal-yi", "1.22亿美元的天使+轮", ("1.22亿美元", 122 * M, "USD", 122 * M)),
    ("zh-wan", "6000万美元B轮融资", ("6000万美元", 60 * M, "USD", 60 * M)),
    ("zh-traditional", "完成10億美元融資", ("10億美元", B, "USD", B)),
    ("ja-compound", "53億7500万ドルで買収", ("53億7500万ドル", 5.375 * B, "USD", 5.375 * B)),
    ("ja-restated-yen", "1億5000万ドル(約234億円)を調達", ("1億5000万ドル(約234億円)", 150 * M, "USD", 150 * M)),
    ("ja-yuan-and-yen", "約10億元(約206億円)を調達", ("10億元(約206億円)", B, "CNY", B * R["CNY"])),
    ("ja-yen", "約200億円を調達", ("200億円", 20 * B, "JPY", 20 * B * R["JPY"])),
    ("ja-fullwidth", "１０億円", ("10億円", B, "JPY", B * R["JPY"])),
    ("ko-eok-won", "약 2675억원을 투입", ("2675억원", 267.5 * B, "KRW", 267.5 * B * R["KRW"])),
    ("ko-spaced-compound", "9억 3500만 달러를 조달", ("9억 3500만 달러", 935 * M, "USD", 935 * M)),
    ("ko-cheon-eok", "10억 달러(약 1조4천억원)", ("10억 달러(약 1조4천억원)", B, "USD", B)),
    ("ko-man-dollar", "400만 달러 규모의 시드", ("400만 달러", 4 * M, "USD", 4 * M)),
    # the yen sign by context
    ("yen-sign-in-japanese", "東京の新興が¥500 millionを", ("¥500 million", 500 * M, "JPY", 500 * M * R["JPY"])),
    ("yen-sign-near-tokyo", "a Tokyo startup raised ¥5 billion", ("¥5 billion", 5 * B, "JPY", 5 * B * R["JPY"])),
    ("other-dollars", "NZ$12 million and", ("NZ$12 million", 12 * M, "NZD", 12 * M * R["NZD"])),
]


@pytest.mark.parametrize(("text", "expected"), [a[1:] for a in AMOUNTS], ids=[a[0] for a in AMOUNTS])
def test_amount(text, expected):
    (amount,) = find_amounts(text)
    written, value, currency, usd = expected
    assert (amount.text, amount.currency) == (written, currency)
    assert amount.value == pytest.approx(value)
    assert amount.usd == pytest.approx(usd)
    assert amount.kind == "deal"


NOT_DEALS = [
    ("stock-price", "The stock (BABA), trading around $128, shows stabilisation"),
    ("price-target", "analysts keep an average price target of $182"),
    ("small-grant", "a $50,000 prize"),
    ("year", "In 2026 the company raised money"),
    ("model-name", "Vidu Q3 Pro and GPT-4 and Veo 3"),
    ("round-name", "a Series B round"),
    ("parameters", "a 7 billion parameter model"),
    ("percent", "shares rose 5%"),
    ("million-without-currency", "a million users and two billion views"),
    ("nvidia-is-not-yen", "엔비디아 주가"),
    ("mil-is-a-thousand-in-portuguese", "R$ 50 mil de faturamento"),
    ("won-the-verb", "the team won 3 titles"),
    ("price-in-euros", "es kostet 1.299 Euro"),
]


@pytest.mark.parametrize("text", [n[1] for n in NOT_DEALS], ids=[n[0] for n in NOT_DEALS])
def test_no_deal_amount(text):
    assert find_amounts(text) == ()


def test_small_amounts_are_kept_when_the_floor_is_lowered():
    (amount,) = find_amounts("trading around $128", min_usd=100)
    assert amount.value == 128


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("raised $100M at a $1B valuation", "valuation"),
        ("now valued at $4.5 billion", "valuation"),
        ("at a post-money valuation of $2 billion", "valuation"),
        ("a market cap of $300 billion", "market_cap"),
        ("with $20 million in annual revenue", "revenue"),
        ("revenue of $20 million", "revenue"),
        ("valued at more than $1 billion", "valuation"),
        ("valuing it at $3 billion", "valuation"),
        ("a $1 billion valuation and 3 billion yen of new money", "deal"),  # the kind is the nearest words
        ("Die Bewertung liegt nun bei rund fünf Milliarden Dollar", "valuation"),
        ("portant sa valorisation à 39 milliards de dollars", "valuation"),
        ("una valoración de hasta 5.300 millones de dólares", "valuation"),
        ("avaliada em 1,9 mil milhões de dólares", "valuation"),
        ("con una valutazione superiore ai 500 milioni di dollari", "valuation"),
        ("評価額は17億ドルに達した", "valuation"),
        ("기업가치는 53억 달러로", "valuation"),
        ("投后估值超过120亿元", "valuation"),
        ("全年营业收入约119亿元", "revenue"),
        ("2024年の売上高は約3800億円", "revenue"),
        ("時価総額は3兆円", "market_cap"),
    ],
)
def test_amount_kinds(text, kind):
    assert find_amounts(text)[-1].kind == kind


def test_several_amounts_in_order_and_unknown_currency_rate():
    text = "Alibaba led $60 million for PixVerse and €50m for X; 10 billion yen elsewhere."
    found = find_amounts(text, rates={"USD": 1.0, "EUR": 1.1})
    assert [a.text for a in found] == ["$60 million", "€50m", "10 billion yen"]
    assert found[2].usd is None  # no JPY rate given: value still reported


ROUNDS = [
    ("series-b", "closes a Series B funding round", "Series B"),
    ("series-a-plus", "a Series A+ round led by", "Series A+"),
    ("series-c1", "its Series C1", "Series C1"),
    ("pre-series-a", "a pre-Series A round", "pre-Series A"),
    ("chinese-style", "completed an A+ round", "Series A+"),
    ("seed-round", "raised a $5M seed round", "seed"),
    ("seed-amount", "a $12 million seed from", "seed"),
    ("pre-seed", "a pre-seed cheque", "pre-seed"),
    ("angel", "an angel round from founders", "angel"),
    ("strategic", "a strategic investment from Tencent", "strategic investment"),
    ("acquisition", "Nvidia acquires a robotics startup", "acquisition"),
    ("acquisition-of", "the acquisition of Wayve's unit", "acquisition"),
    ("first-wins", "X acquires Y, which raised a Series A last year", "acquisition"),
    ("ipo", "files for an IPO in Hong Kong", "IPO"),
    ("after-odd-capital", "İSTANBUL: startup closes a Series A", "Series A"),  # İ lower-cases to 2 chars
    ("tv-series", "a new series about robots", None),
    ("lower-series", "a series a day", None),
    ("seed-noun", "seed the dataset with examples", None),
    ("strategic-pivot", "a strategic pivot to world models", None),
    ("zh-letter-round", "完成约10亿元A+轮融资", "Series A+"),
    ("zh-pre-a", "完成Pre-A轮融资", "pre-Series A"),
    ("zh-a1", "完成亿级人民币A1轮融资", "Series A1"),
    ("zh-angel", "再获天使+轮投资", "angel"),
    ("zh-acquisition", "智元机器人收购上纬新材", "acquisition"),
    ("zh-ipo", "宇树科技启动上市辅导", "IPO"),
    ("ja-series", "シリーズAで5億ドル", "Series A"),
    ("ja-acquisition", "ABBのロボット事業を買収", "acquisition"),
    ("ja-strategic", "戦略的投資を受けた", "strategic investment"),
    ("ko-series", "시리즈A 라운드를 재개방", "Series A"),
    ("ko-pre-a", "프리A 투자 유치", "pre-Series A"),
    ("ko-seed", "400만 달러 시드 투자 유치", "seed"),
    ("de-serie", "Die Serie-A-Runde über 25 Millionen Euro", "Series A"),
    ("de-takeover", "Samsung übernimmt den Hersteller", "acquisition"),
    ("de-ipo", "plant den Börsengang", "IPO"),
    ("fr-serie", "une série A de 935 millions", "Series A"),
    ("fr-pre-seed", "lève 27 millions en pré-amorçage", "pre-seed"),
    ("fr-seed", "105 millions en amorçage", "seed"),
    ("fr-acquisition", "Hugging Face rachète Pollen Robotics", "acquisition"),
    ("es-serie", "ronda Serie A por US$ 162,6 millones", "Series A"),
    ("es-acquisition", "Nvidia adquiere la startup", "acquisition"),
    ("pt-serie", "rodada Série C liderada", "Series C"),
    ("it-serie", "un round Serie B da 100 milioni", "Series B"),
    ("it-acquisition", "l'acquisizione di RobCo", "acquisition"),
    ("listed-company-is-no-ipo", "東証プライム上場の企業が", None),
    ("anchors-inside-words", "Around the background, the republic's bipolar accreditation", None),
    ("preseed-in-one-word", "a $2 million preseed round", "pre-seed"),
]


@pytest.mark.parametrize(("text", "expected"), [r[1:] for r in ROUNDS], ids=[r[0] for r in ROUNDS])
def test_round(text, expected):
    assert find_round(text) == expected


@pytest.mark.parametrize(("text", "expected"), [r[1:] for r in ROUNDS], ids=[r[0] for r in ROUNDS])
def test_the_engine_finds_the_round_in_its_one_pass_over_the_item(one_rule, item, text, expected):
    """The rule engine's index holds the round anchors (and the company list) beside the terms."""
    ruleset = one_rule("zzmarker")
    assert ruleset.scans_body
    (match,) = ruleset.evaluate(item("zzmarker", text))
    assert match.explanation.round == expected
