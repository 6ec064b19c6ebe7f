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
from .model import ObligationBase
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
        self._subsets: dict[tuple[str, str], Callable[..., Any]] = {}
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
        self._subsets.clear()  # a caller of one plugin alone leaves out the plugins known when it was made
        try:
            self._manager.register(plugin, name=name)
        except Exception as exc:  # pluggy rejects unknown hooks and wrong signatures
            raise PluginError(name, "registration", str(exc)) from exc
        try:
            self._manager.check_pending()  # an implementation of a hook we do not declare
        except pluggy.PluginValidationError as exc:
            self._manager.unregister(plugin)
            raise PluginError(name, "registration", f"{exc}; see complianceengine.hookspecs for the hooks") from exc

    # Every call goes through pluggy's own hook callers: ``pm.hook.<name>`` when the result needs
    # no plugin's name (firstresult honoured, hook wrappers run), or a caller of one plugin alone
    # (``pm.subset_hook_caller``) where each plugin's answer must be told apart: to say whose
    # result is wrong, to call every notifier even when one fails, to pass findings from one
    # post-processor to the next. A plugin that raises is named in a PluginError either way.

    def has(self, hook: str) -> bool:
        """Does any registered plugin implement ``hook``?"""
        return bool(self._names(hook))

    def _names(self, hook: str) -> list[str]:
        """The plugins implementing ``hook``, in the order pluggy calls them (last registered
        first; tryfirst and trylast respected), wrappers left out."""
        caller: pluggy.HookCaller = getattr(self._manager.hook, hook)
        return [impl.plugin_name for impl in reversed(caller.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)]

    def _alone(self, hook: str, name: str) -> Callable[..., Any]:
        """The hook caller of plugin ``name`` alone (made once per hook and plugin)."""
        found = self._subsets.get((hook, name))
        if found is None:
            others = [plugin for other, plugin in self._manager.list_name_plugin() if other != name]
            found = self._subsets[(hook, name)] = self._manager.subset_hook_caller(hook, remove_plugins=others)
        return found

    def _ask(self, hook: str, name: str, kwargs: dict[str, Any]) -> Any:
        """Plugin ``name``'s answer to ``hook`` (``None`` for none); what it raises as a
        PluginError naming it."""
        try:
            answer = self._alone(hook, name)(**kwargs)
            if self._firstresult(hook):
                return answer
            return answer[0] if answer else None  # pluggy collects the answers that are not None
        except PluginError:
            raise
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end the run without its report
            raise PluginError(name, hook, f"{type(exc).__name__}: {exc}") from exc

    def _firstresult(self, hook: str) -> bool:
        caller: pluggy.HookCaller = getattr(self._manager.hook, hook)
        return bool(caller.spec is not None and caller.spec.opts.get("firstresult"))

    def _culprit(self, hook: str, exc: BaseException) -> str:
        """The plugin whose implementation of ``hook`` raised ``exc`` (from its traceback)."""
        caller: pluggy.HookCaller = getattr(self._manager.hook, hook)
        codes = {getattr(impl.function, "__code__", None): impl.plugin_name for impl in caller.get_hookimpls()}
        trace = exc.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code in codes:
                return codes[trace.tb_frame.f_code]
            trace = trace.tb_next
        return "unknown"

    def first(self, hook: str, **kwargs: Any) -> Any:
        """The result of a firstresult hook (``pm.hook``): the first non-``None`` answer, or ``None``."""
        try:
            return getattr(self._manager.hook, hook)(**kwargs)
        except PluginError:
            raise
        except (Exception, SystemExit) as exc:
            raise PluginError(self._culprit(hook, exc), hook, f"{type(exc).__name__}: {exc}") from exc

    def answering(self, hook: str, **kwargs: Any) -> str:
        """Which plugin answers a firstresult hook asked with ``kwargs`` (asked again, one plugin
        at a time): to name the plugin whose answer :meth:`first` gave is wrong."""
        for name in self._names(hook):
            if self._ask(hook, name, kwargs) is not None:
                return name
        return "unknown"

    def first_named(self, hook: str, **kwargs: Any) -> tuple[str | None, Any]:
        """``(plugin name, result)`` of the first plugin answering a firstresult hook."""
        for name in self._names(hook):
            result = self._ask(hook, name, kwargs)
            if result is not None:
                return name, result
        return None, None

    def each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``(plugin name, result)`` of every implementation, in call order."""
        return [(name, self._ask(hook, name, kwargs)) for name in self._names(hook)]

    def each_isolated(self, hook: str, **kwargs: Any) -> list[PluginError]:
        """Call every implementation even when some fail; return the failures."""
        failures = []
        for name in self._names(hook):
            try:
                self._ask(hook, name, kwargs)
            except PluginError as exc:
                failures.append(exc)
        return failures

    def chain(self, hook: str, value: str, *, valid: Any = None, expected: str = "", **kwargs: Any) -> Any:
        """Pass ``kwargs[value]`` through every implementation in turn; ``None`` keeps it. A
        result that fails ``valid`` is a :class:`PluginError` naming the plugin."""
        current = kwargs[value]
        for name in self._names(hook):
            # each plugin gets its own copy: changing it in place instead of returning a list
            # changes nothing (the hook says: return a replacement, or None)
            result = self._ask(hook, name, {**kwargs, value: copy.copy(current)})
            if result is not None:
                if valid is not None and not valid(result):
                    raise PluginError(name, hook, f"returned {type(result).__name__}, expected {expected or 'something else'}")
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
                if name in BUILTIN and plugin != BUILTIN_PLUGIN:
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
