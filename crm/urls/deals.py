"""Deal pages: the list (`deals`, in the navbar), the board, the deal page and its actions."""

from django.urls import path

from crm.views import board, deals

urlpatterns = [
    path("deals/", deals.deal_list, name="deals"),
    path("deals/columns/", deals.deal_columns, name="deal-columns"),
    path("deals/bulk/", deals.deal_bulk, name="deal-bulk"),
    path("deals/board/", board.board, name="deal-board"),
    path("deals/board/stages/<int:stage_id>/cards/", board.board_cards, name="deal-board-cards"),
    path("deals/new/", deals.deal_create, name="deal-create"),
    path("deals/<int:pk>/", deals.deal_detail, name="deal-detail"),
    path("deals/<int:pk>/edit/", deals.deal_edit, name="deal-edit"),
    path("deals/<int:pk>/move/", board.deal_move, name="deal-move"),
]
