"""Cursor pagination for every list (settings' DEFAULT_PAGINATION_CLASS). Its own module: DRF's
generic views read that setting while they load, so it must not import them."""

from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 200


class ApiCursorPagination(CursorPagination):
    """Stable cursors on the id (or the view's ordering); `?page_size=` up to 200."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
