"""The words deal reports are made of, in nine languages, as regex fragments for ``deal.py``.

Latin-script verbs are whole words matched case-insensitively; CJK ones need no word boundary.
Each tuple is read as an alternation, longest first.
"""

from __future__ import annotations

# "X raises $60M": the company comes before the verb.
RAISE_VERBS = (
    # English
    "raises", "raised", "has raised", "raising", "secures", "secured", "lands", "landed", "closes", "closed",
    "bags", "bagged", "nabs", "snags", "gets", "receives", "received", "pulls in", "picks up", "brings in",
    "collects", "hauls in", "attracts", "wins", "emerges from stealth with", "becomes a unicorn with",
    "is valued at", "valued at", "is raising", "seeks", "is seeking", "in talks to raise", "is in talks",
    "raise",  # after "plans to", "in talks to"; the noun ("a $40M raise") has no name before it
    "lever", "recaudar", "levantar", "captar", "raccogliere", "obtenir", "obtener", "einsammeln",
    "mantiene conversaciones", "en conversaciones", "negocia",
    "files for", "attracts",
    # German
    "sammelt", "hat", "erhält", "holt sich", "holt", "bekommt", "schließt", "startet mit", "verhandelt",
    "führt laut bloomberg gespräche", "führt gespräche",
    "ist jetzt", "ist nun",
    # French
    "lève", "a levé", "boucle", "a bouclé", "obtient", "a obtenu", "récolte", "a récolté", "empoche", "décroche",
    "réalise", "vient de lever", "vient de boucler", "vaut",
    # Spanish
    "levanta", "levantó", "recauda", "recaudó", "capta", "captó", "cierra", "cerró", "ha cerrado", "obtiene",
    "obtuvo", "consigue", "consiguió", "logra", "logró", "recibe", "recibió", "busca", "ya es",
    # Portuguese
    "captou", "levantou", "arrecada", "arrecadou", "recebe", "recebeu", "fecha", "conclui", "concluiu",
    "pode receber", "estreia com", "já vale", "passa a valer",
    # Italian
    "raccoglie", "ha raccolto", "chiude", "ha chiuso", "ottiene", "incassa", "riceve", "vale", "attira",
)  # fmt: skip
CJK_RAISE_VERBS = (
    "宣布完成", "完成", "获得", "再获", "喜获", "获投", "拿下", "斩获", "募集", "启动上市辅导", "递表",  # Chinese
    "洽谈", "寻求", "筹集", "拟融资", "寻求融资", "启动融资",
    "を調達", "調達", "資金調達", "投資を受け", "出資を受け",  # Japanese: Xが…億円を調達
    "투자를 유치", "투자 유치", "유치", "조달", "확대",  # Korean: X가 … 투자 유치
)  # fmt: skip
# "Alibaba led a $60M round in PixVerse": the company comes after the preposition.
INVEST_VERBS = (
    "led", "leads", "co-led", "co-leads", "leading", "invests", "invested", "invest", "investing", "backs",
    "backed", "bets", "bet", "puts", "put", "pours", "pour", "injects", "inject", "funds", "investiert", "investit",
    "investi", "investir", "invierte", "invertir", "investe", "investire", "investiu", "investieren", "apuesta",
    "mise", "guida", "ha guidato", "lidera", "liderou",
)  # fmt: skip
INTO = ("in", "into", "on", "dans", "en", "em", "na", "no", "bei", "nella", "nel")
# "X announced a $40 million Series A": the company before, a deal right after.
ANNOUNCE_VERBS = ("announced", "announces", "annonce", "a annoncé", "anuncia", "anunció", "anunciou", "annuncia",
                  "kündigt", "gibt bekannt", "unveils", "unveiled")  # fmt: skip
