"""Frozen settings from config.yaml and the environment; a bad value fails fast, naming its key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yaml"
LANGUAGE_CODE = re.compile(r"[a-z]{2}")  # used with fullmatch: no trailing newline
USER_ID = re.compile(r"[0-9]{1,19}")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
ADMIN_IDS_ENV = "BOT_ADMIN_IDS"
LOG_KEY_ENV = "QUESTION_LOG_KEY"
# Paths from the environment win over config.yaml, so that a server keeps code, content and
# state apart without editing the file a `git pull` updates (README, "On a server").
CONFIG_ENV = "BOT_CONFIG"  # the settings file itself
FAQ_DIR_ENV = "BOT_FAQ_DIR"  # the knowledge base (content that staff own)
STATE_DIR_ENV = "BOT_STATE_DIR"  # the folder for the database (systemd's StateDirectory=)
QUESTION_LOG_ENV = "BOT_QUESTION_LOG"  # the database file itself (wins over BOT_STATE_DIR)
# Placeholders FAQ answers may use besides one per link (see Settings.placeholders).
AGENCY_PLACEHOLDERS = frozenset({"agency_name", "address", "phone", "phone_international", "email"})


class ConfigError(ValueError):
    """config.yaml (or an environment variable) has a problem; the message names the key."""


@dataclass(frozen=True)
class Link:
    key: str
    url: str
    labels: Mapping[str, str]
    # True while config.yaml has no address for this link (url: null): `url` and `labels`
    # are then those of the link named in `until_set`, so the button says what it opens.
    pending: bool = False

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or next(iter(self.labels.values()))


@dataclass(frozen=True)
class Coordinates:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class AgencySettings:
    names: Mapping[str, str]
    addresses: Mapping[str, str]
    phone: str
    phone_international: str
    email: str
    coordinates: Coordinates | None = None


@dataclass(frozen=True)
class MatchingSettings:
    """The matcher's thresholds; config.yaml (`matching:`) says what each one does."""

    answer_threshold: float = 32.0
    suggest_threshold: float = 20.0
    ambiguity_margin: float = 3.0
    max_suggestions: int = 3
    # Evidence beyond function words (shares 0-1 of the question's subject words that an
    # entry's questions use too; bot.core.search_index.ScoredEntry.evidence).
    answer_min_evidence: float = 0.1
    suggest_min_evidence: float = 0.35
    lone_word_min_specificity: float = 0.62


_EVIDENCE_KEYS = ("answer_min_evidence", "suggest_min_evidence", "lone_word_min_specificity")


@dataclass(frozen=True)
class DatedAnswerSettings:
    """When FAQ entries with reviewed:/expires: dates need staff; see config.yaml."""

    review_after_days: int = 365
    time_zone: str = "Europe/Tirane"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443


@dataclass(frozen=True)
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    admin_ids: frozenset[int] = frozenset()
    flood_limit_per_minute: int = 20
    # Updates waiting and none handled for this long: the bot is stuck (/healthz 503, the
    # systemd watchdog is no longer pinged).
    stalled_after_seconds: int = 120


@dataclass(frozen=True)
class QuestionLogSettings:
    retention_days: int = 180


@dataclass(frozen=True)
class LearningSettings:
    """Suggested question variants from users' choices (config.yaml `learning:`)."""

    min_users: int = 3  # distinct people who must tie a wording to an entry
    period_days: int = 90  # how far back the question log is read
    # An answer scoring below this that a user marks 👍 is a signal (above it, the
    # question already matches well and needs no new variant).
    confident_score: float = 60.0


@dataclass(frozen=True)
class HandoffSettings:
    """Handing questions to staff in a Telegram group (config.yaml `handoff:`)."""

    staff_chat_id: int | None = None  # None: hand-off is off
    forum_topics: bool = True
    idle_close_hours: int = 72
    max_open_per_user: int = 1
    max_per_day: int = 3
    retention_days: int = 30
    unanswered_close_days: int = 14  # staff never replied: closed, the user is told
    max_replies_per_hour: int = 20  # a user's messages in one ticket

    @property
    def enabled(self) -> bool:
        return self.staff_chat_id is not None


@dataclass(frozen=True)
class Topic:
    """Something users can follow with /subscribe (calls for proposals, news...)."""

    key: str
    names: Mapping[str, str]

    def name(self, lang: str) -> str:
        return _in_language(self.names, lang)


