"""The conventions every resource follows (issue 12).

- Reads: `crm.access.visible(...)` is the queryset, so a record the user may not see is a 404
  on every route, actions included; the role needs the model's `view` permission.
- Writes: the model's `add`/`change`/`delete` permission and `crm.access.can_change`, else 403;
  creates and updates call a service (`create_record` / `update_record`), never
  `serializer.save()`, so the services' validation and events apply.
- `?fields=a,b` narrows the fields of a response (FieldsMixin on the serializer).
- Ordering: DRF's OrderingFilter with each viewset's explicit `ordering_fields`.
- Lists: cursor pagination (`?page_size=`, at most 200).
- GET detail sends an ETag; PATCH/PUT with a stale `If-Match` is refused with 412.
- POST with `Idempotency-Key`: the first answer is stored in the write's transaction and
  replayed for the same key and body; the same key with another body is refused with 422.
Errors answer in one shape (api/errors.py).
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, filters, permissions, status, viewsets
from rest_framework.response import Response

from crm import access
from crm.services import record_delete

from .models import IdempotencyKey
from .pagination import MAX_PAGE_SIZE, ApiCursorPagination

__all__ = ["MAX_PAGE_SIZE", "ApiCursorPagination", "FieldsMixin", "RecordViewSet"]

IDEMPOTENCY_HEADER = "Idempotency-Key"


class FieldsMixin:
    """`?fields=id,name`: only those fields (unknown names are ignored); the id always stays."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None or self.context.get("all_fields"):
            return
        wanted = request.query_params.get("fields", "")
        names = {name.strip() for name in wanted.split(",") if name.strip()}
        if names:
            for name in set(self.fields) - names - {"id"}:
                self.fields.pop(name)


class RecordPermission(permissions.BasePermission):
    """The role's model permission for the method (or the action's `permission_action`), and
    `can_change` on the record for writes. On a record's routes both are checked once the
    record is found, so a record the user may not see answers 404 before any 403."""

    actions = {
        "GET": "view",
        "HEAD": "view",
        "OPTIONS": "view",
        "POST": "add",
        "PUT": "change",
        "PATCH": "change",
        "DELETE": "delete",
    }

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # no handler: the view answers 405
        if getattr(view, "detail", False):
            return True  # decided in has_object_permission, after the 404
        return self.has_model_permission(request, view)

    def has_model_permission(self, request, view) -> bool:
        action = getattr(view, "permission_action", None) or self.actions.get(request.method)
        if action is None:
            return False
        meta = view.model._meta
        return request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")

    def has_object_permission(self, request, view, obj):
        if not self.has_model_permission(request, view):
            return False
        if request.method in permissions.SAFE_METHODS or request.method == "DELETE":
            return True
        return access.can_change(request.user, obj)


def body_hash(data) -> str:
    if hasattr(data, "lists"):  # a QueryDict (form posts): every value of every key
        data = {key: values for key, values in data.lists()}
    text = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def etag_for(obj) -> str:
    version = getattr(obj, "version", None) or getattr(obj, "updated_at", None)
    raw = f"{obj._meta.label}:{obj.pk}:{version}"
    return f'"{hashlib.sha256(raw.encode()).hexdigest()[:32]}"'


class ConditionalMixin:
    """ETag on GET detail; `If-Match` on PUT/PATCH must name the current version (412)."""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        etag = etag_for(instance)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        data = self.get_serializer(instance).data
        return Response(data, headers={"ETag": etag})

    def check_if_match(self, request, instance) -> None:
        wanted = request.headers.get("If-Match")
        if not wanted:
            return
        tags = {tag.strip() for tag in wanted.split(",")}
        if "*" not in tags and etag_for(instance) not in tags:
            raise PreconditionFailed


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it: read it again, then send your change."
    default_code = "precondition_failed"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with another request."
    default_code = "idempotency_conflict"


class IdempotencyMixin:
    """POSTs sent with an `Idempotency-Key` run once (see the module's docstring)."""

    def idempotent(self, request, run):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return run()
        key = key.strip()
        if not key or len(key) > 255:
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: [_("Send a key of 1 to 255 characters.")]}
            )
        digest = body_hash(request.data)
        path = request.path[:500]
        stored = self._stored(request.user, key)
        if stored is not None:
            return self._replay(stored, request.method, path, digest)
        try:
            with transaction.atomic():
                response = run()
                if response.status_code >= 300:
                    return response
                IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=path,
                    body_hash=digest,
                    status=response.status_code,
                    response_json=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                )
        except IntegrityError:
            # Another request with this key committed first: its write stands, ours rolled back.
            stored = self._stored(request.user, key)
            if stored is None:
                raise
            return self._replay(stored, request.method, path, digest)
        return response

    @staticmethod
    def _stored(user, key):
        return IdempotencyKey.objects.filter(user=user, key=key).first()

    @staticmethod
    def _replay(stored, method, path, digest):
        if (stored.method, stored.path, stored.body_hash) != (method, path, digest):
            raise IdempotencyConflict(_(IdempotencyConflict.default_detail))
        return Response(
            stored.response_json, status=stored.status, headers={"Idempotent-Replay": "true"}
        )


class RecordViewSet(ConditionalMixin, IdempotencyMixin, viewsets.ModelViewSet):
    """A resource over one crm model. Subclasses set `model`, `serializer_class`,
    `ordering_fields`, `filterset_class`, and implement `create_record` / `update_record`
    with the service that writes the record."""

    model = None
    # An action names the permission it needs ("change" for a transition); else the method's.
    permission_action: str | None = None
    permission_classes = [RecordPermission]
    pagination_class = ApiCursorPagination
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields: list[str] = ["id"]
    ordering = ["-id"]
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple = ()
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def base_queryset(self):
        return (
            self.model._default_manager.select_related(*self.select_related)
            .prefetch_related(*self.prefetch_related)
            .all()
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the schema
            return self.model._default_manager.none()
        return access.visible(self.base_queryset(), self.request.user)

    # --- writes through services ----------------------------------------------------------

    def create_record(self, data: dict):
        raise exceptions.MethodNotAllowed(self.request.method)

    def update_record(self, instance, data: dict):
        raise exceptions.MethodNotAllowed(self.request.method)

    def delete_record(self, instance) -> None:
        record_delete(instance, actor=self.request.user)

    def create(self, request, *args, **kwargs):
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.create_record(dict(serializer.validated_data))
        return Response(self.detail_data(instance), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        self.check_if_match(request, instance)
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = self.update_record(instance, dict(serializer.validated_data))
        instance = self.get_object()  # fresh: the service may have changed more fields
        return Response(self.detail_data(instance), headers={"ETag": etag_for(instance)})

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        self.check_if_match(request, instance)
        self.delete_record(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def detail_data(self, instance) -> dict:
        return self.get_serializer(instance).data

    # --- transitions --------------------------------------------------------------------

    def transition(self, request, input_serializer_class, run):
        """An action on one record: visible (404), `change` permission and `can_change` (403),
        input validated by its own serializer, then `run(record, validated_data)` calls the
        service. Answers the record's detail; idempotent with a key like any POST."""
        instance = self.get_object()  # 404, then the permissions (RecordPermission)

        def go():
            serializer = input_serializer_class(
                data=request.data, context=self.get_serializer_context() | {"record": instance}
            )
            serializer.is_valid(raise_exception=True)
            result = run(instance, serializer.validated_data)
            if isinstance(result, Response):
                return result
            return Response(self.detail_data(self.get_object()))

        return self.idempotent(request, go)
