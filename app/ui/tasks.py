"""How the UI starts work: every coroutine runs as a named task that a window owns.

`TaskOwner` keeps its tasks referenced, names them, sends their failures to `show_error`, and
cancels them when its window closes. `action` makes an async method a Qt slot; `busy` disables
controls for the duration of an await. Widget code never calls `asyncio.create_task` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

import shiboken6
from PySide6.QtWidgets import QWidget

from app.ui.errors import show_error

log = logging.getLogger(__name__)


class TaskOwner:
    """The background tasks of one window (or one long-lived object)."""

    def __init__(self, widget: QWidget | None, name: str) -> None:
        self._widget = widget
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Run `coro` as a task named `<owner>.<name>`; None (and the coroutine closed) once closed."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}.{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        widget = self._widget if self._widget is not None and shiboken6.isValid(self._widget) else None
        if self._closed:
            log.warning("task %s failed after its window closed", task.get_name(), exc_info=error)
            return
        show_error(error, widget)

    async def close(self) -> None:
        """Cancel every task and wait for them to finish."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class HasTasks(Protocol):
    """Anything with a `tasks` owner (the windows and pages)."""

    @property
    def tasks(self) -> TaskOwner: ...


W = TypeVar("W", bound=HasTasks)


def action(method: Callable[[W], Coroutine[Any, Any, None]]) -> Callable[[W], None]:
    """Make `async def method(self)` a plain slot that starts it as a task owned by `self.tasks`."""

    @functools.wraps(method)
    def slot(self: W) -> None:
        self.tasks.start(method(self), method.__name__)

    return slot


@contextlib.contextmanager
def busy(*widgets: QWidget) -> Iterator[None]:
    """Disable `widgets` while the block runs (an await, typically), then enable them again."""
    for widget in widgets:
        widget.setEnabled(False)
    try:
        yield
    finally:
        for widget in widgets:
            if shiboken6.isValid(widget):
                widget.setEnabled(True)