@dataclass(frozen=True)
class SubscriptionSettings:
    """Topics users can follow and how fast announcements go out (`subscriptions:`)."""

    topics: Mapping[str, Topic] = field(default_factory=dict)
    # Telegram allows a bot about 30 messages a second in all; the rest is kept for answers.
    messages_per_second: float = 25.0

    @property
    def enabled(self) -> bool:
        return bool(self.topics)


@dataclass(frozen=True)
class Settings:
    agency: AgencySettings
    links: Mapping[str, Link]
    languages: tuple[str, ...]
    faq_dir: Path
    question_log_path: Path
    matching: MatchingSettings
    telegram: TelegramSettings
    question_log: QuestionLogSettings
    source: Path | None = None
    dated_answers: DatedAnswerSettings = field(default_factory=DatedAnswerSettings)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def placeholders(self, lang: str) -> dict[str, str]:
        """Values that FAQ answers may name as {key}, in the answer's language."""
        agency = self.agency
        values = {
            "agency_name": _in_language(agency.names, lang),
            "address": _in_language(agency.addresses, lang),
            "phone": agency.phone,
            "phone_international": agency.phone_international,
            "email": agency.email,
        }
        values.update({key: link.url for key, link in self.links.items()})
        return values

    @property
    def pending_links(self) -> frozenset[str]:
        """Links whose real address staff have not set yet (url: null in config.yaml)."""
        return frozenset(key for key, link in self.links.items() if link.pending)

    @property
    def placeholder_names(self) -> frozenset[str]:
        return frozenset(self.placeholders(self.default_language))


def _in_language(values: Mapping[str, str], lang: str) -> str:
    return values.get(lang) or next(iter(values.values()))


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read config.yaml; relative paths in it are resolved against the file's folder."""
    environ = os.environ if environ is None else environ
    if path is not None:
        config_path = Path(path)
    elif environ.get(CONFIG_ENV, "").strip():
        config_path = Path(environ[CONFIG_ENV].strip())
    else:
        config_path = DEFAULT_CONFIG_PATH
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"{config_path}: cannot read the configuration: {error.strerror}"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{config_path}{where}: not valid YAML: {error}") from None
    return settings_from_mapping(
        raw, base_dir=config_path.parent, environ=environ, source=config_path
    )


