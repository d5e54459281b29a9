"""The club's knowledge: read and searched at the desk, written by managers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from callsop.desk import selectors, validation
from callsop.desk.models import KnowledgeItem, Staff
from callsop.desk.services.access import knowledge_for
from callsop.desk.services.errors import ActionError
from callsop.desk.services.inbox import knowledge_save
from callsop.desk.views.common import hx_redirect, staff_view


@staff_view
def knowledge(request: HttpRequest, staff: Staff) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in KnowledgeItem.Kind.values:
        kind = ""
    query = validation.clean_text(
        "搜尋", request.GET.get("q", ""), validation.SEARCH_MAX, field="q", multiline=False
    )
    items = selectors.knowledge_search(staff, query, kind=kind, limit=100)
    template = (
        "desk/_knowledge_results.html"
        if getattr(request, "htmx", False) and request.GET.get("partial")
        else "desk/knowledge.html"
    )
    return render(
        request,
        template,
        {"items": items, "q": query, "kind": kind, "kinds": KnowledgeItem.Kind.choices},
    )


@staff_view
def knowledge_edit(request: HttpRequest, staff: Staff, pk: int | None = None) -> HttpResponse:
    item = None
    if pk is not None:
        item = knowledge_for(staff, pk, write=True)
    error = None
    if request.method == "POST":
        try:
            text = validation.clean_model_text(KnowledgeItem, request.POST, ("title", "body"))
            knowledge_save(
                staff=staff,
                item=item,
                kind=request.POST.get("kind", ""),
                title=text.get("title", ""),
                body=text.get("body", ""),
            )
            return hx_redirect(request, reverse("knowledge"))
        except ActionError as exc:
            error = exc
    return render(
        request,
        "desk/knowledge_edit.html",
        {"item": item, "error": error, "posted": request.POST, "kinds": KnowledgeItem.Kind.choices},
        status=400 if error else 200,
    )
