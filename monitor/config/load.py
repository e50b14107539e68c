"""Reading the configuration file (and the feeds file): every mistake a ``ConfigError``
naming ``file:line:col``, the key and a fix."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

from ..errors import ConfigError
from ..yamlfile import YamlDoc, YamlSyntaxError, load_yaml_file
from .sections import DEFAULT_CONFIG, FeedConfig, _Strict
from .settings import Settings


def config_path(explicit: str | Path | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate; any problem becomes a ConfigError naming file and key."""
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(
            "configuration file not found",
            file=str(file),
            hint="pass --config FILE, set MONITOR_CONFIG, or copy config/monitor.yaml",
        )
    doc, data = _read_mapping(file, "of settings")
    _unique_names([(doc, file)])
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise _config_error(exc, doc, file) from exc
    feeds_file = settings.feeds_file or file.parent / "feeds.yaml"
    settings = settings.model_copy(update={"feeds_file": feeds_file})
    return settings.with_managed(load_feeds_file(feeds_file, settings, (doc, file)))


def _read_mapping(file: Path, what: str) -> tuple[YamlDoc, dict[str, Any]]:
    """A YAML file whose top level is a mapping (empty: {}), with no key twice; any
    problem is a ConfigError at its file, line and column."""
    try:
        doc = load_yaml_file(file)
    except YamlSyntaxError as exc:
        raise ConfigError(exc.message, file=f"{exc.file}:{exc.line}:{exc.col}") from exc
    data: Any = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping {what}", file=str(file))
    _no_duplicate_keys(doc, file)
    return doc, data


class FeedsFile(_Strict):
    """The feeds file: feeds added by `monitor feeds add` or `import`, never by hand
    in config/monitor.yaml, so that file and its comments are never rewritten."""

    feeds: list[FeedConfig] = Field(default_factory=list)


def load_feeds_file(
    path: Path, settings: Settings, config: tuple[YamlDoc, Path] | None = None
) -> list[FeedConfig]:
    """The feeds file's feeds, validated like the config's: every problem names the
    file and line. A name the config already uses is an error at the file's line."""
    if not path.is_file():
        return []
    doc, data = _read_mapping(path, "with `feeds:`")
    if config is not None:  # at load: the config's own feeds, with their lines
        _unique_names([config, (doc, path)])
    else:  # a live reload: the config's feeds as loaded
        _unique_names(
            [(doc, path)], [f.name for f in settings.feeds if f.name not in settings.managed]
        )
    try:
        return FeedsFile(**data).feeds
    except ValidationError as exc:
        raise _config_error(exc, doc, path) from exc


def _no_duplicate_keys(doc: YamlDoc, file: Path) -> None:
    if doc.duplicate_keys:
        sub, line, col = doc.duplicate_keys[0]
        raise ConfigError(
            "key given twice",
            file=f"{file}:{line}:{col}",
            key=_dotted(sub),
            hint="remove one of the two",
        )


def _unique_names(
    docs: list[tuple[YamlDoc, Path] | None], taken: list[str] | tuple[str, ...] = ()
) -> None:
    """Two feeds with one name: the error points at the second one's line."""
    seen = {name: "the configuration" for name in taken}
    for pair in docs:
        if pair is None:
            continue
        doc, file = pair
        feeds = doc.data.get("feeds") if isinstance(doc.data, dict) else None
        for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
            name = feed.get("name") if isinstance(feed, dict) else None
            if not isinstance(name, str):
                continue
            if name in seen:
                line, col = doc.locate(("feeds", i, "name"))
                raise ConfigError(
                    f"a second feed named {name!r} (the first is in {seen[name]})",
                    file=f"{file}:{line}:{col}",
                    key=f"feeds[{i}].name",
                    hint="feed names must be unique; rename one",
                )
            line, _ = doc.locate(("feeds", i, "name"))
            seen[name] = f"{file}:{line}"


def _config_error(exc: ValidationError, doc: YamlDoc, file: Path) -> ConfigError:
    """Every problem on its own line as ``file:line:col: key: message (hint)``;
    unknown keys first, since a misspelt key also makes a required one missing."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    lines = []
    for err in errors:
        loc = tuple(err["loc"])
        env_name = _env_name(loc)
        if env_name in os.environ:
            where = f"environment variable {env_name}"
        else:
            line, col = doc.locate(loc)
            where = f"{file}:{line}:{col}"
        hint = _hint(err, loc)
        msg = (
            "unknown key"
            if err["type"] == "extra_forbidden"
            else str(err["msg"]).removeprefix("Value error, ")
        )
        lines.append(f"{where}: {_dotted(loc)}: {msg}" + (f" (hint: {hint})" if hint else ""))
    error = ConfigError("\n".join(lines), hint="README lists every setting")
    error.file, error.key = str(file), _dotted(tuple(errors[0]["loc"]))
    return error


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _env_name(loc: tuple[Any, ...]) -> str:
    return "MONITOR_" + "__".join(str(p).upper() for p in loc if not isinstance(p, int))


def _hint(err: Any, loc: tuple[Any, ...]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1)
        return f"did you mean {close[0]!r}?" if close else "unknown key; see README's settings"
    if kind == "missing":
        return f"add `{loc[-1]}:` here"
    return ""


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    model: Any = Settings
    for part in parent:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        model = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if model is None:
            return []
    return list(model.model_fields)