def settings_from_mapping(
    raw: object,
    *,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Settings:
    environ = {} if environ is None else environ
    reader = _Reader(str(source) if source else "config")
    root = reader.mapping(
        raw,
        "",
        required={"agency", "links", "languages"},
        optional={
            "paths",
            "matching",
            "telegram",
            "question_log",
            "dated_answers",
            "handoff",
            "learning",
            "subscriptions",
        },
    )
    languages = tuple(reader.language_list(root["languages"], "languages"))
    agency = _read_agency(reader, root["agency"], languages)
    links = _read_links(reader, root["links"], languages)

    paths = reader.mapping(root.get("paths", {}), "paths", optional={"faq", "question_log"})
    faq_dir = base_dir / reader.string(paths.get("faq", "faq"), "paths.faq")
    log_path = base_dir / reader.string(
        paths.get("question_log", "data/questions.sqlite3"), "paths.question_log"
    )
    faq_dir, log_path = _paths_from_environment(faq_dir, log_path, environ)

    matching_raw = reader.mapping(
        root.get("matching", {}),
        "matching",
        optional={
            "answer_threshold",
            "suggest_threshold",
            "ambiguity_margin",
            "max_suggestions",
            *_EVIDENCE_KEYS,
        },
    )
    defaults = MatchingSettings()
    matching = MatchingSettings(
        answer_threshold=reader.number(
            matching_raw.get("answer_threshold", defaults.answer_threshold),
            "matching.answer_threshold",
            0,
            100,
        ),
        suggest_threshold=reader.number(
            matching_raw.get("suggest_threshold", defaults.suggest_threshold),
            "matching.suggest_threshold",
            0,
            100,
        ),
        ambiguity_margin=reader.number(
            matching_raw.get("ambiguity_margin", defaults.ambiguity_margin),
            "matching.ambiguity_margin",
            0,
            100,
        ),
        max_suggestions=reader.integer(
            matching_raw.get("max_suggestions", defaults.max_suggestions),
            "matching.max_suggestions",
            1,
            8,
        ),
        **{
            key: reader.number(
                matching_raw.get(key, getattr(defaults, key)), f"matching.{key}", 0, 1
            )
            for key in _EVIDENCE_KEYS
        },
    )
    if matching.suggest_threshold > matching.answer_threshold:
        raise ConfigError(
            f"{reader.source}: matching.suggest_threshold ({matching.suggest_threshold:g}) "
            f"must not be above matching.answer_threshold ({matching.answer_threshold:g})"
        )

    telegram = _read_telegram(reader, root.get("telegram", {}), environ)
    log_raw = reader.mapping(
        root.get("question_log", {}), "question_log", optional={"retention_days"}
    )
    question_log = QuestionLogSettings(
        retention_days=reader.integer(
            log_raw.get("retention_days", 180), "question_log.retention_days", 1, 3650
        )
    )
    dated_raw = reader.mapping(
        root.get("dated_answers", {}),
        "dated_answers",
        optional={"review_after_days", "time_zone"},
    )
    dated_answers = DatedAnswerSettings(
        review_after_days=reader.integer(
            dated_raw.get("review_after_days", 365), "dated_answers.review_after_days", 1, 3650
        ),
        time_zone=reader.string(
            dated_raw.get("time_zone", "Europe/Tirane"), "dated_answers.time_zone"
        ),
    )
    try:
        dated_answers.zone  # noqa: B018 - fail now, naming the key, not at the first question
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(
            "dated_answers.time_zone",
            f"{dated_answers.time_zone!r} is not a time zone (such as Europe/Tirane)",
        ) from None
    return Settings(
        agency=agency,
        links=links,
        languages=languages,
        faq_dir=faq_dir,
        question_log_path=log_path,
        matching=matching,
        telegram=telegram,
        question_log=question_log,
        source=source,
        dated_answers=dated_answers,
        handoff=_read_handoff(reader, root.get("handoff", {})),
        learning=_read_learning(reader, root.get("learning", {})),
        subscriptions=_read_subscriptions(reader, root.get("subscriptions", {}), languages),
    )


def _paths_from_environment(
    faq_dir: Path, log_path: Path, environ: Mapping[str, str]
) -> tuple[Path, Path]:
    """BOT_FAQ_DIR, BOT_STATE_DIR and BOT_QUESTION_LOG over config.yaml's paths (relative
    values are relative to the working directory, as in any command line)."""

    def given(name: str) -> Path | None:
        value = environ.get(name, "").strip()
        return Path(value).absolute() if value else None

    faq_dir = given(FAQ_DIR_ENV) or faq_dir
    state_dir = given(STATE_DIR_ENV)
    if state_dir is not None:
        log_path = state_dir / log_path.name
    return faq_dir, given(QUESTION_LOG_ENV) or log_path


def _read_learning(reader: _Reader, raw: object) -> LearningSettings:
    found = reader.mapping(
        raw, "learning", optional={"min_users", "period_days", "confident_score"}
    )
    defaults = LearningSettings()
    return LearningSettings(
        min_users=reader.integer(
            found.get("min_users", defaults.min_users), "learning.min_users", 1, 1000
        ),
        period_days=reader.integer(
            found.get("period_days", defaults.period_days), "learning.period_days", 1, 3650
        ),
        confident_score=reader.number(
            found.get("confident_score", defaults.confident_score),
            "learning.confident_score",
            0,
            100,
        ),
    )


def _read_agency(reader: _Reader, raw: object, languages: tuple[str, ...]) -> AgencySettings:
    agency = reader.mapping(
        raw,
        "agency",
        required={"name", "address", "phone", "email"},
        optional={"phone_international", "coordinates"},
    )
    coordinates = None
    if agency.get("coordinates") is not None:
        point = reader.mapping(
            agency["coordinates"], "agency.coordinates", required={"latitude", "longitude"}
        )
        coordinates = Coordinates(
            latitude=reader.number(point["latitude"], "agency.coordinates.latitude", -90, 90),
            longitude=reader.number(point["longitude"], "agency.coordinates.longitude", -180, 180),
        )
    email = reader.string(agency["email"], "agency.email")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ConfigError(f"{reader.source}: agency.email: {email!r} is not an e-mail address")
    phone = reader.string(agency["phone"], "agency.phone")
    return AgencySettings(
        names=reader.translations(agency["name"], "agency.name", languages),
        addresses=reader.translations(agency["address"], "agency.address", languages),
        phone=phone,
        phone_international=reader.string(
            agency.get("phone_international", phone), "agency.phone_international"
        ),
        email=email,
        coordinates=coordinates,
    )


def _read_links(reader: _Reader, raw: object, languages: tuple[str, ...]) -> dict[str, Link]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{reader.source}: links: expected a mapping of link names")
    links: dict[str, Link] = {}
    stand_ins: dict[str, str] = {}
    for key, value in raw.items():
        name = f"links.{key}"
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise ConfigError(f"{reader.source}: {name}: link names use a-z, 0-9 and _")
        if key in AGENCY_PLACEHOLDERS:
            raise ConfigError(
                f"{reader.source}: {name}: the name is taken by agency.{key}'s "
                "placeholder; choose another"
            )
        link = reader.mapping(value, name, required={"url", "label"}, optional={"until_set"})
        if link["url"] is None:
            # The address is not known yet: the button opens another link meanwhile.
            if "until_set" not in link:
                raise reader.fail(
                    f"{name}.url",
                    "is empty; give the address, or name in until_set the link the button "
                    "opens until the address is known (for example until_set: website)",
                )
            stand_ins[key] = reader.string(link["until_set"], f"{name}.until_set")
            links[key] = Link(
                key=key,
                url="",
                labels=reader.translations(link["label"], f"{name}.label", languages),
                pending=True,
            )
            continue
        url = reader.string(link["url"], f"{name}.url")
        # Telegram's URL buttons open only http(s) addresses; a mailto: or tel: button makes
        # the whole message fail (BUTTON_URL_INVALID). E-mail and phone go in the text.
        if not re.match(r"^https?://\S+$", url):
            raise ConfigError(
                f"{reader.source}: {name}.url: {url!r} is not an http(s) address "
                "(Telegram buttons open only those; e-mail and phone belong in agency:)"
            )
        links[key] = Link(
            key=key, url=url, labels=reader.translations(link["label"], f"{name}.label", languages)
        )
    for key, stand_in in stand_ins.items():
        other = links.get(stand_in)
        if other is None or other.pending:
            raise reader.fail(
                f"links.{key}.until_set",
                f"{stand_in!r} is not a link with an address "
                f"(links with one: {', '.join(k for k, v in links.items() if not v.pending)})",
            )
        links[key] = Link(key=key, url=other.url, labels=other.labels, pending=True)
    return links


def _read_telegram(reader: _Reader, raw: object, environ: Mapping[str, str]) -> TelegramSettings:
    telegram = reader.mapping(
        raw,
        "telegram",
        optional={
            "base_url",
            "mode",
            "webhook",
            "admin_ids",
            "flood_limit_per_minute",
            "stalled_after_seconds",
        },
    )
    defaults = TelegramSettings()
    mode = reader.string(telegram.get("mode", defaults.mode), "telegram.mode")
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"{reader.source}: telegram.mode: {mode!r} must be polling or webhook")
    webhook_raw = reader.mapping(
        telegram.get("webhook", {}), "telegram.webhook", optional={"url", "listen", "port"}
    )
    url = webhook_raw.get("url")
    if url is not None:
        url = reader.string(url, "telegram.webhook.url")
    if mode == "webhook" and not url:
        raise ConfigError(
            f"{reader.source}: telegram.webhook.url is required when telegram.mode is webhook"
        )
    if url is not None and not re.fullmatch(r"https://[^/\s:]+(:\d{1,5})?(/\S*)?", url):
        raise ConfigError(
            f"{reader.source}: telegram.webhook.url: {url!r} is not a public https:// address "
            "(Telegram sends updates only over HTTPS), e.g. https://bot.example.al/telegram"
        )
    webhook = WebhookSettings(
        url=url,
        listen=reader.string(webhook_raw.get("listen", "127.0.0.1"), "telegram.webhook.listen"),
        port=reader.integer(webhook_raw.get("port", 8443), "telegram.webhook.port", 1, 65535),
    )
    admin_ids = set()
    for index, value in enumerate(
        reader.sequence(telegram.get("admin_ids", []), "telegram.admin_ids")
    ):
        admin_ids.add(reader.integer(value, f"telegram.admin_ids[{index}]", 1, 2**63))
    for part in environ.get(ADMIN_IDS_ENV, "").replace(";", ",").split(","):
        part = part.strip()
        if part:
            # ASCII digits only: str.isdigit() and int() also take '١٢٣' or '²'.
            if not USER_ID.fullmatch(part):
                raise ConfigError(
                    f"{ADMIN_IDS_ENV}: {part!r} is not a Telegram user id (digits 0-9 only; "
                    "separate several ids with commas, e.g. BOT_ADMIN_IDS=12345,67890)"
                )
            admin_ids.add(int(part))
    return TelegramSettings(
        base_url=reader.string(telegram.get("base_url", defaults.base_url), "telegram.base_url"),
        mode=mode,
        webhook=webhook,
        admin_ids=frozenset(admin_ids),
        flood_limit_per_minute=reader.integer(
            telegram.get("flood_limit_per_minute", defaults.flood_limit_per_minute),
            "telegram.flood_limit_per_minute",
            1,
            10_000,
        ),
        stalled_after_seconds=reader.integer(
            telegram.get("stalled_after_seconds", defaults.stalled_after_seconds),
            "telegram.stalled_after_seconds",
            10,
            86_400,
        ),
    )


