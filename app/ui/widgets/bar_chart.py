"""A small grouped bar chart drawn with QPainter: today's deliveries by channel and state."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui import theme

Series = dict[str, dict[str, int]]
"""`{group: {state: count}}`, e.g. `{"Email": {"sent": 12, "failed": 1}}`."""


class BarChart(QWidget):
    """One cluster of bars per group (channel), one bar per state, with counts and a legend."""

    def __init__(self, states: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._states = states
        self._data: Series = {}
        self.setAccessibleName("Today's deliveries by channel and state")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.fontMetrics().height() * 12)

    def sizeHint(self) -> QSize:
        line = self.fontMetrics().height()
        return QSize(line * 30, line * 14)

    @property
    def data(self) -> Series:
        """What the chart shows."""
        return self._data

    def set_data(self, data: Series) -> None:
        """Show `data` and describe it for screen readers."""
        self._data = {group: dict(counts) for group, counts in data.items()}
        words = "; ".join(
            f"{group}: " + (", ".join(f"{state} {n}" for state, n in counts.items() if n) or "none")
            for group, counts in self._data.items()
        )
        self.setAccessibleDescription(words or "No deliveries today.")
        self.setToolTip(words or "No deliveries today.")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), theme.CARD)
        metrics = self.fontMetrics()
        line = metrics.height()
        pad = line * 0.8
        legend_h = line * 1.6
        plot = QRectF(
            pad + line * 2, pad, self.width() - 2 * pad - line * 2, self.height() - 2 * pad - line * 1.4 - legend_h
        )
        if plot.width() <= 0 or plot.height() <= 0:
            return
        states = [s for s in self._states if any(c.get(s) for c in self._data.values())] or list(self._states[:3])
        highest = max([n for counts in self._data.values() for n in counts.values()] + [1])
        tick = max(1, math.ceil(highest / 4))
        peak = tick * 4  # four gridlines at whole, even steps
        painter.setPen(QPen(theme.state_colour("queued").lighter(160), 1))
        for step in range(5):
            y = plot.bottom() - plot.height() * step / 4
            painter.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
            painter.setPen(theme.MUTED)
            painter.drawText(
                QRectF(0, y - line / 2, plot.left() - 4, line),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                str(tick * step),
            )
            painter.setPen(QPen(theme.state_colour("queued").lighter(160), 1))
        groups = list(self._data) or ["Email", "Text"]
        slot = plot.width() / len(groups)
        bar = min(slot * 0.8 / max(len(states), 1), line * 2.5)
        for g, group in enumerate(groups):
            counts = self._data.get(group, {})
            start = plot.left() + g * slot + (slot - bar * len(states)) / 2
            for s, state in enumerate(states):
                n = counts.get(state, 0)
                height = plot.height() * n / peak
                rect = QRectF(start + s * bar + 2, plot.bottom() - height, bar - 4, height)
                painter.fillRect(rect, theme.state_colour(state))
                if n:
                    painter.setPen(theme.INK)
                    painter.drawText(
                        QRectF(rect.left() - 8, rect.top() - line, rect.width() + 16, line),
                        int(Qt.AlignmentFlag.AlignCenter),
                        str(n),
                    )
            painter.setPen(theme.INK)
            painter.drawText(
                QRectF(plot.left() + g * slot, plot.bottom() + 2, slot, line * 1.3),
                int(Qt.AlignmentFlag.AlignCenter),
                group,
            )
        x = plot.left()
        y = self.height() - pad - legend_h + line * 0.3
        for state in states:
            painter.fillRect(QRectF(x, y + line * 0.2, line * 0.8, line * 0.8), theme.state_colour(state))
            painter.setPen(theme.INK)
            label = state.capitalize()
            painter.drawText(
                QRectF(x + line, y, metrics.horizontalAdvance(label) + 4, line),
                int(Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            x += line * 1.6 + metrics.horizontalAdvance(label)
        painter.end()
