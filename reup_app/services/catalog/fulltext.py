"""MySQL full-text search support: the server's FULLTEXT settings (cached per engine) and search terms."""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["search_terms"]


_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class _FulltextConfig:
    min_token: int
    max_token: int
    stopwords: frozenset[str]


_FT_CACHE: weakref.WeakKeyDictionary[Engine, _FulltextConfig] = weakref.WeakKeyDictionary()


_FT_LOCK = threading.Lock()


# InnoDB's built-in list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD), used if it can't be read.
_DEFAULT_STOPWORDS = frozenset(
    {
        "a",
        "about",
        "an",
        "are",
        "as",
        "at",
        "be",
        "by",
        "com",
        "de",
        "en",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "la",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "who",
        "will",
        "with",
        "und",
        "www",
    }
)


def _fulltext_config(conn: Connection) -> _FulltextConfig:
    engine = conn.engine
    cfg = _FT_CACHE.get(engine)
    if cfg is not None:
        return cfg
    with _FT_LOCK:
        cfg = _FT_CACHE.get(engine)
        if cfg is None:
            cfg = _read_fulltext_config(conn)
            _FT_CACHE[engine] = cfg
    return cfg


def _read_fulltext_config(conn: Connection) -> _FulltextConfig:
    row = conn.execute(
        sql(
            "SELECT @@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@innodb_ft_enable_stopword, "
            "@@innodb_ft_server_stopword_table"
        )
    ).one()
    min_token, max_token, enabled, server_table = int(row[0]), int(row[1]), bool(int(row[2])), row[3]
    stopwords: frozenset[str] = frozenset()
    if enabled:
        try:
            if server_table:
                db_name, _, table = str(server_table).partition("/")
                if not (re.fullmatch(r"\w+", db_name) and re.fullmatch(r"\w+", table)):
                    raise ValueError(server_table)
                rows = conn.execute(sql(f"SELECT value FROM `{db_name}`.`{table}`")).all()
            else:
                rows = conn.execute(sql("SELECT value FROM information_schema.INNODB_FT_DEFAULT_STOPWORD")).all()
            stopwords = frozenset(str(r[0]).lower() for r in rows)
        except (SQLAlchemyError, ValueError):  # unreadable: assume the built-in list (costs a LIKE per word)
            stopwords = _DEFAULT_STOPWORDS
    return _FulltextConfig(min_token=min_token, max_token=max_token, stopwords=stopwords)


def search_terms(text: str) -> list[str]:
    """The distinct lower-cased words of `text`, in order; every non-word character separates words.

    This is all of the user's text that ever reaches SQL, so MATCH operators cannot be injected.
    """
    seen: dict[str, None] = {}
    for word in _WORD_RE.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