def _read_handoff(reader: _Reader, raw: object) -> HandoffSettings:
    handoff = reader.mapping(
        raw,
        "handoff",
        optional={
            "staff_chat_id",
            "forum_topics",
            "idle_close_hours",
            "unanswered_close_days",
            "max_open_per_user",
            "max_per_day",
            "max_replies_per_hour",
            "retention_days",
        },
    )
    defaults = HandoffSettings()
    chat_id = handoff.get("staff_chat_id")
    if chat_id is not None:
        chat_id = reader.integer(chat_id, "handoff.staff_chat_id", -(2**63), 2**63)
        if chat_id >= 0:
            raise reader.fail(
                "handoff.staff_chat_id",
                f"{chat_id} is not a group's id (a supergroup's id is negative and starts "
                "with -100; see README.md, 'Questions handed to staff')",
            )

    def whole(key: str, low: int, high: int) -> int:
        return reader.integer(handoff.get(key, getattr(defaults, key)), f"handoff.{key}", low, high)

    return HandoffSettings(
        staff_chat_id=chat_id,
        forum_topics=reader.boolean(
            handoff.get("forum_topics", defaults.forum_topics), "handoff.forum_topics"
        ),
        idle_close_hours=whole("idle_close_hours", 1, 24 * 365),
        unanswered_close_days=whole("unanswered_close_days", 1, 365),
        max_open_per_user=whole("max_open_per_user", 1, 20),
        max_per_day=whole("max_per_day", 1, 100),
        max_replies_per_hour=whole("max_replies_per_hour", 1, 1000),
        retention_days=whole("retention_days", 1, 3650),
    )


