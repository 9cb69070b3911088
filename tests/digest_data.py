"""A realistic day of stories for digest tests (and the README screenshot), written through the real
store: each story's first outlet opens it, the others join it, matches carry explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.model import (
    Amount,
    Explanation,
    Item,
    JoinStory,
    Match,
    NewItem,
    OpenStory,
    Outgoing,
    PollOutcome,
    TermHit,
)
from monitor.settings import FeedConfig
from monitor.store.interface import Store

HOSTILE_TITLE = '<script>alert("x")</script> Vidu & <!channel> <img src=x onerror=alert(1)>'
HOSTILE_URL = "javascript:alert(document.cookie)"

FUNDING = "Funding rounds in world-model AI"
EMBODIED = "Embodied AI and robotics foundation models"
VIDEO = "Video and 3D generation"


def match(rule_id: str, name: str, priority: str, terms=(), amounts=(), companies=(), round_=None) -> Match:
    hits = tuple(TermHit(term, "title", f"… {term} …") for term in terms)
    return Match(rule_id, name, priority, None, False, Explanation(hits, tuple(amounts), tuple(companies), round_))


@dataclass(frozen=True)
class Story:
    hours_before: float  # first seen this long before the period's end
    outlets: tuple[tuple[str, str | None, str], ...]  # (outlet, url, title) in order of arrival
    matches: tuple[Match, ...]


STORIES = (
    Story(
        20,
        (
            ("TechNode", "https://technode.com/2026/11/21/alibaba-cloud-shengshu-vidu/",
             "Alibaba Cloud leads 2 billion yuan round in ShengShu, maker of Vidu"),
            ("SCMP Tech", "https://www.scmp.com/tech/big-tech/article/3333333/vidu-shengshu-alibaba",
             "Vidu maker ShengShu raises US$290 million in round led by Alibaba Cloud"),
        ),
        (
            match("funding", FUNDING, "high", ("world model", "video generation"),
                  (Amount("2 billion yuan", 2e9, "CNY", 2.76e8), Amount("$290 million", 2.9e8, "USD", 2.9e8)),
                  ("Alibaba Cloud", "ShengShu"), "Series B"),
            match("video", VIDEO, "normal", ("video generation",)),
        ),
    ),
    Story(
        9,
        (("KrASIA", "https://kr-asia.com/pixverse-raises-60-million",
          "PixVerse raises $60 million as AI video booms"),),
        (match("funding", FUNDING, "high", ("video generation",), (Amount("$60 million", 6e7, "USD", 6e7),),
               ("PixVerse",), "Series C"),),
    ),
    Story(
        5,
        (
            ("TechCrunch AI", "https://techcrunch.com/2026/11/22/tripo-ai-50m/",
             "Tripo AI closes $50M to scale 3D generation"),
            ("VentureBeat AI", "https://venturebeat.com/ai/tripo-ai-raises-50-million/",
             "Tripo AI raises $50 million for text-to-3D models"),
        ),
        (match("funding", FUNDING, "high", ("3D generation",), (Amount("$50M", 5e7, "USD", 5e7),), ("Tripo AI",)),),
    ),
    Story(
        14,
        (
            ("NVIDIA Blog", "https://blogs.nvidia.com/blog/cosmos-world-foundation-models/",
             "NVIDIA opens Cosmos world foundation models for physical AI"),
            ("The Robot Report", "https://www.therobotreport.com/nvidia-cosmos-robot-training/",
             "Nvidia's Cosmos models aim to teach robots physics"),
            ("IEEE Spectrum Robotics", "https://spectrum.ieee.org/world-models-robot-training",
             "World models come to robot training"),
        ),
        (match("embodied", EMBODIED, "normal", ("world foundation model", "physical AI"), companies=("NVIDIA",)),),
    ),
    Story(
        3,
        (("Hugging Face Blog", "https://huggingface.co/blog/open-video-world-model",
          "An open video world model you can run on one GPU"),),
        (match("video", VIDEO, "normal", ("world model", "video generation")),),
    ),
)  # fmt: skip

HOSTILE = Story(1, (("Evil <b>Feed</b>", HOSTILE_URL, HOSTILE_TITLE),), (match("video", VIDEO, "low", ("Vidu",)),))


def record(store: Store, end: datetime, stories=STORIES, prefix: str = "") -> None:
    """Record ``stories`` so each is first seen ``hours_before`` the period's ``end``; joined
    outlets follow an hour apart. Every story queues one opening alert."""
    for n, story in enumerate(stories):
        story_id = None
        for k, (outlet, url, title) in enumerate(story.outlets):
            when = end - timedelta(hours=story.hours_before) + timedelta(hours=k)
            url = f"{url}{prefix}" if url and prefix else url  # a second batch needs its own URLs
            item = Item(outlet, f"{prefix}{n}-{k}", url, title, "summary", "summary", when, when, f"{prefix}fp{n}-{k}")
            keys = (f"guid:{outlet}:{prefix}{n}-{k}", f"fp:{prefix}fp{n}-{k}")
            decision = OpenStory() if story_id is None else JoinStory(story_id)
            outgoing = (Outgoing("console", None, "high", "funding", {"title": title}),) if story_id is None else ()
            recorded = store.items.record([NewItem(item, keys, story.matches, decision, outgoing)], when)
            story_id = recorded[0].story_id


def feeds(store: Store, now: datetime, failing: str | None = "Hugging Face Blog") -> list[FeedConfig]:
    """Sync the outlets of ``STORIES`` as feeds, all polled just before ``now``, one failing."""
    configs = [
        FeedConfig(name, f"https://feeds.example/{i}", timedelta(minutes=15))
        for i, name in enumerate(dict.fromkeys(o[0] for s in STORIES for o in s.outlets))
    ]
    store.feeds.sync(configs)
    for feed in configs:
        outcome = (
            PollOutcome("error", error="http: HTTP 503 from the server; retrying with back-off")
            if feed.name == failing
            else PollOutcome("ok")
        )
        store.feeds.record_poll(feed.name, outcome, now - timedelta(minutes=5))
    return configs