# "Niantic spins out Niantic Spatial with $250 million": the company is the one spun out.
SPIN_OUT_VERBS = ("spins out", "spun out", "spins off", "spun off", "to spin out", "to spin off")
# Investment verbs whose object is the company itself: "to back Skild AI", "soutient X".
DIRECT_INVEST_VERBS = ("back", "backs", "backed", "funds", "funded", "finances", "soutient", "respalda", "apoia")
# "round in PixVerse", "investment in Tripo AI": the company after a deal noun and a preposition.
DEAL_NOUNS = (
    "round", "investment", "funding", "financing", "stake", "bet", "deal", "raise", "seed", "series a", "series b",
    "series c", "series d", "series e", "series f", "tour de table", "levée de fonds", "investissement",
    "financement", "ronda", "inversión", "financiación", "rodada", "aporte", "investimento", "financiamento",
    "finanziamento",
)  # fmt: skip
# German compounds end in these: "Milliardeninvestition in Neura Robotics", "Beteiligung an RobCo".
GERMAN_DEAL_NOUN_ENDS = (
    "investition", "beteiligung", "finanzierung", "finanzierungsrunde", "runde", "einstieg",
)  # fmt: skip
ACQUIRE_VERBS = (
    "acquires", "acquired", "to acquire", "will acquire", "agrees to buy", "agreed to buy", "to buy", "buys",
    "bought", "takes over", "take control of", "takes control of", "took control of", "to take control of",
    "übernimmt", "kauft", "erwirbt", "rachète", "acquiert", "met la main sur",
    "adquiere", "adquirió", "compra", "adquire", "adquiriu", "comprou", "acquisisce", "rileva",
)  # fmt: skip
PASSIVE_ACQUIRED = ("acquired by", "bought by", "übernommen von", "racheté par", "adquirida por", "adquirido por",
                    "acquisita da", "rachetée par")  # fmt: skip