# A topic's key travels in button data and on the command line: short, plain characters.
TOPIC_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _read_subscriptions(
    reader: _Reader, raw: object, languages: tuple[str, ...]
) -> SubscriptionSettings:
    section = reader.mapping(
        raw if raw is not None else {},
        "subscriptions",
        optional={"topics", "messages_per_second"},
    )
    topics_raw = section.get("topics") or {}
    if not isinstance(topics_raw, dict):
        raise reader.fail(
            "subscriptions.topics", "expected a mapping of topic keys to names, e.g. calls: {...}"
        )
    topics = {}
    for key, names in topics_raw.items():
        name = f"subscriptions.topics.{key}"
        if not isinstance(key, str) or not TOPIC_KEY.match(key):
            raise ConfigError(
                f"{reader.source}: {name}: a topic key uses a-z, 0-9 and _ (at most 32 "
                "characters), starting with a letter"
            )
        table = reader.mapping(names, name, required=set(languages))
        topics[key] = Topic(
            key, {lang: reader.string(table[lang], f"{name}.{lang}") for lang in languages}
        )
    defaults = SubscriptionSettings()
    return SubscriptionSettings(
        topics=topics,
        messages_per_second=reader.number(
            section.get("messages_per_second", defaults.messages_per_second),
            "subscriptions.messages_per_second",
            1,
            1000,
        ),
    )


