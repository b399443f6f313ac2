"""Finding the plug-ins of a package: every module in it is imported, every concrete subclass kept.

A provider, a status callback or a platform is added by adding its module; nothing else lists it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


def discover(package: ModuleType, kind: type[T], *, key: str) -> dict[str, type[T]]:
    """The concrete subclasses of `kind` defined in `package`'s modules, by their class attribute `key`.

    Modules are visited in name order and their classes in definition order, so the result is
    stable. Two plug-ins with the same key are a programming error and fail loudly.
    """
    found: dict[str, type[T]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        # A module's namespace keeps definition order; imported classes belong to other modules.
        members = [m for m in vars(module).values() if inspect.isclass(m) and m.__module__ == module.__name__]
        for member in members:
            if not issubclass(member, kind) or member is kind or inspect.isabstract(member):
                continue
            name = vars(member).get(key)  # declared by the class itself, not inherited from a base
            if not isinstance(name, str) or not name:
                continue  # a shared base inside the package, not a plug-in
            if name in found and found[name] is not member:
                claimed = f"{found[name].__qualname__} and {member.__qualname__}"
                raise RuntimeError(f"two plug-ins claim {key} {name!r}: {claimed}")
            found[name] = member
    return found