CJK_ACQUIRE = ("收购", "并购", "入主", "を買収", "買収", "인수")
# "led by X", "guidato da X": the lead investors follow.
LED_BY = (
    "led by", "co-led by", "is led by", "was led by", "headed by", "with participation from lead investor",
    "angeführt von", "angeführt wurde sie von", "angeführt wurde die runde von", "unter führung von",
    "mené par", "menée par", "emmenée par", "conduit par", "co-dirigé par", "co-dirigée par", "co-menée par",
    "liderada por", "liderado por", "encabezada por", "co-liderada por", "codirigida por", "codirigido por",
    "coliderada por", "coliderado por", "co-liderado por", "co-liderada pela", "coliderada pela",
    "angeführt wird die runde von", "angeführt wird sie von", "angeführt wurde sie von", "geführt von",
    "guidato da", "guidata da",
    "liderada pela", "liderada pelo", "liderado pela", "liderado pelo", "guidati da", "guidato dal",
    "guidata dal", "guidato dalla", "guidata dalla", "guidato dai", "guidata dai",
    "lead investor", "lead investors", "lead investor is", "lead investors are", "lead investors were",
    "lead investor was", "anchored by", "lead-investor ist", "lead-investor war", "leadinvestor ist",
    "investisseur principal", "inversor principal", "investidor principal", "investitore principale",
)  # fmt: skip
# "X led the round", "X et Y co-mènent": the lead investors come before.
LED_AFTER = (
    "led the round", "led the investment", "led the series", "led the seed", "led the raise", "co-led the round",
    "co-led", "led", "leads", "is leading", "led the new money", "co-mènent", "mène", "führt", "an",
)  # fmt: skip
CJK_LED = (
    "领投", "联合领投", "独家投资", "独家领投", "主導", "が主導", "주도", "가 주도", "이 주도", "주도로", "がリード",
    "が共同でリード", "がリード投資家を務め", "리드했", "가 리드", "이 리드",
)  # fmt: skip
# "A was the lead investor", "A took the lead": the lead investors come before.
LED_BEFORE = (
    "was the lead investor", "is the lead investor", "were the lead investors", "served as lead investor",
    "served as the lead investor", "acted as lead investor", "took the lead", "anchored the round", "a mené",
    "ont mené", "a mené le tour", "liderou", "lideraram", "hanno guidato",
)  # fmt: skip
CJK_LEAD_IS = ("リード投資家は", "리드 투자자는")  # the lead investors follow
# "with participation from A, B and C": other investors follow.
WITH_INVESTORS = (
    "with participation from", "with participation of", "participation from", "alongside", "joined by",
    "investors include", "investors included", "backers include", "other investors include",
    "also participated", "with", "from", "including", "mit beteiligung von", "beteiligt sind", "neben",
    "avec la participation de", "aux côtés de", "parmi les investisseurs", "con la participación de",
    "participan", "com participação de", "com a participação de", "contou com", "con la partecipazione di",
    "con", "zu den geldgebern gehören", "zu den investoren gehören",
)  # fmt: skip
CJK_FOLLOW = ("跟投", "参投", "も出資", "も参加", "が参加", "이 참여", "가 참여", "등이 참여", "참여")
# A list of names: "A, B and C", "A、B和C", "A et B".
# Not "・": it joins the parts of one katakana name (アリババ・クラウド).
LIST_JOINS = (
    ",", "、", " and ", " & ", " et ", " y ", " e ", " und ", "和", "及", "与", " 및 ", "과 ", "와 ", "や", "と", "·",
)  # fmt: skip  # fmt: skip
# "in talks", "could raise": the deal has not closed.
IN_TALKS = (
    "in talks", "in discussions", "in advanced talks", "is seeking", "seeks", "looking to raise", "plans to raise",
    "is raising", "could raise", "may raise", "nears", "close to raising", "people familiar", "would value",
    "negotiating", "reportedly raising", "in gesprächen", "verhandelt", "gespräche über", "en discussions",
    "en négociation", "négocie", "pourrait lever", "espérait", "en conversaciones", "mantiene conversaciones",
    "negocia", "busca recaudar", "podría", "em negociações", "pode ganhar", "pode receber", "poderá",
    "in trattativa", "in trattative", "potrebbe", "letter of intent", "lettre d'intention", "prêt à investir",
    "is said to", "are said to", "said to be", "sources say", "according to people", "en negociaciones",
    "en négociations", "gespräche", "erwägt", "prepares", "preparing", "preparations", "pre-listing",
    "plans to list", "plans an ipo", "to go public", "first step toward", "first step towards", "primer paso",
    "premier pas", "primeiro passo", "primo passo", "erster schritt",
    "洽谈", "寻求融资", "正在寻求", "拟融资", "据知情人士",
    "協議中", "交渉中", "検討", "で協議", "協議して", "上場準備", "上場を目指",
    "논의 중", "협상", "상장 추진", "상장을 추진", "유치 추진", "추진 중", "협상 중", "논의하고", "검토 중",
    "투자하는 방안",
    "soll", "sollen", "sarebbe", "estaria",
    "上市辅导", "辅导备案", "接洽", "被曝", "拟融资",
    "递表", "招股书", "files for", "filed for", "plans to go public",
)  # fmt: skip
# Nouns that say what a company is; in a run of capitalised words ("Robotics Startup Skild AI",
# "Münchner Robotik-Start-up RobCo", "Vidu Maker ShengShu") the name starts after the last one.
TYPE_NOUNS = (
    "startup", "start-up", "company", "firm", "maker", "developer", "unicorn", "spinout", "spin-off", "giant",
    "hersteller", "unternehmen", "firma", "entwickler", "konzern", "entreprise", "société", "empresa",
    "azienda", "società", "fabricante", "produttore", "fabricant", "rival", "roboter",
)  # fmt: skip
# Lower-case words that describe the company named after them: "backs AI film studio Promise",
# "a round in robotics startup Skild AI", "investit dans la start-up X".
DESCRIPTION_WORDS = (
    "the", "a", "an", "its", "their", "ai", "startup", "start-up", "company", "firm", "maker", "developer", "studio",
    "film", "lab", "robotics", "robot", "humanoid", "video", "generative", "spatial", "intelligence", "chinese",
    "american", "french", "german", "japanese", "korean", "israeli", "british", "european", "rival", "unicorn",
    "young", "fellow", "la", "le", "l'", "el", "il", "lo", "o", "die", "der", "das", "jeune", "pousse",
)  # fmt: skip
# Words that may stand before a name in a sentence without being part of it.
DESCRIPTORS = ("the", "la", "le", "el", "il", "lo", "die", "der", "das", "l'", "a", "an", "o", "os")
# Korean words that describe the name after them (휴머노이드 로봇 스타트업 피규어AI).
KOREAN_DESCRIPTORS = frozenset(
    {"미국", "중국", "일본", "한국", "독일", "프랑스", "노르웨이", "신생", "스타트업", "기업", "로봇",
     "휴머노이드", "AI", "인공지능", "개발사", "업체", "회사", "텍사스", "대학", "스핀오프", "반도체"}
)  # fmt: skip  # fmt: skip
# Where a CJK subject's descriptive prefix ends: 具身智能公司|自变量机器人, 深圳の|自変量機器人.
CJK_DESCRIPTOR_ENDS = ("公司", "企业", "初创", "独角兽", "厂商", "平台", "的", "の", "新興", "スタートアップ", "旗下",
                       "스타트업", "기업", "업체", "개발사")  # fmt: skip