class _Reader:
    """Type checks that raise ConfigError naming the dotted key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key or 'top level'}: {message}")

    def mapping(
        self,
        value: object,
        key: str,
        *,
        required: set[str] | None = None,
        optional: set[str] | None = None,
    ) -> dict[str, Any]:
        required = required or set()
        allowed = required | (optional or set())
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping (key: value lines)")
        prefix = f"{key}." if key else ""
        for name in value:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError(f"{self.source}: {prefix}{name}: unknown key (known: {known})")
        for name in sorted(required - set(value)):
            raise ConfigError(f"{self.source}: {prefix}{name}: missing")
        return value

    def sequence(self, value: object, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, "expected a list")
        return value

    def string(self, value: object, key: str) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty text")
        return value.strip()

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def number(self, value: object, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number from {low:g} to {high:g}, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"{value!r} is outside {low:g}..{high:g}")
        return float(value)

    def integer(self, value: object, key: str, low: int, high: int) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            # staff_chat_id: "-100..." copied with its quotes is text to YAML, not a number.
            raise self.fail(
                key,
                f"expected a whole number, got the text {value!r}: remove the quotes "
                f"(write {key.rpartition('.')[2]}: {value.strip()})",
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"{value!r} is outside {low}..{high}")
        return value

    def language_list(self, value: object, key: str) -> list[str]:
        items = self.sequence(value, key)
        if not items:
            raise self.fail(key, "name at least one language")
        for item in items:
            if not isinstance(item, str) or not LANGUAGE_CODE.fullmatch(item):
                raise self.fail(key, f"{item!r} is not a two-letter language code (ISO 639-1)")
        return items

    def translations(self, value: object, key: str, languages: tuple[str, ...]) -> dict[str, str]:
        if isinstance(value, str):
            return dict.fromkeys(languages, value.strip())
        table = self.mapping(value, key, optional=set(languages))
        result = {lang: self.string(text, f"{key}.{lang}") for lang, text in table.items()}
        if not result:
            raise self.fail(key, "give the text in at least one language")
        return result


def bot_token(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    token = environ.get(TOKEN_ENV, "").strip()
    return token or None


# Telegram's tokens are the bot's numeric id, a colon and 35 letters, digits, '_' or '-'.
BOT_TOKEN_SHAPE = re.compile(r"[0-9]{5,15}:[A-Za-z0-9_-]{30,60}")
TEMP_DIR_ENVS = ("TMPDIR", "TEMP", "TMP")  # the order Python's tempfile reads them in


@dataclass(frozen=True)
class WrittenFolder:
    """A folder the running bot writes to, and how a deployer moves it."""

    name: str  # "state folder"
    holds: str  # what the bot writes there
    path: Path
    moved_by: str  # the environment variable that points it elsewhere


def folders_the_bot_writes(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[WrittenFolder, ...]:
    """The state folder (database, generated key, lock), the FAQ folder (learned variants are
    written into it) and the temporary folder (an edit is checked in a copy of faq/ there)."""
    environ = os.environ if environ is None else environ
    return (
        WrittenFolder("state folder", "database", settings.question_log_path.parent, STATE_DIR_ENV),
        WrittenFolder("FAQ folder", "learned variants", settings.faq_dir, FAQ_DIR_ENV),
        WrittenFolder(
            "temporary folder", "checks of FAQ edits", temporary_folder(environ), "TMPDIR"
        ),
    )


def temporary_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The folder Python's tempfile tries first: $TMPDIR (or $TEMP, $TMP), else /tmp."""
    environ = os.environ if environ is None else environ
    for name in TEMP_DIR_ENVS:
        if environ.get(name, "").strip():
            return Path(environ[name].strip())
    return Path("/tmp")  # what tempfile tries first on POSIX


def write_problem(folder: Path, *, create: bool = False) -> str | None:
    """Why nothing can be written in `folder` (None: a file was created and removed there).
    A real write, not a permission lookup: a read-only mount and root are then judged right."""
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = _probe_file(folder)
    except OSError as error:
        return error.strerror or str(error)
    os.close(descriptor)
    os.unlink(probe)
    return None


def _probe_file(folder: Path) -> tuple[int, str]:
    probe = str(folder / f".write-check-{os.getpid()}")
    return os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), probe


def unwritable_folder_line(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> str | None:
    """One line naming the first folder the bot must write but cannot (None: all can be).
    A missing FAQ folder is left to the knowledge base's loader, which says what to do."""
    for folder in folders_the_bot_writes(settings, environ):
        if folder.moved_by == FAQ_DIR_ENV and not folder.path.is_dir():
            continue
        problem = write_problem(folder.path, create=folder.moved_by == STATE_DIR_ENV)
        if problem is not None:
            return (
                f"Cannot start: the {folder.name} ({folder.holds}) {folder.path} is not "
                f"writable ({problem}); "
                f"make it writable for this user, or set {folder.moved_by} to a folder that is "
                "(python -m bot doctor checks every path)."
            )
    return None
