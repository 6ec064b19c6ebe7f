"""The plugin manager: one pluggy manager per :class:`Plugins` object, never a global one.

Create one, hand it to :func:`~complianceengine.audit`, :func:`~complianceengine.read_events`,
:func:`~complianceengine.load_ruleset` and :func:`~complianceengine.render`. Two ``Plugins``
objects in one process do not see each other's plugins.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .hookspecs import PROJECT, hookimpl
from .formats import ReportFormat
from .kinds import BUILTIN, ObligationKind
from .model import BUILTIN_KINDS, ObligationBase
from .renderers import BUILTIN_FORMATS

if TYPE_CHECKING:  # for annotations only
    from .findings import Report


#: the name complianceengine's own behaviour is registered under
BUILTIN_PLUGIN = "complianceengine.builtin"


class _Builtin:
    """complianceengine's own behaviour, registered as an internal plugin: the built-in report
    formats and obligation kinds."""

    @hookimpl(trylast=True)
    def complianceengine_obligation_kinds(self) -> dict[str, ObligationKind]:
        return dict(BUILTIN)

    @hookimpl(trylast=True)
    def complianceengine_reporters(self) -> dict[str, Callable[[Report], str] | ReportFormat]:
        return dict(BUILTIN_FORMATS)


class Plugins:
    """The plugins of one embedding system or one command-line run.

    ``plugins`` are registered explicitly (objects or modules with hook implementations). Every
    installed package's ``complianceengine`` entry point is loaded too, as the command line does
    (so ``Plugins()`` and ``complianceengine audit`` judge alike); ``entry_points=False`` leaves
    them out (the command line's ``--no-entry-points``), for a host or a test that wants exactly
    the plugins it names. Functions that take ``plugins=None`` use ``Plugins()``.
    """

    def __init__(self, plugins: Iterable[Any] = (), *, entry_points: bool = True):
        self._manager = pluggy.PluginManager(PROJECT)
        self._manager.add_hookspecs(hookspecs)
        self._manager.register(_Builtin(), name=BUILTIN_PLUGIN)
        if entry_points:
            for entry in importlib.metadata.entry_points(group=PROJECT):
                try:
                    plugin = entry.load()
                except Exception as exc:  # a broken third-party package must be named, not crash us
                    raise PluginError(entry.name, "loading", f"{type(exc).__name__}: {exc}") from exc
                self.register(plugin, entry.name)
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Register ``plugin`` under ``name`` (default: its ``__name__`` or class name). A plugin
        already registered (e.g. installed and also passed with ``--plugin``) is left as it is."""
        if self._manager.is_registered(plugin):
            return
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if self._manager.get_plugin(name) is not None:
            raise PluginError(name, "registration", "another plugin is registered under this name; pass a name to register()")
        try:
            self._manager.register(plugin, name=name)
        except Exception as exc:  # pluggy rejects unknown hooks and wrong signatures
            raise PluginError(name, "registration", str(exc)) from exc
        try:
            self._manager.check_pending()  # an implementation of a hook we do not declare
        except pluggy.PluginValidationError as exc:
            self._manager.unregister(plugin)
            raise PluginError(name, "registration", f"{exc}; see complianceengine.hookspecs for the hooks") from exc

    def _implementations(self, hook: str) -> list[pluggy.HookImpl]:
        # pluggy calls implementations last-registered first (tryfirst/trylast respected)
        caller: pluggy.HookCaller = getattr(self._manager.hook, hook)
        return list(reversed(caller.get_hookimpls()))

    def _call(self, impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any]) -> Any:
        try:
            return impl.function(*[kwargs[name] for name in impl.argnames])
        except PluginError:
            raise
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end the run without its report
            raise PluginError(impl.plugin_name, hook, f"{type(exc).__name__}: {exc}") from exc

    def first(self, hook: str, **kwargs: Any) -> Any:
        """The first non-``None`` result of a firstresult hook, or ``None``."""
        return self.first_named(hook, **kwargs)[1]

    def first_named(self, hook: str, **kwargs: Any) -> tuple[str | None, Any]:
        """``(plugin name, result)`` of the first plugin answering a firstresult hook."""
        for impl in self._implementations(hook):
            result = self._call(impl, hook, kwargs)
            if result is not None:
                return impl.plugin_name, result
        return None, None

    def each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``(plugin name, result)`` of every implementation, in call order."""
        return [(impl.plugin_name, self._call(impl, hook, kwargs)) for impl in self._implementations(hook)]

    def each_isolated(self, hook: str, **kwargs: Any) -> list[PluginError]:
        """Call every implementation even when some fail; return the failures."""
        failures = []
        for impl in self._implementations(hook):
            try:
                self._call(impl, hook, kwargs)
            except PluginError as exc:
                failures.append(exc)
        return failures

    def chain(self, hook: str, value: str, *, valid: Any = None, expected: str = "", **kwargs: Any) -> Any:
        """Pass ``kwargs[value]`` through every implementation in turn; ``None`` keeps it. A
        result that fails ``valid`` is a :class:`PluginError` naming the plugin."""
        current = kwargs[value]
        for impl in self._implementations(hook):
            # each plugin gets its own copy: changing it in place instead of returning a list
            # changes nothing (the hook says: return a replacement, or None)
            result = self._call(impl, hook, {**kwargs, value: copy.copy(current)})
            if result is not None:
                if valid is not None and not valid(result):
                    raise PluginError(impl.plugin_name, hook, f"returned {type(result).__name__}, expected {expected or 'something else'}")
                current = result
        return current

    def reporters(self) -> dict[str, tuple[str, Callable[[Report], str] | ReportFormat]]:
        """Report format -> (the plugin providing it, a function ``report -> str`` or a
        :class:`~complianceengine.report.ReportFormat`)."""
        hook = "complianceengine_reporters"
        formats: dict[str, tuple[str, Callable[[Report], str] | ReportFormat]] = {}
        for plugin, provided in reversed(self.each(hook)):
            if not isinstance(provided, dict):
                raise PluginError(plugin, hook, "must return a dict of format name -> function or ReportFormat")
            for name, renderer in provided.items():
                if not (isinstance(renderer, ReportFormat) or callable(renderer)):
                    raise PluginError(plugin, hook, f"format {name!r}: expected a function report -> str or a ReportFormat, "
                                                    f"got {type(renderer).__name__}")
                if name in formats:
                    raise PluginError(plugin, hook, f"format {name!r} is already provided by {formats[name][0]!r}")
                formats[name] = plugin, renderer
        return formats

    def calendar_providers(self) -> dict[str, str]:
        """Provider name -> the plugin that provides it (the one asked first wins)."""
        out: dict[str, str] = {}
        for plugin, names in self.each("complianceengine_calendar_providers"):
            if not isinstance(names, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in names):
                raise PluginError(plugin, "complianceengine_calendar_providers", "must return a list of provider names")
            for name in names:
                out.setdefault(name, plugin)
        return out

    def obligation_kinds(self) -> dict[str, tuple[str, ObligationKind]]:
        """Kind name -> (plugin name, :class:`ObligationKind`), the built-in kinds included
        (under :data:`BUILTIN_PLUGIN`)."""
        out: dict[str, tuple[str, ObligationKind]] = {}
        hook = "complianceengine_obligation_kinds"
        for plugin, provided in self.each(hook):
            if not isinstance(provided, dict):
                raise PluginError(plugin, hook, "must return a dict of kind name -> ObligationKind")
            for name, kind in provided.items():
                if not isinstance(kind, ObligationKind) or not (isinstance(kind.model, type) and issubclass(kind.model, ObligationBase)):
                    raise PluginError(plugin, hook, f"kind {name!r}: expected ObligationKind(model=<ObligationBase subclass>, judge=...)")
                if name in BUILTIN_KINDS and plugin != BUILTIN_PLUGIN:
                    raise PluginError(plugin, hook, f"kind {name!r} is built in and cannot be replaced")
                if name in out:
                    raise PluginError(plugin, hook, f"kind {name!r} is already provided by {out[name][0]!r}")
                out[name] = (plugin, kind)
        return out

    def describe(self) -> list[tuple[str, list[str]]]:
        """Every registered plugin with the hooks it implements (for ``complianceengine plugins``)."""
        out = []
        for name, plugin in self._manager.list_name_plugin():
            hooks = sorted(caller.name for caller in self._manager.get_hookcallers(plugin) or [])
            out.append((name, hooks))
        return out
