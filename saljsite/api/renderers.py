"""Renderers that name the download formats of list endpoints (`?format=csv`, `?format=xlsx`).

DRF picks a renderer per request (`?format=` or the Accept header); a view that offers these
formats builds the download itself with `saljsite.tabular.tabular_response` (every matching row,
not a page), so these renderers only take part in content negotiation and the schema. Anything
else a view answers in such a request — an error (400, 401, 403) — goes out as JSON
(`TabularFormatsMixin`).
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer

from saljsite.tabular import XLSX_TYPE


class _TabularRenderer(BaseRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        # Reached only for something other than the view's own download: answer it as JSON.
        return JSONRenderer().render(data, JSONRenderer.media_type, renderer_context)


class CSVRenderer(_TabularRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"


class XLSXRenderer(_TabularRenderer):
    media_type = XLSX_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"


TABULAR_FORMATS = (CSVRenderer.format, XLSXRenderer.format)


class TabularFormatsMixin:
    """JSON, CSV and XLSX for a view; errors stay JSON whatever format was asked for."""

    renderer_classes = (JSONRenderer, CSVRenderer, XLSXRenderer)

    def tabular_format(self) -> str | None:
        """The asked download format (`csv` or `xlsx`), or None for JSON."""
        renderer = getattr(self.request, "accepted_renderer", None)
        return renderer.format if isinstance(renderer, _TabularRenderer) else None

    def handle_exception(self, exc: Exception):
        response = super().handle_exception(exc)
        if self.tabular_format() is not None:
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response
